// Plain-text rendering of todo lists.

import { filterTodos } from './todos.js';

export function formatTodo(todo) {
  return `[${todo.done ? 'x' : ' '}] ${todo.title}`;
}

export function formatList(todos, status = 'all') {
  const shown = filterTodos(todos, status);
  if (shown.length === 0) return '(nothing to do)';
  return shown.map(formatTodo).join('\n');
}
