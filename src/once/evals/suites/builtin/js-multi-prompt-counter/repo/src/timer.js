// A stopwatch model that counts whole seconds.

export class Timer {
  constructor() {
    this.seconds = 0;
  }

  tick() {
    this.seconds += 1;
  }

  toString() {
    const m = Math.floor(this.seconds / 60);
    const s = String(this.seconds % 60).padStart(2, '0');
    return `${m}:${s}`;
  }
}
