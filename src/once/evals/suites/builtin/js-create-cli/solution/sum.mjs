// Print the sum of the numbers given as arguments: node sum.mjs 1 2 3.5
import { parseNumber, formatTotal } from './src/numbers.js';

let total = 0;
for (const arg of process.argv.slice(2)) {
  const value = parseNumber(arg);
  if (value === null) {
    console.error(`error: not a number: ${arg}`);
    process.exit(1);
  }
  total += value;
}
console.log(formatTotal(total));
