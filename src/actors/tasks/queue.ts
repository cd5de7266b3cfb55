import type { TaskPriority } from '../../model/task.js';
import { PRIORITIES, PRIORITY_RANK } from '../../model/task.js';

/** What the queue needs of an entry. */
export interface Queueable {
  readonly priority: TaskPriority;
  /** Epoch ms when the entry became ready. */
  readyAt: number;
  /** False once the entry left the queue some other way (cancelled): it is then skipped. */
  readonly live: boolean;
}

/** A FIFO over an array with a moving head: O(1) push and shift, compacted now and then. */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;
  get size(): number {
    return this.#items.length - this.#head;
  }
  push(item: T): void {
    this.#items.push(item);
  }
  peek(): T | undefined {
    return this.#items[this.#head];
  }
  /** The items from head to tail (for counts and listings). */
  items(): T[] {
    return this.#items.slice(this.#head);
  }
  shift(): T | undefined {
    const item = this.#items[this.#head];
    if (item === undefined) return undefined;
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

/**
 * The ready queue: one FIFO per priority, served highest priority first, FIFO within one priority. Aging keeps
 * low priorities from starving: an entry's rank improves by one level per `agingMs` it has waited, and among
 * equal ranks the one waiting longest goes first.
 */
export class ReadyQueue<T extends Queueable> {
  readonly #levels: Fifo<T>[] = PRIORITIES.map(() => new Fifo<T>());
  readonly #counts: number[] = PRIORITIES.map(() => 0);
  readonly agingMs: number;
  /** Ignore priorities: one FIFO (a `parallel` session). */
  readonly #flat: boolean;

  constructor(agingMs: number, options: { flat?: boolean } = {}) {
    this.agingMs = agingMs;
    this.#flat = options.flat === true;
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
      const head = this.#liveHead(level);
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

  #liveHead(level: Fifo<T>): T | undefined {
    let head = level.peek();
    while (head && !head.live) {
      level.shift();
      head = level.peek();
    }
    return head;
  }

  #choose(now: number, remove: boolean): T | undefined {
    let bestLevel = -1;
    let bestRank = Infinity;
    let bestReadyAt = Infinity;
    for (let i = 0; i < this.#levels.length; i++) {
      if (this.#counts[i] === 0) continue;
      const level = this.#levels[i];
      if (!level) continue;
      const head = this.#liveHead(level);
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
