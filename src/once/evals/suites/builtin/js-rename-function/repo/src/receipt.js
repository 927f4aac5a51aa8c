import * as format from './format.js';

export function receipt(cart) {
  const lines = cart.lines.map((line) => `${line.name}  ${format.fmtPrice(line.cents)}`);
  lines.push(`TOTAL  ${format.fmtPrice(cart.totalCents())}`);
  return lines.join('\n');
}
