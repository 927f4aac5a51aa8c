import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timer } from '../src/timer.js';

test('timer ticks', () => {
  const timer = new Timer();
  for (let i = 0; i < 61; i += 1) timer.tick();
  assert.equal(String(timer), '1:01');
});
