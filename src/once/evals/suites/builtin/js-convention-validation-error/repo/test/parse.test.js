import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYesNo } from '../src/parse.js';
import { ValidationError } from '../src/errors.js';

test('parseYesNo', () => {
  assert.equal(parseYesNo(' Yes '), true);
  assert.equal(parseYesNo('n'), false);
  assert.throws(() => parseYesNo('maybe'), ValidationError);
});
