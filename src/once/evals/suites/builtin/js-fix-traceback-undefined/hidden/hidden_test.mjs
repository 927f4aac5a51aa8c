import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { displayName, greeting } from './src/users.js';

test('users without a profile or nickname use their name', () => {
  assert.equal(displayName({ name: 'Grace Hopper' }), 'Grace Hopper');
  assert.equal(displayName({ name: 'Alan', profile: {} }), 'Alan');
});

test('nickname still wins', () => {
  assert.equal(displayName({ name: 'Ada Lovelace', profile: { nickname: 'ada' } }), 'ada');
  assert.equal(greeting({ name: 'Linus', profile: { nickname: 'lt' } }), 'Welcome back, lt!');
});

test('node show.js runs to the end', () => {
  const cwd = fileURLToPath(new URL('.', import.meta.url));
  const result = spawnSync(process.execPath, ['show.js'], { cwd, encoding: 'utf8', timeout: 30000 });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'Welcome back, ada!\nWelcome back, Grace Hopper!\n');
});
