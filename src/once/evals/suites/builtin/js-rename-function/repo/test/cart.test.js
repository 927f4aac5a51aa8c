import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtPrice } from '../src/format.js';
import { Cart } from '../src/cart.js';
import { receipt } from '../src/receipt.js';

test('fmtPrice', () => {
  assert.equal(fmtPrice(1205), '$12.05');
  assert.equal(fmtPrice(-50), '-$0.50');
});

test('cart summary and receipt', () => {
  const cart = new Cart();
  cart.add('tea', 350);
  cart.add('milk', 125);
  assert.equal(cart.summary(), '2 items, $4.75');
  assert.equal(receipt(cart), 'tea  $3.50\nmilk  $1.25\nTOTAL  $4.75');
});
