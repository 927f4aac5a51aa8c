import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayName } from '../src/users.js';

test('nickname wins', () => {
  assert.equal(displayName({ name: 'Ada Lovelace', profile: { nickname: 'ada' } }), 'ada');
});
