import * as format from './format.js';

export function receipt(cart) {
  const lines = cart.lines.map((line) => `${line.name}  ${format.formatPrice(line.cents)}`);
  lines.push(`TOTAL  ${format.formatPrice(cart.totalCents())}`);
  return lines.join('\n');
}
