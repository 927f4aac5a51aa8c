// Plain-text rendering of todo lists.

export function formatTodo(todo) {
  return `[${todo.done ? 'x' : ' '}] ${todo.title}`;
}

export function formatList(todos) {
  if (todos.length === 0) return '(nothing to do)';
  return todos.map(formatTodo).join('\n');
}
