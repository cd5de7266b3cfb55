/** What a task scheduler is built from: its options and the parts it is given (runner, store, bus, ...). */
import type { MessageBus } from '../../bus/bus.js';
import type { Clock } from '../../model/clock.js';
import type { TaskObserver } from '../../model/taskView.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import type { GroupCommitter } from '../../store/commits.js';
import type { Store } from '../../store/store.js';
import type { TaskRunner } from '../../workers/runner.js';
import type { ResourceLedger } from '../resources/ledger.js';

export interface SchedulerOptions {
  /** Tasks running at once (default: the runner's capacity). */
  maxConcurrency: number;
  /** A waiting task climbs one priority level per this many ms (0 turns aging off). */
  agingMs: number;
  /** After a cooperative abort, how long a task with a channel gets before its thread is terminated. */
  abortGraceMs: number;
  /** Finished tasks kept in memory; older ones are read back from the store. */
  retainFinished: number;
  /** Bytes of finished results kept in memory, at most (default 256 MiB). */
  retainFinishedBytes?: number;
  /**
   * Changed tasks the store has not written past which an `addTasks` call waits for it (default `UNWRITTEN_MAX` of
   * durability.ts).
   */
  unwrittenMax?: number;
  /**
   * Strict durability: answer a caller only once what it is told is committed (an added task, a result), and
   * start a task only once its row is committed, so a failed write can be undone (default false).
   */
  ackOnCommit?: boolean;
  /**
   * On shutdown, leave tasks that have not ended in the store for the next engine (a running one runs again)
   * instead of cancelling them (default false; true with a persistent store).
   */
  keepUnfinished?: boolean;
  /** How long an idempotency key answers with its first task's id (default 24 h). */
  idempotencyTtlMs?: number;
}

export interface SchedulerDeps {
  runner: TaskRunner;
  /** Told of starts, retries and ends directly (metrics), without events. */
  observer?: TaskObserver | undefined;
  /** Admission of tasks that declare resources (resource_aware lanes). */
  ledger?: ResourceLedger | undefined;
  registry: ModuleRegistry;
  bus: MessageBus;
  store: Store;
  /** The engine's group committer (default: one of the scheduler's own over `store`). */
  commits?: GroupCommitter;
  options: SchedulerOptions;
  clock?: Clock;
  random?: () => number;
}
