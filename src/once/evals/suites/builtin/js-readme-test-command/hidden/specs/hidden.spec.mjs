import assert from 'node:assert/strict';
import { formatDuration } from '../lib/duration.mjs';

export const specs = {
  'minutes only': () => assert.equal(formatDuration(120), '2m'),
  'minutes and seconds': () => assert.equal(formatDuration(61), '1m 1s'),
  'hours and minutes': () => assert.equal(formatDuration(7260), '2h 1m'),
  'one second': () => assert.equal(formatDuration(1), '1s'),
  'a long time': () => assert.equal(formatDuration(100 * 3600 + 59), '100h 59s'),
};
