/**
 * The JetStream runner's book of dispatches: the attempts in flight (by dispatch id, and the current one per task),
 * the dispatches that ended lately (so a repeated or late result is answered, not taken for an unknown one), and the
 * results from an earlier daemon run held until their task is dispatched again.
 */
import { RecentMap } from '../../model/recentMap.js';
import type { JetStreamAttempt } from './attempt.js';
import type { RemoteOutcome, ResultAck } from './protocol.js';

/** Dispatches that ended remembered at least (so a repeated or late result is answered, not treated as unknown). */
const RECENT_MAX = 20_000;
/** How long a result from an earlier daemon run waits for its task to be dispatched again. */
export const HELD_MS = 10 * 60_000;

/** How an ended dispatch was settled: by its result (`applied`), or by the daemon before it (`late`: a result is discarded). */
export type Ended = 'applied' | 'late';

/** A result from an earlier daemon run, waiting for its task's next dispatch. */
export interface HeldResult {
  outcome: RemoteOutcome;
  /** The worker's name. */
  worker: string | undefined;
  /** Answers the worker once the outcome is committed (or refused). */
  answer: (ack: ResultAck) => void;
  /** When it was first held (epoch ms). */
  at: number;
}

export class Dispatches {
  readonly #attempts = new Map<string, JetStreamAttempt>();
  readonly #byTask = new Map<string, JetStreamAttempt>();
  readonly #held = new Map<string, HeldResult>();
  readonly #recent = new RecentMap<string, Ended>(RECENT_MAX);

  /** Attempts in flight. */
  get size(): number {
    return this.#attempts.size;
  }

  add(a: JetStreamAttempt): void {
    this.#attempts.set(a.dispatch, a);
    this.#byTask.set(a.req.taskId, a);
  }

  get(dispatch: string): JetStreamAttempt | undefined {
    return this.#attempts.get(dispatch);
  }

  /** The task's attempt in flight, if any. */
  current(taskId: string): JetStreamAttempt | undefined {
    return this.#byTask.get(taskId);
  }

  /** No longer in flight (settled, or left running for the next daemon). */
  remove(a: JetStreamAttempt): void {
    this.#attempts.delete(a.dispatch);
    if (this.#byTask.get(a.req.taskId) === a) this.#byTask.delete(a.req.taskId);
  }

  /** Remembers how a dispatch ended (at least the last {@link RECENT_MAX}; older ones are forgotten). */
  remember(dispatch: string, as: Ended): void {
    this.#recent.set(dispatch, as);
  }

  /** How a dispatch that ended lately ended; undefined when it did not (or long ago). */
  ended(dispatch: string): Ended | undefined {
    return this.#recent.get(dispatch);
  }

  /** Holds an earlier run's result for its task (keeping when it was first held). */
  hold(taskId: string, held: Omit<HeldResult, 'at'>, now: number): void {
    this.#held.set(taskId, { ...held, at: this.#held.get(taskId)?.at ?? now });
  }

  /** The result held for a task, taken out. */
  takeHeld(taskId: string): HeldResult | undefined {
    const h = this.#held.get(taskId);
    if (h) this.#held.delete(taskId);
    return h;
  }

  /** Takes out the held results older than {@link HELD_MS} (their task was never dispatched again: cancelled meanwhile). */
  expireHeld(now: number): HeldResult[] {
    const out: HeldResult[] = [];
    for (const [taskId, h] of this.#held) {
      if (now - h.at < HELD_MS) continue;
      this.#held.delete(taskId);
      out.push(h);
    }
    return out;
  }
}
