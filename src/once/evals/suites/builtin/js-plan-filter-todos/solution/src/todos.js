// Todo items: { id, title, done }.

let nextId = 1;

export function addTodo(todos, title) {
  return [...todos, { id: nextId++, title, done: false }];
}

export function completeTodo(todos, id) {
  return todos.map((todo) => (todo.id === id ? { ...todo, done: true } : todo));
}

export function filterTodos(todos, status) {
  if (status === 'all') return [...todos];
  if (status === 'done') return todos.filter((todo) => todo.done);
  if (status === 'open') return todos.filter((todo) => !todo.done);
  throw new Error(`unknown status: ${status}`);
}
