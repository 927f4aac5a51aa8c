import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reverse, isBlank } from '../src/strings.js';

test('reverse', () => {
  assert.equal(reverse('abc'), 'cba');
});

test('isBlank', () => {
  assert.equal(isBlank('  \t'), true);
  assert.equal(isBlank(' a '), false);
});
