import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addTodo, completeTodo } from '../src/todos.js';
import { formatList } from '../src/format.js';

test('add, complete and format', () => {
  let todos = addTodo([], 'buy milk');
  todos = addTodo(todos, 'call mum');
  todos = completeTodo(todos, todos[0].id);
  assert.equal(formatList(todos), '[x] buy milk\n[ ] call mum');
  assert.equal(formatList([]), '(nothing to do)');
});
