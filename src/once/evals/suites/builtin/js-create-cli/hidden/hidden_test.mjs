import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cwd = fileURLToPath(new URL('.', import.meta.url));

function run(...args) {
  return spawnSync(process.execPath, ['sum.mjs', ...args], { cwd, encoding: 'utf8', timeout: 30000 });
}

test('sums its arguments', () => {
  const result = run('1', '2', '3.5');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'total: 6.5\n');
});

test('negative numbers and rounding', () => {
  const result = run('-4', '0.1', '0.2');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'total: -3.7\n');
});

test('no arguments', () => {
  const result = run();
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'total: 0\n');
});

test('rejects a non-number', () => {
  const result = run('1', 'two', '3');
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /error: not a number: two/);
});
