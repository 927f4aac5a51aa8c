// Split lists into pages. Pages are numbered from 1.

export function pageCount(total, perPage) {
  return Math.ceil(total / perPage);
}

export function paginate(items, page, perPage) {
  const start = (page - 1) * perPage;
  return items.slice(start, start + perPage);
}
