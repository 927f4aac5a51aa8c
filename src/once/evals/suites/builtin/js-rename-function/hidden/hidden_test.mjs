import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as format from './src/format.js';
import { Cart } from './src/cart.js';
import { receipt } from './src/receipt.js';

const root = fileURLToPath(new URL('.', import.meta.url));

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(c|m)?js$/.test(entry.name) && entry.name !== 'hidden_test.mjs' ? [path] : [];
  });
}

test('new name exported, old name gone', () => {
  assert.equal(typeof format.formatPrice, 'function');
  assert.equal(format.fmtPrice, undefined);
  assert.equal(format.formatPrice(99), '$0.99');
  assert.equal(format.fmtQuantity(2, 'cup'), '2 cups');
});

test('callers use the new name', () => {
  const cart = new Cart();
  cart.add('bread', 200);
  assert.equal(cart.summary(), '1 item, $2.00');
  assert.equal(receipt(cart), 'bread  $2.00\nTOTAL  $2.00');
});

test('no source file mentions fmtPrice', () => {
  for (const path of sources(root)) {
    assert.ok(!readFileSync(path, 'utf8').includes('fmtPrice'), path);
  }
});
