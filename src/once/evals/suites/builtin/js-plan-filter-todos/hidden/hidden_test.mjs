import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addTodo, completeTodo, filterTodos } from './src/todos.js';
import { formatList, formatTodo } from './src/format.js';

function sample() {
  let todos = [];
  for (const title of ['a', 'b', 'c', 'd']) todos = addTodo(todos, title);
  todos = completeTodo(todos, todos[1].id);
  return completeTodo(todos, todos[3].id);
}

test('filterTodos', () => {
  const todos = sample();
  assert.deepEqual(filterTodos(todos, 'all').map((t) => t.title), ['a', 'b', 'c', 'd']);
  assert.deepEqual(filterTodos(todos, 'done').map((t) => t.title), ['b', 'd']);
  assert.deepEqual(filterTodos(todos, 'open').map((t) => t.title), ['a', 'c']);
  assert.notEqual(filterTodos(todos, 'all'), todos, 'returns a new array');
  assert.deepEqual(filterTodos([], 'done'), []);
});

test('filterTodos rejects unknown statuses', () => {
  assert.throws(() => filterTodos(sample(), 'later'), { message: 'unknown status: later' });
});

test('formatList with a status', () => {
  const todos = sample();
  assert.equal(formatList(todos), '[ ] a\n[x] b\n[ ] c\n[x] d');
  assert.equal(formatList(todos, 'all'), '[ ] a\n[x] b\n[ ] c\n[x] d');
  assert.equal(formatList(todos, 'done'), '[x] b\n[x] d');
  assert.equal(formatList(todos, 'open'), '[ ] a\n[ ] c');
  assert.equal(formatList([]), '(nothing to do)');
  assert.equal(formatTodo({ title: 'z', done: false }), '[ ] z');
});
