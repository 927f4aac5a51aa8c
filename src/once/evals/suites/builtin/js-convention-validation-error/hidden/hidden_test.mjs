import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAge, parseYesNo } from './src/parse.js';
import { ValidationError } from './src/errors.js';

test('valid ages', () => {
  assert.equal(parseAge('42'), 42);
  assert.equal(parseAge(' 42 '), 42);
  assert.equal(parseAge('0'), 0);
  assert.equal(parseAge('150'), 150);
  assert.equal(parseAge('007'), 7);
});

test('invalid ages throw ValidationError', () => {
  for (const bad of ['', '   ', '-1', '+5', '4.5', '1e2', 'abc', '12a', '151', '1000']) {
    assert.throws(() => parseAge(bad), (err) => err instanceof ValidationError, `parseAge(${JSON.stringify(bad)})`);
  }
});

test('every exported function has a JSDoc comment', () => {
  const source = readFileSync(new URL('./src/parse.js', import.meta.url), 'utf8');
  const exported = [...source.matchAll(/export\s+function\s+(\w+)/g)].map((m) => m[1]);
  assert.ok(exported.includes('parseAge'));
  for (const name of exported) {
    assert.match(source, new RegExp(`\\*/\\s*export\\s+function\\s+${name}\\b`), `${name} has no JSDoc`);
  }
});

test('no plain errors thrown in parse.js', () => {
  const source = readFileSync(new URL('./src/parse.js', import.meta.url), 'utf8');
  for (const m of source.matchAll(/throw\s+new\s+(\w+)/g)) assert.equal(m[1], 'ValidationError');
});

test('parseYesNo kept', () => {
  assert.equal(parseYesNo('Y'), true);
});
