import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pageCount, paginate } from './src/paginate.js';

const numbers = Array.from({ length: 10 }, (_, i) => i + 1);

test('every page of a list', () => {
  assert.deepEqual(paginate(numbers, 1, 3), [1, 2, 3]);
  assert.deepEqual(paginate(numbers, 2, 3), [4, 5, 6]);
  assert.deepEqual(paginate(numbers, 4, 3), [10]);
  assert.deepEqual(paginate(numbers, 1, 10), numbers);
});

test('pages past the end are empty', () => {
  assert.deepEqual(paginate(numbers, 5, 3), []);
  assert.deepEqual(paginate([], 1, 3), []);
});

test('pageCount unchanged', () => {
  assert.equal(pageCount(10, 3), 4);
  assert.equal(pageCount(0, 3), 0);
});
