/**
 * Large `addTasks` calls, a slice at a time: where a loop over one yields to the event loop ({@link Slices}), and
 * adding an accepted call's records in slices ({@link addInSlices}) while keeping it all or none: its changes wait
 * in a bulk add (durability.ts) so the first commit after its last slice writes all of them in one transaction, and
 * its ready records are queued together after that slice, so priorities order the call as a whole.
 */
import type { TaskStatus } from '../../model/task.js';
import type { TaskDurability } from './durability.js';
import type { Accepted, Intake } from './intake.js';
import { link } from './intake.js';
import type { TaskLifecycle } from './lifecycle.js';
import type { ReadyTasks } from './ready.js';
import type { TaskRecord } from './record.js';

/** Inputs of one `addTasks` call handled between two yields to the event loop, at most. */
export const ADD_SLICE = 2000;

/** A slice of a large call also ends once it has worked this long (cold code, a loaded machine). */
const SLICE_MS = 8;

/** Where a loop over a large call yields to the event loop: every `ADD_SLICE` items, or after `SLICE_MS`. */
export class Slices {
  #count = 0;
  #since = performance.now();

  /** Counts one item; true when the loop should yield now. */
  due(): boolean {
    const n = ++this.#count;
    return n >= ADD_SLICE || ((n & 63) === 0 && performance.now() - this.#since >= SLICE_MS);
  }

  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#count = 0;
    this.#since = performance.now();
  }
}

/** Checks a large call's inputs a slice at a time, reading the store for each slice (see `Intake.lookup`). */
export async function takeInSlices(intake: Intake, inputs: readonly unknown[]): Promise<void> {
  const slices = new Slices();
  for (let i = 0; i < inputs.length; i++) {
    intake.take(inputs[i], i);
    if (slices.due()) {
      intake.lookup();
      await slices.yield();
    }
  }
}

export interface BulkDeps {
  durable: TaskDurability;
  life: TaskLifecycle;
  ready: ReadyTasks;
  /** A new record for an accepted input (with the next order number). */
  create(a: Accepted): TaskRecord;
  /** Reserves the ids of the call while its records are being held (null frees them). */
  reserve(ids: ReadonlyMap<string, unknown> | null): void;
}

/**
 * Adds an accepted call a slice at a time. First its records are held (their ids reserved meanwhile, so no other
 * call takes one), then announced, linked and made ready; their rows are built slice by slice for the commit
 * that follows. Resolves with the ids in input order.
 */
export async function addInSlices(
  deps: BulkDeps,
  { accepted, stored }: { accepted: Accepted[]; stored: Map<string, TaskStatus> },
  ids: ReadonlyMap<string, unknown>,
): Promise<string[]> {
  const { durable, life } = deps;
  const records = life.records;
  const bulk = durable.beginBulk();
  deps.reserve(ids);
  const added: TaskRecord[] = new Array<TaskRecord>(accepted.length);
  const slices = new Slices();
  try {
    for (let i = 0; i < accepted.length; i++) {
      const a = accepted[i];
      if (!a) continue;
      const rec = deps.create(a);
      bulk.members.add(rec);
      life.hold(rec);
      added[i] = rec;
      if (slices.due()) await slices.yield();
    }
    deps.reserve(null);
    await slices.yield();
    let from = 0;
    for (let i = 0; i < added.length; i++) {
      const rec = added[i];
      // Cancelled (or skipped) meanwhile by another call: that change is its announcement.
      if (rec?.status === 'pending') {
        life.added(rec);
        const event = link(
          rec,
          (id) => records.get(id),
          (id) => stored.get(id),
        );
        if (event) life.push(rec, event);
      }
      if (slices.due() || i === added.length - 1) {
        life.run();
        durable.snapshot(bulk, added.slice(from, i + 1));
        from = i + 1;
        if (i < added.length - 1) await slices.yield();
      }
    }
  } finally {
    deps.reserve(null);
    for (const rec of durable.endBulk(bulk)) deps.ready.queue(rec);
    life.run();
  }
  return added.map((r) => r.id);
}
