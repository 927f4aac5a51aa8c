import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { capitalize, reverse, isBlank } from './src/strings.js';

test('capitalize upper-cases only the first character', () => {
  assert.equal(capitalize('hello world'), 'Hello world');
  assert.equal(capitalize('hELLO'), 'HELLO');
  assert.equal(capitalize('a'), 'A');
  assert.equal(capitalize('Already'), 'Already');
  assert.equal(capitalize('1st place'), '1st place');
  assert.equal(capitalize(''), '');
});

test('existing functions kept', () => {
  assert.equal(reverse('ab'), 'ba');
  assert.equal(isBlank(''), true);
});

test('a test for capitalize was added', () => {
  const source = readFileSync(new URL('./test/strings.test.js', import.meta.url), 'utf8');
  assert.match(source, /capitalize\(/);
});
