/**
 * Lanes: one per session (plus the default lane). A lane's mode decides how its ready tasks are ordered and
 * admitted, and its limit how many run at once:
 * - `sequential`: one at a time, in the order the tasks were added (dependencies keep topological order);
 * - `parallel`: up to the limit, FIFO by readiness, priorities ignored;
 * - `priority`: up to the limit, by priority (FIFO within one, with aging);
 * - `resource_aware`: `priority`, plus admission by the resources a task declares.
 */
import type { SessionMode } from '../../bus/protocol.js';
import type { TaskPriority } from '../../model/task.js';
import { PRIORITIES } from '../../model/task.js';
import type { Queueable } from './queue.js';
import { ReadyQueue } from './queue.js';
import type { FairGate } from './admission/fair.js';

export interface LaneEntry extends Queueable {
  /** Order of addition (the tie-break of `sequential`). */
  readonly order: number;
}

/** What a lane needs of its queue. */
export interface LaneQueue<T extends LaneEntry> {
  readonly size: number;
  push(entry: T): void;
  forget(entry: T): void;
  pop(now: number): T | undefined;
  /** The entry `pop` would return, left in place (queues that cannot tell leave it out). */
  peek?(now: number): T | undefined;
  oldestReadyAt(): number | null;
  countByPriority(): Record<TaskPriority, number>;
  entries(): Iterable<T>;
  /** Live entries queued under a fairness key (queues without keys leave it out). */
  waitingUnder?(key: string): number;
}

/** A min-heap on `order`, with lazy removal of entries that left. */
export class OrderQueue<T extends LaneEntry> implements LaneQueue<T> {
  readonly #heap: T[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(entry: T): void {
    const h = this.#heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as T).order <= entry.order) break;
      h[i] = h[parent] as T;
      i = parent;
    }
    h[i] = entry;
    this.#size++;
  }

  forget(_entry: T): void {
    this.#size--;
  }

  pop(): T | undefined {
    for (;;) {
      const top = this.#shift();
      if (top === undefined) return undefined;
      if (top.live) {
        this.#size--;
        return top;
      }
    }
  }

  #shift(): T | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let mv = last.order;
      if (l < h.length && (h[l] as T).order < mv) {
        m = l;
        mv = (h[l] as T).order;
      }
      if (r < h.length && (h[r] as T).order < mv) m = r;
      if (m === i) break;
      h[i] = h[m] as T;
      i = m;
    }
    h[i] = last;
    return top;
  }

  oldestReadyAt(): number | null {
    let oldest: number | null = null;
    for (const e of this.#heap) if (e.live && (oldest === null || e.readyAt < oldest)) oldest = e.readyAt;
    return oldest;
  }

  countByPriority(): Record<TaskPriority, number> {
    const out = Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<TaskPriority, number>;
    for (const e of this.#heap) if (e.live) out[e.priority]++;
    return out;
  }

  *entries(): Generator<T> {
    yield* [...this.#heap].filter((e) => e.live).sort((a, b) => a.order - b.order);
  }
}

export class Lane<T extends LaneEntry> {
  readonly id: string;
  readonly mode: SessionMode;
  /** Tasks of this lane running at once. */
  max: number;
  running = 0;
  closed = false;
  readonly queue: LaneQueue<T>;

  constructor(id: string, mode: SessionMode, max: number, agingMs: number, gate: FairGate | null = null) {
    this.id = id;
    this.mode = mode;
    this.max = mode === 'sequential' ? 1 : max;
    this.queue =
      mode === 'sequential' ? new OrderQueue<T>() : new ReadyQueue<T>(agingMs, { flat: mode === 'parallel', gate });
  }

  /** Whether it may start another task now. */
  get hasRoom(): boolean {
    return this.running < this.max && this.queue.size > 0;
  }

  /** Whether admission checks the resources its tasks declare. */
  get admitsByResources(): boolean {
    return this.mode === 'resource_aware';
  }
}
