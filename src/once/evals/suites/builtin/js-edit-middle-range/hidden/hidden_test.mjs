import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as arrays from './src/arrays.js';

const { range } = arrays;

test('range with the default step', () => {
  assert.deepEqual(range(2, 5), [2, 3, 4]);
  assert.deepEqual(range(0, 0), []);
  assert.deepEqual(range(3, 1), []);
});

test('range with a positive step', () => {
  assert.deepEqual(range(0, 10, 3), [0, 3, 6, 9]);
  assert.deepEqual(range(1, 2, 5), [1]);
});

test('range with a negative step counts down', () => {
  assert.deepEqual(range(5, 0, -2), [5, 3, 1]);
  assert.deepEqual(range(3, 0, -1), [3, 2, 1]);
  assert.deepEqual(range(0, 3, -1), []);
});

test('a step of 0 is a RangeError', () => {
  assert.throws(() => range(0, 5, 0), RangeError);
});

test('every other function is still there', () => {
  assert.deepEqual(arrays.chunk([1, 2, 3], 2), [[1, 2], [3]]);
  assert.deepEqual(arrays.flatten([[1], [2, 3], []]), [1, 2, 3]);
  assert.deepEqual(arrays.unique(['a', 'b', 'a']), ['a', 'b']);
  assert.deepEqual(arrays.zip([1, 2, 3], ['x', 'y']), [[1, 'x'], [2, 'y']]);
  assert.deepEqual(arrays.groupBy(['ab', 'c', 'de'], (s) => s.length), { 1: ['c'], 2: ['ab', 'de'] });
  assert.deepEqual(arrays.partition([1, 2, 3, 4], (n) => n % 2 === 0), [[2, 4], [1, 3]]);
  assert.equal(arrays.sum([1, 2, 3]), 6);
  assert.equal(arrays.last([1, 2, 3]), 3);
  assert.deepEqual(arrays.compact([0, 1, '', 'a', null]), [1, 'a']);
});
