// A click counter that never goes below zero.

export class Counter {
  constructor(start = 0) {
    this.start = start;
    this.count = start;
  }

  increment() {
    this.count += 1;
  }

  decrement() {
    if (this.count > 0) this.count -= 1;
  }

  reset() {
    this.count = this.start;
  }

  get value() {
    return this.count;
  }
}
