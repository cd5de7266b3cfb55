/**
 * Time, injected: the scheduler, the ledger and the sessions read the time and set timers through a {@link Clock},
 * so tests of backoff, aging and timeouts can run on a fake one. The system clock chains timers past Node's
 * 2³¹−1 ms limit (a longer `setTimeout` fires at once), so a 30-day timeout waits 30 days.
 */

/** A pending timer; pass it to {@link Clock.clearTimeout}. */
export interface ClockTimer {
  readonly __clockTimer: true;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms` (any finite length; negative or NaN counts as 0). Does not keep the process alive if `unref`. */
  setTimeout(fn: () => void, ms: number, options?: { unref?: boolean }): ClockTimer;
  clearTimeout(timer: ClockTimer | null | undefined): void;
}

/** Node's longest single timer. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

interface SystemTimer extends ClockTimer {
  handle: ReturnType<typeof setTimeout> | null;
}

/** The real clock: `Date.now()` and chained `setTimeout`s. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms, options) {
    const timer = { __clockTimer: true, handle: null } as SystemTimer;
    const due = Date.now() + (Number.isFinite(ms) && ms > 0 ? ms : 0);
    const arm = (): void => {
      const left = due - Date.now();
      if (left > MAX_TIMER_MS) {
        timer.handle = setTimeout(arm, MAX_TIMER_MS);
      } else {
        timer.handle = setTimeout(
          () => {
            timer.handle = null;
            fn();
          },
          Math.max(0, left),
        );
      }
      if (options?.unref === true) timer.handle.unref();
    };
    arm();
    return timer;
  },
  clearTimeout(timer) {
    const t = timer as SystemTimer | null | undefined;
    if (t?.handle) clearTimeout(t.handle);
    if (t) t.handle = null;
  },
};
