// Todo items: { id, title, done }.

let nextId = 1;

export function addTodo(todos, title) {
  return [...todos, { id: nextId++, title, done: false }];
}

export function completeTodo(todos, id) {
  return todos.map((todo) => (todo.id === id ? { ...todo, done: true } : todo));
}
