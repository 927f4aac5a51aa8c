import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter } from './src/counter.js';
import { Timer } from './src/timer.js';

test('starts at 0 or at the given start', () => {
  assert.equal(new Counter().value, 0);
  assert.equal(new Counter(5).value, 5);
});

test('increment and decrement', () => {
  const counter = new Counter(2);
  counter.increment();
  counter.increment();
  counter.decrement();
  assert.equal(counter.value, 3);
});

test('decrement stops at zero', () => {
  const counter = new Counter();
  counter.decrement();
  assert.equal(counter.value, 0);
  counter.increment();
  counter.decrement();
  counter.decrement();
  assert.equal(counter.value, 0);
});

test('reset goes back to the start value', () => {
  const counter = new Counter(3);
  counter.increment();
  counter.increment();
  counter.reset();
  assert.equal(counter.value, 3);
  const fromZero = new Counter();
  fromZero.increment();
  fromZero.reset();
  assert.equal(fromZero.value, 0);
});

test('timer untouched', () => {
  const timer = new Timer();
  timer.tick();
  assert.equal(String(timer), '0:01');
});
