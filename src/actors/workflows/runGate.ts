/**
 * Run-level concurrency keys: a workflow's `concurrency: { key, limit, strategy }` admits at most `limit` runs
 * holding the same resolved key at once. A new run at a full key waits its turn (`queue`, the default), cancels the
 * oldest runs holding it (`cancel_in_progress`), or is itself cancelled (`cancel_newest`); Hatchet's semantics.
 *
 * Waiting runs queue per key, first come first served: a run waits in the queue of the first key that has no room;
 * when a holder leaves, the head of that key's queue is checked against its other keys and either starts or moves
 * to the queue of the next key without room. Every step is O(1) in the number of keys and of waiting runs.
 */
import type { RunConcurrencyRule } from '../../model/flow.js';
import type { RunQueuedOn } from '../../model/run.js';

/** A run-level rule with its key resolved. */
export interface RunKey {
  key: string;
  limit: number;
  strategy: NonNullable<RunConcurrencyRule['strategy']>;
  /** The key as written (template or literal). */
  rule: string;
}

/** The gate's answer to a new run. */
export type GateDecision =
  | { outcome: 'started'; cancelled: string[] }
  | { outcome: 'queued'; on: RunKey }
  | { outcome: 'rejected'; on: RunKey; reason: string };

interface Waiter {
  runId: string;
  keys: RunKey[];
  since: number;
  admit: () => void;
  /** Set once it left the queues (admitted or forgotten): stale entries are skipped when met. */
  gone: boolean;
}

interface KeyState {
  limit: number;
  /** Holders in the order they took the key. */
  holders: Set<string>;
  queue: Waiter[];
  /** Index of the queue's head (the queue is compacted when half of it is consumed). */
  head: number;
}

const SHOWN_HOLDERS = 10;

export class RunGate {
  readonly #keys = new Map<string, KeyState>();
  readonly #held = new Map<string, RunKey[]>();
  readonly #waiters = new Map<string, Waiter>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  #state(k: RunKey): KeyState {
    let s = this.#keys.get(k.key);
    if (!s) this.#keys.set(k.key, (s = { limit: k.limit, holders: new Set(), queue: [], head: 0 }));
    // A key's limit is the one of the last run that used it (as for task keys).
    s.limit = k.limit;
    return s;
  }

  #full(k: RunKey): boolean {
    const s = this.#keys.get(k.key);
    return s !== undefined && s.holders.size >= k.limit;
  }

  /**
   * Decides a new run. `started`: it holds its keys now (after `cancelled` runs, the oldest holders of a
   * `cancel_in_progress` key, were let go: the caller cancels them). `queued`: `admit` is called when it may start.
   * `rejected`: a `cancel_newest` key is full, or the key is held by an ancestor of the run (it would wait forever).
   */
  offer(runId: string, keys: RunKey[], admit: () => void, ancestors: ReadonlySet<string> = new Set()): GateDecision {
    for (const k of keys) {
      if (!this.#full(k)) continue;
      const holders = this.#keys.get(k.key)?.holders ?? new Set<string>();
      const ancestor = [...ancestors].find((a) => holders.has(a));
      if (ancestor !== undefined) {
        return {
          outcome: 'rejected',
          on: k,
          reason: `concurrency key "${k.key}" (limit ${k.limit}) is held by its ancestor run ${ancestor}: waiting for it would never end; give the sub-workflow another key or a higher limit`,
        };
      }
      if (k.strategy === 'cancel_newest') {
        return {
          outcome: 'rejected',
          on: k,
          reason: `concurrency key "${k.key}" is at its limit of ${k.limit} running (strategy cancel_newest: the new run is cancelled)`,
        };
      }
    }
    const cancelled: string[] = [];
    const freed = new Set<string>();
    for (const k of keys) {
      if (k.strategy !== 'cancel_in_progress' || !this.#full(k)) continue;
      const s = this.#state(k);
      for (const victim of s.holders) {
        if (s.holders.size < k.limit) break;
        cancelled.push(victim);
        for (const f of this.#let(victim, false)) freed.add(f);
      }
    }
    const blocking = keys.find((k) => this.#full(k));
    if (blocking) {
      const w: Waiter = { runId, keys, since: this.#now(), admit, gone: false };
      this.#waiters.set(runId, w);
      this.#state(blocking).queue.push(w);
      return { outcome: 'queued', on: blocking };
    }
    this.#take(runId, keys);
    // Room the cancelled runs freed beyond what this run took goes to those keys' queues.
    for (const key of freed) this.#drain(key);
    return { outcome: 'started', cancelled };
  }

  /** Takes keys without a check: a run that was running before a restart holds its keys again. */
  take(runId: string, keys: RunKey[]): void {
    this.#take(runId, keys);
  }

  #take(runId: string, keys: RunKey[]): void {
    if (keys.length === 0) return;
    for (const k of keys) this.#state(k).holders.add(runId);
    this.#held.set(runId, keys);
  }

  /** A run ended (or was cancelled): its keys go to the next waiting runs. */
  release(runId: string): void {
    this.#let(runId, true);
    this.forget(runId);
  }

  /** A queued run that will never start (cancelled while it waited) leaves its queue. */
  forget(runId: string): boolean {
    const w = this.#waiters.get(runId);
    if (!w) return false;
    w.gone = true;
    this.#waiters.delete(runId);
    return true;
  }

  /** Lets a run's keys go (draining their queues when `drain`); returns the keys it held. */
  #let(runId: string, drain: boolean): string[] {
    const keys = this.#held.get(runId);
    if (!keys) return [];
    this.#held.delete(runId);
    for (const k of keys) {
      const s = this.#keys.get(k.key);
      if (!s) continue;
      s.holders.delete(runId);
      if (drain) this.#drain(k.key);
    }
    return keys.map((k) => k.key);
  }

  /** Admits the heads of a key's queue while it has room; a head blocked by another key moves to that key's queue. */
  #drain(key: string): void {
    const s = this.#keys.get(key);
    if (!s) return;
    while (s.head < s.queue.length && s.holders.size < s.limit) {
      const w = s.queue[s.head++] as Waiter;
      if (w.gone) continue;
      const other = w.keys.find((k) => this.#full(k));
      if (other) {
        this.#state(other).queue.push(w);
        continue;
      }
      w.gone = true;
      this.#waiters.delete(w.runId);
      this.#take(w.runId, w.keys);
      w.admit();
    }
    if (s.head > 64 && s.head * 2 > s.queue.length) {
      s.queue = s.queue.slice(s.head);
      s.head = 0;
    }
    if (s.holders.size === 0 && s.head >= s.queue.length) this.#keys.delete(key);
  }

  /** What a queued run waits for, or null when it does not wait. */
  queuedOn(runId: string): RunQueuedOn | null {
    const w = this.#waiters.get(runId);
    if (!w) return null;
    const k = w.keys.find((x) => this.#full(x)) ?? w.keys[0];
    if (!k) return null;
    const s = this.#keys.get(k.key);
    const holders = s ? [...s.holders].slice(0, SHOWN_HOLDERS) : [];
    const waiting = s ? s.queue.length - s.head : 0;
    return { key: k.key, limit: k.limit, holders, waiting, since: w.since };
  }

  /** The busiest keys (most holders plus waiting runs), for status. */
  busiest(n = 10): Array<{ key: string; limit: number; running: number; waiting: number }> {
    return [...this.#keys.entries()]
      .map(([key, s]) => ({
        key,
        limit: s.limit,
        running: s.holders.size,
        waiting: s.queue.slice(s.head).filter((w) => !w.gone).length,
      }))
      .sort((a, b) => b.running + b.waiting - (a.running + a.waiting))
      .slice(0, n);
  }

  /** Runs queued on some key. */
  get waiting(): number {
    return this.#waiters.size;
  }
}
