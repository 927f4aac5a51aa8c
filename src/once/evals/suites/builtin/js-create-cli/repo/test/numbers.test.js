import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNumber, formatTotal } from '../src/numbers.js';

test('parseNumber', () => {
  assert.equal(parseNumber('3.5'), 3.5);
  assert.equal(parseNumber('-2'), -2);
  assert.equal(parseNumber('abc'), null);
});

test('formatTotal', () => {
  assert.equal(formatTotal(0.1 + 0.2), 'total: 0.3');
});
