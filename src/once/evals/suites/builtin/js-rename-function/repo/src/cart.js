import { fmtPrice, fmtQuantity } from './format.js';

export class Cart {
  constructor() {
    this.lines = [];
  }

  add(name, cents) {
    this.lines.push({ name, cents });
  }

  totalCents() {
    return this.lines.reduce((sum, line) => sum + line.cents, 0);
  }

  summary() {
    return `${fmtQuantity(this.lines.length, 'item')}, ${fmtPrice(this.totalCents())}`;
  }
}
