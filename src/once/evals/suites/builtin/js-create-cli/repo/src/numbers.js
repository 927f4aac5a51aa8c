// Number parsing and formatting for the command-line tools.

export function parseNumber(text) {
  if (!/^-?\d+(\.\d+)?$/.test(text.trim())) return null;
  return Number(text);
}

export function formatTotal(total) {
  return `total: ${Math.round(total * 100) / 100}`;
}
