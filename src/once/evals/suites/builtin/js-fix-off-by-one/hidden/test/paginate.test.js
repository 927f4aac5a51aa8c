import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pageCount, paginate } from '../src/paginate.js';

const letters = ['a', 'b', 'c', 'd', 'e'];

test('pageCount rounds up', () => {
  assert.equal(pageCount(5, 2), 3);
});

test('first page starts at the first item', () => {
  assert.deepEqual(paginate(letters, 1, 2), ['a', 'b']);
});

test('last page may be short', () => {
  assert.deepEqual(paginate(letters, 3, 2), ['e']);
});
