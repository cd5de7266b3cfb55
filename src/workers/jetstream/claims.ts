/**
 * Held results, as the workers name them: each heartbeat (and each answer to the daemon's hello) lists the tasks
 * whose results its worker holds unanswered (results of an earlier daemon run's dispatches). The JetStream runner
 * does not dispatch such a task again while that worker is live: the attempt waits here, parked on the holder,
 * until the result comes (it settles the attempt), the holder stops naming the task, or the holder is lost (then
 * the attempt is dispatched for real).
 */
import type { JetStreamAttempt } from './attempt.js';
import type { KnownWorker } from './directory.js';

export class Claims {
  /** Task id → the id of the worker that last said it holds its result. */
  readonly #holder = new Map<string, string>();
  /** Worker id → the task ids its last heartbeat named. */
  readonly #named = new Map<string, readonly string[]>();
  /** Worker id → attempts waiting for a result it holds. */
  readonly #parked = new Map<string, Set<JetStreamAttempt>>();

  /** The live worker holding the task's result, if one said so. */
  liveHolder(taskId: string, workers: ReadonlyMap<string, KnownWorker>): KnownWorker | undefined {
    const id = this.#holder.get(taskId);
    const w = id === undefined ? undefined : workers.get(id);
    return w?.state === 'live' ? w : undefined;
  }

  /** A worker's heartbeat: what it holds now. Returns its parked attempts whose task it no longer names. */
  heard(workerId: string, holding: readonly string[]): JetStreamAttempt[] {
    for (const taskId of this.#named.get(workerId) ?? [])
      if (this.#holder.get(taskId) === workerId) this.#holder.delete(taskId);
    if (holding.length > 0) this.#named.set(workerId, holding);
    else this.#named.delete(workerId);
    for (const taskId of holding) this.#holder.set(taskId, workerId);
    const parked = this.#parked.get(workerId);
    if (!parked) return [];
    const freed = [...parked].filter((a) => this.#holder.get(a.req.taskId) !== workerId);
    for (const a of freed) this.unpark(a);
    return freed;
  }

  /** The attempt waits for the result its holder has (nothing is published). */
  park(workerId: string, a: JetStreamAttempt): void {
    a.parkedOn = workerId;
    let set = this.#parked.get(workerId);
    if (!set) this.#parked.set(workerId, (set = new Set()));
    set.add(a);
  }

  /** The attempt waits no more (settled, or dispatched for real). */
  unpark(a: JetStreamAttempt): void {
    if (a.parkedOn === null) return;
    const set = this.#parked.get(a.parkedOn);
    set?.delete(a);
    if (set?.size === 0) this.#parked.delete(a.parkedOn);
    a.parkedOn = null;
  }

  /** The worker is gone: its claims are void; returns the attempts that waited on it (to dispatch for real). */
  drop(workerId: string): JetStreamAttempt[] {
    const parked = [...(this.#parked.get(workerId) ?? [])];
    for (const a of parked) this.unpark(a);
    this.heard(workerId, []);
    return parked;
  }
}
