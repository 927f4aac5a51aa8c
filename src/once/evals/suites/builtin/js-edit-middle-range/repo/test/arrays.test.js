import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunk, range, unique } from '../src/arrays.js';

test('chunk', () => {
  assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
});

test('range', () => {
  assert.deepEqual(range(2, 5), [2, 3, 4]);
});

test('unique', () => {
  assert.deepEqual(unique([1, 1, 2]), [1, 2]);
});
