/**
 * Named rate limits: never more than `limit` units spent in any window of length `per`. Each bucket (one per limit,
 * or one per key of it) keeps the log of its spends inside the last window, so a spend is admitted exactly when
 * the window ending now has room for it: no burst past the limit at a window's edge, as a fixed window or a token
 * bucket with a full burst allows. A task whose units are not there waits in its bucket's FIFO holding no slot; one
 * timer per bucket wakes its first waiters when the oldest spends leave the window.
 */
import { NotFoundError, ValidationError } from '../../../errors.js';
import type { Clock, ClockTimer } from '../../../model/clock.js';
import { parseDurationMs, RATE_LIMIT_NAME_RE } from '../../../model/flow.js';
import { didYouMean } from '../../../model/validate.js';
import type { BucketLevel, RateLimitDef, RateLimitView } from '../../../model/taskView.js';
import type { RateUse } from './ticket.js';

export type { BucketLevel, RateLimitDef, RateLimitView };

/** What a bucket needs of a task waiting on it. */
export interface RateWaiter {
  readonly id: string;
  /** Still waiting (not cancelled meanwhile). */
  readonly waitingForRate: boolean;
  readonly units: number;
}

/** The spends of the last window, oldest first. */
class Bucket {
  constructor(readonly key: string) {}
  times: number[] = [];
  units: number[] = [];
  head = 0;
  spent = 0;
  waiters: RateWaiter[] = [];
  timer: ClockTimer | null = null;
  /** Ms past epoch the timer fires at. */
  timerAt = 0;

  expire(now: number, perMs: number): void {
    const cut = now - perMs;
    while (this.head < this.times.length && (this.times[this.head] as number) <= cut) {
      this.spent -= this.units[this.head] as number;
      this.head++;
    }
    if (this.head > 256 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.units = this.units.slice(this.head);
      this.head = 0;
    }
  }

  spend(now: number, units: number): void {
    this.times.push(now);
    this.units.push(units);
    this.spent += units;
  }

  /** When `units` more fit (now, or when enough of the oldest spends have left the window). */
  readyAt(now: number, units: number, limit: number, perMs: number): number {
    let over = this.spent + units - limit;
    if (over <= 0) return now;
    for (let i = this.head; i < this.times.length; i++) {
      over -= this.units[i] as number;
      if (over <= 0) return (this.times[i] as number) + perMs;
    }
    return now + perMs;
  }

  get idle(): boolean {
    return this.spent === 0 && this.waiters.length === 0 && this.timer === null;
  }
}

/** Checks a definition given by a caller (the API, the config file, the wire); throws naming the field. */
export function parseRateLimit(input: unknown): RateLimitDef {
  const problems: string[] = [];
  const o = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const { name, limit, per } = o;
  if (typeof name !== 'string' || !RATE_LIMIT_NAME_RE.test(name))
    problems.push(
      `rateLimit.name: must be a name like "github-api" (letters, digits, _ . : -; at most 128), got ${JSON.stringify(name)}`,
    );
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)
    problems.push(`rateLimit.limit: must be a whole number of at least 1, got ${JSON.stringify(limit)}`);
  const perMs = parseDurationMs(per);
  if (perMs === null)
    problems.push(`rateLimit.per: must be a duration like "1s", "1m" or "1h", got ${JSON.stringify(per)}`);
  for (const k of Object.keys(o))
    if (!['name', 'limit', 'per'].includes(k)) problems.push(`rateLimit.${k}: unknown field (known: name, limit, per)`);
  if (problems.length) throw new ValidationError(problems);
  return {
    name: name as string,
    limit: limit as number,
    per: typeof per === 'number' ? `${per}s` : String(per).trim(),
    perMs: perMs as number,
  };
}

export class RateLimits {
  readonly #defs = new Map<string, RateLimitDef>();
  readonly #buckets = new Map<string, Map<string, Bucket>>();
  readonly #clock: Clock;
  /** Called with the waiters whose units should be there now, to queue them again. */
  readonly #wake: (waiters: RateWaiter[]) => void;
  /** Tasks that had to wait, by limit (for `codomyrmex_ratelimit_waits_total`). */
  readonly waits = new Map<string, number>();

  constructor(clock: Clock, wake: (waiters: RateWaiter[]) => void) {
    this.#clock = clock;
    this.#wake = wake;
  }

  /** Creates or replaces a limit. Buckets keep what they spent: a lower limit holds from the next spend on. */
  set(def: RateLimitDef): void {
    this.#defs.set(def.name, def);
    // A higher limit (or longer window) may let waiters go now.
    const buckets = this.#buckets.get(def.name);
    if (buckets) for (const b of buckets.values()) this.#arm(def, b, 0);
  }

  /** Deletes a limit; its waiting tasks go on without it. True when it existed. */
  delete(name: string): boolean {
    const existed = this.#defs.delete(name);
    const buckets = this.#buckets.get(name);
    this.#buckets.delete(name);
    if (buckets) {
      for (const b of buckets.values()) {
        this.#clock.clearTimeout(b.timer);
        const live = b.waiters.filter((w) => w.waitingForRate);
        if (live.length) this.#wake(live);
      }
    }
    return existed;
  }

  has(name: string): boolean {
    return this.#defs.has(name);
  }

  get(name: string): RateLimitDef | undefined {
    return this.#defs.get(name);
  }

  /** Problems of a task's use of a limit at submission: an unknown name (with a did-you-mean), more units than it allows. */
  problem(use: { name: string; units?: number | undefined }, field: string): string | null {
    const def = this.#defs.get(use.name);
    if (!def) {
      const hint = didYouMean(use.name, this.#defs.keys());
      return `${field}.name: no rate limit "${use.name}"${hint ? ` (did you mean "${hint}"?)` : ''}; create it with engine.createRateLimit({ name, limit, per }) or \`codomyrmex ratelimit create\``;
    }
    const units = use.units ?? 1;
    return units > def.limit
      ? `${field}.units: ${units} units can never fit rate limit "${def.name}" (${def.limit} per ${def.per})`
      : null;
  }

  #bucket(name: string, key: string): Bucket {
    let byKey = this.#buckets.get(name);
    if (!byKey) this.#buckets.set(name, (byKey = new Map<string, Bucket>()));
    let b = byKey.get(key);
    if (!b) byKey.set(key, (b = new Bucket(key)));
    return b;
  }

  /**
   * Whether the units are there now. A limit deleted since the task was added lets it go; one lowered below its
   * units says so by throwing a `ValidationError` (the task can never run).
   */
  admits(use: RateUse, now: number): boolean {
    const def = this.#defs.get(use.name);
    if (!def) return true;
    if (use.units > def.limit)
      throw new ValidationError(
        `rateLimit.units: ${use.units} units can never fit rate limit "${def.name}" (${def.limit} per ${def.per})`,
      );
    const b = this.#buckets.get(use.name)?.get(use.key);
    if (!b) return true;
    b.expire(now, def.perMs);
    return b.spent + use.units <= def.limit;
  }

  /** Spends the units (the caller checked {@link admits}). */
  spend(use: RateUse, now: number): void {
    const def = this.#defs.get(use.name);
    if (!def) return;
    const b = this.#bucket(use.name, use.key);
    b.expire(now, def.perMs);
    b.spend(now, use.units);
    this.#arm(def, b, now);
  }

  /** Waits in the bucket's FIFO until the units should be there. */
  wait(use: RateUse, waiter: RateWaiter, now: number): void {
    const def = this.#defs.get(use.name);
    if (!def) return;
    const b = this.#bucket(use.name, use.key);
    b.waiters.push(waiter);
    this.waits.set(use.name, (this.waits.get(use.name) ?? 0) + 1);
    this.#arm(def, b, now);
  }

  /** When the waiting task's units should be there (for explain), or null. */
  readyAt(use: RateUse, now: number): number | null {
    const def = this.#defs.get(use.name);
    const b = this.#buckets.get(use.name)?.get(use.key);
    if (!def || !b) return null;
    b.expire(now, def.perMs);
    return b.readyAt(now, use.units, def.limit, def.perMs);
  }

  /** A waiter that left (cancelled). */
  leave(use: RateUse, id: string): void {
    const b = this.#buckets.get(use.name)?.get(use.key);
    if (b) b.waiters = b.waiters.filter((w) => w.id !== id);
  }

  /**
   * Sets the bucket's timer for when its first waiter's units are there; wakes those that fit now. Without
   * waiters, a timer only forgets the bucket once its window is empty.
   */
  #arm(def: RateLimitDef, b: Bucket, now: number): void {
    now ||= this.#clock.now();
    b.expire(now, def.perMs);
    b.waiters = b.waiters.filter((w) => w.waitingForRate);
    let at: number;
    if (b.waiters.length) {
      // Wake as many as fit now, in order; the rest wait for the first of them to fit.
      let free = def.limit - b.spent;
      const woken: RateWaiter[] = [];
      while (b.waiters.length && (b.waiters[0] as RateWaiter).units <= free) {
        const w = b.waiters.shift() as RateWaiter;
        free -= w.units;
        woken.push(w);
      }
      if (woken.length) this.#wake(woken);
      const first = b.waiters[0];
      at = first
        ? b.readyAt(now, first.units, def.limit, def.perMs)
        : b.spent > 0
          ? (b.times[b.head] as number) + def.perMs
          : 0;
    } else at = b.spent > 0 ? (b.times[b.head] as number) + def.perMs : 0;
    if (at === 0) {
      this.#clock.clearTimeout(b.timer);
      b.timer = null;
      if (b.idle) this.#buckets.get(def.name)?.delete(b.key);
      return;
    }
    if (b.timer !== null && b.timerAt <= at) return;
    this.#clock.clearTimeout(b.timer);
    b.timerAt = at;
    b.timer = this.#clock.setTimeout(
      () => {
        b.timer = null;
        const d = this.#defs.get(def.name);
        if (d) this.#arm(d, b, 0);
      },
      Math.max(0, at - now),
      { unref: true },
    );
  }

  /** Every limit with its level and its busiest keys. */
  list(): RateLimitView[] {
    const now = this.#clock.now();
    return [...this.#defs.values()].map((def) => {
      const buckets = this.#buckets.get(def.name) ?? new Map<string, Bucket>();
      const level = (key: string, b: Bucket | undefined): BucketLevel => {
        b?.expire(now, def.perMs);
        return {
          key,
          spent: b?.spent ?? 0,
          waiting: b?.waiters.filter((w) => w.waitingForRate).length ?? 0,
          nextFreeAt: b && b.spent > 0 ? (b.times[b.head] as number) + def.perMs : null,
        };
      };
      const busiest = [...buckets].filter(([k]) => k !== '').map(([k, b]) => level(k, b));
      busiest.sort((a, b) => b.spent + b.waiting - (a.spent + a.waiting) || (a.key < b.key ? -1 : 1));
      return { ...def, level: level('', buckets.get('')), busiest: busiest.slice(0, 10), keys: busiest.length };
    });
  }

  /** A limit's view, or a `NotFoundError` naming the known ones. */
  view(name: string): RateLimitView {
    const v = this.list().find((l) => l.name === name);
    if (!v)
      throw new NotFoundError(
        `no rate limit "${name}"${this.#defs.size ? ` (known: ${[...this.#defs.keys()].join(', ')})` : ''}`,
      );
    return v;
  }
}
