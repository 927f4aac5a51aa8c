import assert from 'node:assert/strict';
import { formatDuration } from '../lib/duration.mjs';

export const specs = {
  'all parts': () => assert.equal(formatDuration(3725), '1h 2m 5s'),
  'zero': () => assert.equal(formatDuration(0), '0s'),
  'only seconds': () => assert.equal(formatDuration(42), '42s'),
  'zero parts are left out': () => assert.equal(formatDuration(3600), '1h'),
  'hours and seconds': () => assert.equal(formatDuration(3601), '1h 1s'),
};
