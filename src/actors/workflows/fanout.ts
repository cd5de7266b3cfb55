/**
 * One forEach step's items: starts them (at most `concurrency` at once), keeps each item's result in input order,
 * and ends the step once every item has ended: completed with the array of outputs, or failed at the first item
 * that failed for good (no further item starts; with `continueOnFailure` the step completes with `null` for it).
 * The run executor (run.ts) runs each item (a task, or a child run) and is told the step's end.
 */
import type { SerializedError } from '../../errors.js';
import { CancelledError, CodomyrmexError, ErrorCode, SkippedError } from '../../errors.js';
import type { TaskStatus } from '../../model/task.js';
import { TERMINAL_STATUSES } from '../../model/task.js';
import type { ItemResult } from '../../model/workflow.js';

export interface FanOutHooks {
  /** Runs item `index`; resolves with its result (never rejects). */
  run(index: number, item: unknown): Promise<ItemResult>;
  /** Cancels item `index`, which is running. */
  cancel(index: number, reason: string): void;
  /** An item ended (worth persisting). */
  changed(): void;
  /** Every item has ended: the step's outcome. */
  end(outcome: FanOutOutcome): void;
}

export interface FanOutOutcome {
  status: TaskStatus;
  output: unknown[];
  error: SerializedError | null;
  items: ItemResult[];
  attempts: number;
}

export class FanOut {
  readonly #items: readonly unknown[];
  readonly #limit: number;
  readonly #tolerant: boolean;
  readonly #hooks: FanOutHooks;
  readonly #results: (ItemResult | null)[];
  readonly #running = new Set<number>();
  readonly #taskId: (index: number) => string;
  readonly #now: () => number;
  /** Next index to consider starting. */
  #next = 0;
  #ended = 0;
  /** Why no further item starts (an item failed for good, or the run was cancelled); null while items start. */
  #stopped: { status: TaskStatus; error: SerializedError } | null = null;
  #done = false;

  constructor(
    items: readonly unknown[],
    options: {
      concurrency: number | undefined;
      continueOnFailure: boolean;
      prior: readonly ItemResult[] | undefined;
      taskId: (index: number) => string;
      now: () => number;
    },
    hooks: FanOutHooks,
  ) {
    this.#items = items;
    this.#limit = options.concurrency ?? Infinity;
    this.#tolerant = options.continueOnFailure;
    this.#hooks = hooks;
    this.#taskId = options.taskId;
    this.#now = options.now;
    this.#results = new Array<ItemResult | null>(items.length).fill(null);
    // Items that had ended before a restart keep their results and are not run again.
    for (const r of options.prior ?? []) {
      if (r.index < items.length && TERMINAL_STATUSES.has(r.status)) {
        this.#results[r.index] = r;
        this.#ended++;
      }
    }
  }

  /** Starts the first items; ends at once for an empty list. */
  start(): void {
    this.#fill();
    this.#maybeEnd();
  }

  /** Items still running or queued are cancelled; no further item starts. */
  cancel(reason: string): void {
    if (this.#done) return;
    this.#stopped ??= { status: 'cancelled', error: new CancelledError(`item did not start: ${reason}`).toJSON() };
    for (const i of this.#running) this.#hooks.cancel(i, reason);
    this.#maybeEnd();
  }

  /** How many items have ended, of how many. */
  get progress(): { ended: number; total: number; running: number } {
    return { ended: this.#ended, total: this.#items.length, running: this.#running.size };
  }

  /** Every item's result, or a placeholder (`pending`, `running`) for those not ended. */
  view(): ItemResult[] {
    return this.#results.map(
      (r, index) => r ?? this.#placeholder(index, this.#running.has(index) ? 'running' : 'pending'),
    );
  }

  #fill(): void {
    while (this.#stopped === null && this.#running.size < this.#limit && this.#next < this.#items.length) {
      const index = this.#next++;
      if (this.#results[index]) continue;
      this.#running.add(index);
      void this.#hooks.run(index, this.#items[index]).then((r) => this.#itemEnded(index, r));
    }
  }

  #itemEnded(index: number, r: ItemResult): void {
    if (!this.#running.delete(index)) return;
    this.#results[index] = r;
    this.#ended++;
    if (r.status !== 'completed' && !this.#tolerant && this.#stopped === null) {
      this.#stopped = {
        status: 'skipped',
        error: new SkippedError(`item did not start: item ${index} ended ${r.status}`).toJSON(),
      };
    }
    this.#hooks.changed();
    this.#fill();
    this.#maybeEnd();
  }

  #maybeEnd(): void {
    if (this.#done || this.#running.size > 0) return;
    if (this.#stopped === null && this.#ended < this.#items.length) return;
    this.#done = true;
    const stop = this.#stopped;
    const items = this.#results.map(
      (r, index) => r ?? this.#placeholder(index, stop?.status ?? 'skipped', stop?.error ?? null),
    );
    let attempts = 0;
    let firstBad: ItemResult | null = null;
    for (const r of items) {
      attempts += r.attempts;
      if (r.status !== 'completed' && firstBad === null && r.error?.code !== stop?.error.code) firstBad = r;
    }
    firstBad ??= items.find((r) => r.status !== 'completed') ?? null;
    const output = items.map((r) => (r.status === 'completed' ? r.result : null));
    if (firstBad === null || (this.#tolerant && stop?.status !== 'cancelled')) {
      this.#hooks.end({ status: 'completed', output, error: null, items, attempts });
      return;
    }
    const e = firstBad.error;
    const status: TaskStatus =
      stop?.status === 'cancelled'
        ? 'cancelled'
        : firstBad.status === 'timed_out'
          ? 'timed_out'
          : firstBad.status === 'cancelled'
            ? 'cancelled'
            : 'failed';
    const message = `item ${firstBad.index} of ${items.length} ended ${firstBad.status}: ${e?.message ?? 'no error recorded'}`;
    const error: SerializedError = e ? { ...e, message } : new CodomyrmexError(message, ErrorCode.UNKNOWN).toJSON();
    this.#hooks.end({ status, output, error, items, attempts });
  }

  #placeholder(index: number, status: TaskStatus, error: SerializedError | null = null): ItemResult {
    const ended = TERMINAL_STATUSES.has(status);
    return {
      index,
      taskId: this.#taskId(index),
      name: `${index}`,
      status,
      success: false,
      result: null,
      error,
      attempts: 0,
      startedAt: null,
      endedAt: ended ? this.#now() : null,
      durationMs: null,
    };
  }
}
