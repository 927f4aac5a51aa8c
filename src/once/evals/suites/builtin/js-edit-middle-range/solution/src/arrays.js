// Array helpers shared by the dashboard widgets.

export function chunk(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function flatten(nested) {
  return nested.reduce((flat, item) => flat.concat(item), []);
}

export function unique(items) {
  return [...new Set(items)];
}

export function zip(a, b) {
  const length = Math.min(a.length, b.length);
  return Array.from({ length }, (_, i) => [a[i], b[i]]);
}

export function range(start, end, step = 1) {
  if (step === 0) throw new RangeError('step must not be 0');
  const out = [];
  for (let i = start; step > 0 ? i < end : i > end; i += step) out.push(i);
  return out;
}

export function groupBy(items, keyFn) {
  const groups = {};
  for (const item of items) {
    const key = keyFn(item);
    (groups[key] ??= []).push(item);
  }
  return groups;
}

export function partition(items, predicate) {
  const yes = [];
  const no = [];
  for (const item of items) (predicate(item) ? yes : no).push(item);
  return [yes, no];
}

export function sum(numbers) {
  return numbers.reduce((total, n) => total + n, 0);
}

export function last(items) {
  return items[items.length - 1];
}

export function compact(items) {
  return items.filter(Boolean);
}
