/**
 * Which actions go to worker threads in batches. A batch is one Piscina task carrying several attempts, run one
 * after another on one thread: one message each way instead of one per attempt, which is most of what a short
 * task costs. Only actions known to be short are batched, known from what their threads report (`ms` of each
 * reply): an action is batched once it has run {@link WARM_RUNS} times and its recent runs average under
 * {@link SHORT_MS}. An action that turns slow stops being batched at its next reply; its runs alone then tell
 * whether it became short again.
 */
import type { WorkerReply } from './protocol.js';

/** Runs of an action seen before it may be batched. */
export const WARM_RUNS = 4;
/** An action is short, and batched, while its recent runs average under this. */
export const SHORT_MS = 1;
/** A batch's thread starts no further attempt once this long has passed: what a batch-mate waits at most, plus one run. */
export const BATCH_BUDGET_MS = 2;
/** Attempts in one batch, at most. */
export const MAX_BATCH = 64;
/** Weight of the newest run in an action's average. */
const ALPHA = 0.2;

class ActionTime {
  runs = 0;
  avgMs = 0;
}

export class ActionTimes {
  readonly #byModule = new Map<string, Map<string, ActionTime>>();

  #get(module: string, action: string): ActionTime {
    let actions = this.#byModule.get(module);
    if (!actions) this.#byModule.set(module, (actions = new Map<string, ActionTime>()));
    let t = actions.get(action);
    if (!t) actions.set(action, (t = new ActionTime()));
    return t;
  }

  /** Learns from a reply's `ms` (replies without one teach nothing). */
  learn(module: string, action: string, reply: WorkerReply): void {
    const ms = reply.ms;
    if (ms === undefined) return;
    const t = this.#get(module, action);
    t.avgMs = t.runs === 0 ? ms : t.avgMs + ALPHA * (ms - t.avgMs);
    t.runs++;
  }

  /** How many attempts of this action one batch may carry: 1 (run alone) until it is known to be short. */
  batchLimit(module: string, action: string): number {
    const t = this.#byModule.get(module)?.get(action);
    if (!t || t.runs < WARM_RUNS || t.avgMs >= SHORT_MS) return 1;
    return Math.max(1, Math.min(MAX_BATCH, Math.floor(BATCH_BUDGET_MS / Math.max(t.avgMs, 0.01))));
  }
}
