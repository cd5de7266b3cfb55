import type { TaskPriority } from '../../model/task.js';
import { PRIORITIES, PRIORITY_RANK } from '../../model/task.js';
import type { FairGate } from './admission/fair.js';
import { FairLevel } from './admission/fair.js';

/** What the queue needs of an entry. */
export interface Queueable {
  readonly priority: TaskPriority;
  /** Epoch ms when the entry became ready. */
  readyAt: number;
  /** False once the entry left the queue some other way (cancelled): it is then skipped. */
  readonly live: boolean;
  /** The key it is queued under, for round-robin among keys (null: none; see `admission/fair.ts`). */
  readonly fairKey?: string | null;
}

/**
 * The ready queue: one FIFO per priority, served highest priority first, FIFO within one priority. Aging keeps
 * low priorities from starving: an entry's rank improves by one level per `agingMs` it has waited, and among
 * equal ranks the one waiting longest goes first. Within a level, keys take turns (`FairLevel`).
 */
export class ReadyQueue<T extends Queueable> {
  readonly #levels: FairLevel<T>[];
  readonly #counts: number[] = PRIORITIES.map(() => 0);
  readonly agingMs: number;
  /** Ignore priorities: one FIFO (a `parallel` session). */
  readonly #flat: boolean;

  constructor(agingMs: number, options: { flat?: boolean; gate?: FairGate | null } = {}) {
    this.agingMs = agingMs;
    this.#flat = options.flat === true;
    const gate = options.gate ?? null;
    this.#levels = PRIORITIES.map(() => new FairLevel<T>(gate));
  }

  #rank(entry: T): number {
    return this.#flat ? 0 : PRIORITY_RANK[entry.priority];
  }

  get size(): number {
    let n = 0;
    for (const c of this.#counts) n += c;
    return n;
  }

  countByPriority(): Record<TaskPriority, number> {
    const out = Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<TaskPriority, number>;
    if (!this.#flat) {
      PRIORITIES.forEach((p, i) => (out[p] = this.#counts[i] ?? 0));
      return out;
    }
    for (const e of this.#levels[0]?.items() ?? []) if (e.live) out[e.priority]++;
    return out;
  }

  push(entry: T): void {
    const rank = this.#rank(entry);
    this.#levels[rank]?.push(entry);
    this.#counts[rank] = (this.#counts[rank] ?? 0) + 1;
  }

  /** Records that a live entry left without being popped (its `live` is now false). */
  forget(entry: T): void {
    const rank = this.#rank(entry);
    this.#counts[rank] = (this.#counts[rank] ?? 1) - 1;
    this.#levels[rank]?.forget(entry);
  }

  /** Live entries queued under a fairness key. */
  waitingUnder(key: string): number {
    let n = 0;
    for (const level of this.#levels) n += level.waiting(key);
    return n;
  }

  /** The entry that should run next, without removing it. */
  peek(now: number): T | undefined {
    return this.#choose(now, false);
  }

  pop(now: number): T | undefined {
    return this.#choose(now, true);
  }

  /** Ready time of the oldest live entry, or null. */
  oldestReadyAt(): number | null {
    let oldest: number | null = null;
    for (const level of this.#levels) {
      const head = level.peek();
      if (head && (oldest === null || head.readyAt < oldest)) oldest = head.readyAt;
    }
    return oldest;
  }

  /** Live entries, each level in FIFO order (for explain and listings; O(n)). */
  *entries(): Generator<T> {
    // Reads copies and never moves entries: a caller that stops early (explain finding its task) leaves the
    // queue exactly as it was.
    for (const level of this.#levels) {
      for (const x of level.items()) if (x.live) yield x;
    }
  }

  #choose(now: number, remove: boolean): T | undefined {
    let bestLevel = -1;
    let bestRank = Infinity;
    let bestReadyAt = Infinity;
    for (let i = 0; i < this.#levels.length; i++) {
      if (this.#counts[i] === 0) continue;
      const level = this.#levels[i];
      if (!level) continue;
      const head = level.peek();
      if (!head) continue;
      const rank = this.agingMs > 0 ? i - Math.floor((now - head.readyAt) / this.agingMs) : i;
      if (rank < bestRank || (rank === bestRank && head.readyAt < bestReadyAt)) {
        bestLevel = i;
        bestRank = rank;
        bestReadyAt = head.readyAt;
      }
    }
    if (bestLevel < 0) return undefined;
    const level = this.#levels[bestLevel];
    if (!remove) return level?.peek();
    this.#counts[bestLevel] = (this.#counts[bestLevel] ?? 1) - 1;
    return level?.shift();
  }
}
