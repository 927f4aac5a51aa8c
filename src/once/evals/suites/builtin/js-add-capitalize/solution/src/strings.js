// String helpers for the blog front end.

export function reverse(str) {
  return [...str].reverse().join('');
}

export function isBlank(str) {
  return str.trim().length === 0;
}

export function capitalize(str) {
  return str.charAt(0).toUpperCase() + str.slice(1);
}
