/**
 * Flow control at admission: the concurrency keys and rate limits a task declares, checked after its session and
 * the engine's limit let it out of the ready queue and before its resources are taken. `check` says whether every
 * key has room and the units are there, or puts the task to wait for the key or limit that holds it back (holding
 * no slot); `take` holds the keys and spends the units; `release` gives the keys back when the attempt ends.
 */
import type { Clock } from '../../../model/clock.js';
import type { TaskPriority } from '../../../model/task.js';
import type { FlowBlock } from '../../../model/taskView.js';
import type { TaskRecord } from '../record.js';
import type { KeyLevel } from './keys.js';
import { ConcurrencyKeys } from './keys.js';
import type { RateWaiter } from './rateLimits.js';
import { RateLimits } from './rateLimits.js';

export class FlowControl {
  readonly keys = new ConcurrencyKeys();
  readonly rates: RateLimits;
  /** Tasks waiting for a key they are not queued under, or for rate-limit units. */
  readonly waiting = new Set<TaskRecord>();
  readonly #requeue: (recs: TaskRecord[]) => void;
  /** Live entries queued under a key, across the lanes (the ready queue answers). */
  waitingUnder: (key: string) => number = () => 0;

  constructor(clock: Clock, requeue: (recs: TaskRecord[]) => void) {
    this.#requeue = requeue;
    this.rates = new RateLimits(clock, (ws) => this.#wake(ws));
  }

  /**
   * Whether the task may start now. When a key is at its limit or the units are not there, the task waits for that
   * key or limit (it is out of the ready queue until then) and the answer is false. Throws a `ValidationError` when
   * it never can (its units exceed a limit lowered since it was added).
   */
  check(rec: TaskRecord, now: number): boolean {
    const t = rec.flow;
    if (!t) return true;
    if (t.keys.length) {
      const k = this.keys.full(t.keys);
      if (k) {
        rec.where = 'keyed';
        rec.waitKey = k;
        this.waiting.add(rec);
        this.keys.wait(k, rec);
        return false;
      }
    }
    if (t.rate && !this.rates.admits(t.rate, now)) {
      rec.where = 'throttled';
      this.waiting.add(rec);
      this.rates.wait(t.rate, rec, now);
      return false;
    }
    return true;
  }

  /** Whether {@link check} would admit it now, changing nothing (a batch takes only what will be admitted). */
  admitsNow(rec: TaskRecord, now: number): boolean {
    const t = rec.flow;
    if (!t) return true;
    if (t.keys.length && this.keys.full(t.keys)) return false;
    try {
      return !t.rate || this.rates.admits(t.rate, now);
    } catch {
      return false;
    }
  }

  /** Holds its keys and spends its units (after {@link check} said yes, in the same turn). */
  take(rec: TaskRecord, now: number): void {
    const t = rec.flow;
    if (!t) return;
    if (t.keys.length) {
      this.keys.acquire(rec.id, t.keys);
      rec.keysHeld = true;
    }
    if (t.rate) this.rates.spend(t.rate, now);
  }

  /** Gives its keys back (once per admission, whatever way its attempt ended); tasks waiting for them may go. */
  release(rec: TaskRecord): void {
    if (!rec.keysHeld || !rec.flow) return;
    rec.keysHeld = false;
    const woken = this.keys.release<TaskRecord>(rec.id, rec.flow.keys);
    if (woken.length) this.#wake(woken);
  }

  /** A waiting task that left (cancelled). */
  leave(rec: TaskRecord): void {
    if (rec.where === 'keyed' && rec.waitKey) this.keys.leave(rec.waitKey.key, rec.id);
    else if (rec.where === 'throttled' && rec.flow?.rate) this.rates.leave(rec.flow.rate, rec.id);
    rec.waitKey = null;
    this.waiting.delete(rec);
  }

  #wake(recs: readonly (TaskRecord | RateWaiter)[]): void {
    const back: TaskRecord[] = [];
    for (const r of recs as TaskRecord[]) {
      if (!this.waiting.delete(r)) continue;
      r.waitKey = null;
      if (r.status === 'ready' && (r.where === 'keyed' || r.where === 'throttled')) back.push(r);
    }
    if (back.length) this.#requeue(back);
  }

  /** What holds a ready task back, or null when flow control does not. */
  blocker(rec: TaskRecord, now: number): FlowBlock | null {
    const t = rec.flow;
    if (!t) return null;
    const key =
      rec.where === 'keyed'
        ? rec.waitKey
        : rec.where === 'queued' && rec.fairKey !== null && this.keys.blocked(rec.fairKey)
          ? (t.keys[0] ?? null)
          : null;
    if (key) {
      const level = this.keys.level(key.key, this.waitingUnder);
      return {
        kind: 'concurrency_key',
        key: key.key,
        rule: key.rule,
        limit: level?.limit ?? key.limit,
        running: level?.running ?? 0,
        holders: level?.holders ?? [],
        waiting: level?.waiting ?? 0,
      };
    }
    if (rec.where === 'throttled' && t.rate) {
      const def = this.rates.get(t.rate.name);
      const view = def ? this.rates.list().find((l) => l.name === def.name) : undefined;
      const spent = view
        ? t.rate.key === ''
          ? view.level.spent
          : (view.busiest.find((b) => b.key === t.rate?.key)?.spent ?? 0)
        : 0;
      return {
        kind: 'rate_limit',
        name: t.rate.name,
        key: t.rate.key,
        units: t.rate.units,
        until: this.rates.readyAt(t.rate, now),
        spent,
        limit: def?.limit ?? 0,
        per: def?.per ?? '',
      };
    }
    return null;
  }

  /** The busiest keys (running and waiting), for `getSystemStatus()`. */
  busiest(n: number): KeyLevel[] {
    return this.keys.busiest(n, this.waitingUnder);
  }

  /** Tasks waiting for a key at its limit, by rule (the key as written), for `codomyrmex_concurrency_waiting`. */
  waitingByRule(): Record<string, number> {
    const out = Object.fromEntries(this.keys.waitingByRule(this.waitingUnder));
    // Tasks waiting for units are not counted here; tasks waiting for a key they are not queued under are.
    return out;
  }

  /** Tasks waiting here, by priority. */
  countWaiting(byPriority: Record<TaskPriority, number>): number {
    for (const r of this.waiting) byPriority[r.priority]++;
    return this.waiting.size;
  }
}
