// Formatting of amounts given in integer cents.

export function fmtPrice(cents) {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}$${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export function fmtQuantity(n, unit) {
  return n === 1 ? `1 ${unit}` : `${n} ${unit}s`;
}
