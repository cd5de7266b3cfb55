import type { Clock, ClockTimer } from '../../src/model/clock.js';

/** A clock that moves only when told: `advance(ms)` fires the timers that fall due, in order. */
export class FakeClock implements Clock {
  #now: number;
  #timers: { at: number; seq: number; fn: () => void; timer: ClockTimer }[] = [];
  #seq = 0;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer = { __clockTimer: true } as ClockTimer;
    this.#timers.push({ at: this.#now + (Number.isFinite(ms) && ms > 0 ? ms : 0), seq: this.#seq++, fn, timer });
    return timer;
  }

  clearTimeout(timer: ClockTimer | null | undefined): void {
    this.#timers = this.#timers.filter((t) => t.timer !== timer);
  }

  /** Timers waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time on by `ms`, firing every timer that falls due (timers they set included). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers[0];
      if (!next || next.at > end) break;
      this.#timers.shift();
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }
}
