/**
 * Concurrency keys: how many attempts hold each key now, which tasks hold it, and what waits for it. A task holds
 * all of its keys from the moment it is admitted until its attempt ends, whatever way it ends (the scheduler
 * releases them where it settles every attempt). A task queued under a key at its limit never leaves the ready
 * queue: its key's group is detached from the rotation (`fair.ts`) and put back when a holder releases the key. A
 * task blocked by one of its other keys waits in that key's own FIFO. Everything is O(1) per task in the number
 * of keys; a key with nothing running or waiting is forgotten.
 */
import type { HeldKey } from '../../../model/flow.js';
import type { KeyLevel } from '../../../model/taskView.js';

export type { KeyLevel };
import type { FairGate, FairGroup } from './fair.js';

/** One key: its limit (the last task that used it set it), holders, and what waits for it. */
interface KeyState {
  readonly key: string;
  /** The rule it came from (the key as written), for metrics. */
  rule: string;
  limit: number;
  running: number;
  readonly holders: Set<string>;
  /** Tasks waiting for this key that are queued under another (their first) key. */
  waiters: KeyWaiter[];
  /** Queue groups held out of the rotation while this key is at its limit. */
  detached: FairGroup[];
}

/** What a key needs of a task waiting on it. */
export interface KeyWaiter {
  readonly id: string;
  /** Still waiting (not cancelled meanwhile). */
  readonly waitingForKey: boolean;
}

export class ConcurrencyKeys implements FairGate {
  readonly #keys = new Map<string, KeyState>();

  #state(k: HeldKey): KeyState {
    let s = this.#keys.get(k.key);
    if (!s)
      this.#keys.set(
        k.key,
        (s = { key: k.key, rule: k.rule, limit: k.limit, running: 0, holders: new Set(), waiters: [], detached: [] }),
      );
    return s;
  }

  /** Whether the key is at its limit (the fair queue asks before it serves a key's group). */
  blocked(key: string): boolean {
    const s = this.#keys.get(key);
    return s !== undefined && s.running >= s.limit;
  }

  detach(key: string, group: FairGroup): void {
    const s = this.#keys.get(key);
    if (s) s.detached.push(group);
    else group.reattach();
  }

  /** The first of the keys at its limit, or null when every one admits. */
  full(keys: readonly HeldKey[]): HeldKey | null {
    for (const k of keys) {
      const s = this.#keys.get(k.key);
      if (s !== undefined && s.running >= k.limit) return k;
    }
    return null;
  }

  /** Takes every key (the caller checked {@link full}). */
  acquire(id: string, keys: readonly HeldKey[]): void {
    for (const k of keys) {
      const s = this.#state(k);
      s.limit = k.limit;
      s.rule = k.rule;
      s.running++;
      s.holders.add(id);
    }
  }

  /** Waits for `key` in its FIFO (the task is queued under another key that admitted it). */
  wait(key: HeldKey, waiter: KeyWaiter): void {
    this.#state(key).waiters.push(waiter);
  }

  /**
   * Gives the keys back. Groups detached for a key that has room again rejoin the rotation; up to as many waiters
   * as it has room for are returned, for the caller to queue again.
   */
  release<W extends KeyWaiter>(id: string, keys: readonly HeldKey[]): W[] {
    let out: W[] | null = null;
    for (const k of keys) {
      const s = this.#keys.get(k.key);
      if (!s || !s.holders.delete(id)) continue;
      s.running--;
      if (s.running >= s.limit) continue;
      if (s.detached.length) {
        const groups = s.detached;
        s.detached = [];
        for (const g of groups) g.reattach();
      }
      let room = s.limit - s.running;
      while (room > 0 && s.waiters.length) {
        const w = s.waiters.shift() as W;
        if (!w.waitingForKey) continue;
        (out ??= []).push(w);
        room--;
      }
      this.#forgetIfIdle(s);
    }
    return out ?? [];
  }

  /** A waiter that left (cancelled): dropped from its key's FIFO. */
  leave(key: string, id: string): void {
    const s = this.#keys.get(key);
    if (!s) return;
    s.waiters = s.waiters.filter((w) => w.id !== id);
    this.#forgetIfIdle(s);
  }

  #forgetIfIdle(s: KeyState): void {
    if (s.running === 0 && s.waiters.length === 0 && s.detached.length === 0) this.#keys.delete(s.key);
  }

  /** One key's level, or null when nothing holds or waits for it. */
  level(key: string, waitingUnder: (key: string) => number): KeyLevel | null {
    const s = this.#keys.get(key);
    return s ? this.#view(s, waitingUnder) : null;
  }

  /** The keys with the most running and waiting, busiest first (O(keys)). */
  busiest(n: number, waitingUnder: (key: string) => number): KeyLevel[] {
    const all = [...this.#keys.values()].map((s) => this.#view(s, waitingUnder));
    all.sort((a, b) => b.running + b.waiting - (a.running + a.waiting) || (a.key < b.key ? -1 : 1));
    return all.slice(0, n);
  }

  /** Tasks waiting, by rule (the key as written), for the `codomyrmex_concurrency_waiting` gauge. */
  waitingByRule(waitingUnder: (key: string) => number): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.#keys.values()) {
      const n = s.waiters.filter((w) => w.waitingForKey).length + (s.detached.length ? waitingUnder(s.key) : 0);
      if (n > 0) out.set(s.rule, (out.get(s.rule) ?? 0) + n);
    }
    return out;
  }

  /** Keys held or waited for now. */
  get size(): number {
    return this.#keys.size;
  }

  #view(s: KeyState, waitingUnder: (key: string) => number): KeyLevel {
    return {
      key: s.key,
      rule: s.rule,
      limit: s.limit,
      running: s.running,
      holders: [...s.holders].slice(0, 20),
      waiting: s.waiters.filter((w) => w.waitingForKey).length + waitingUnder(s.key),
    };
  }
}
