import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reverse, isBlank, capitalize } from '../src/strings.js';

test('reverse', () => {
  assert.equal(reverse('abc'), 'cba');
});

test('isBlank', () => {
  assert.equal(isBlank('  \t'), true);
  assert.equal(isBlank(' a '), false);
});

test('capitalize', () => {
  assert.equal(capitalize('hello world'), 'Hello world');
  assert.equal(capitalize(''), '');
});
