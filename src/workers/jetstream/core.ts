/**
 * What the JetStream runner (`runner.ts`) shares with the handlers of what workers report (`intake.ts`: started,
 * progress, results; `membership.ts`: heartbeats, goodbyes, lost workers): its books, its counters, and the steps
 * that end, publish or park an attempt. The runner alone decides an attempt's outcome through these steps.
 */
import type { Logger } from 'pino';
import type { JetStreamAttempt } from './attempt.js';
import type { Claims } from './claims.js';
import type { KnownWorker, WorkerDirectory, WorkerOutcome } from './directory.js';
import type { Dispatches } from './dispatches.js';
import type { CancelMessage, RemoteOutcome } from './protocol.js';

/** What the runner counts, for metrics. */
export interface JetStreamCounters {
  /** Attempts published to the work stream. */
  dispatched: number;
  /** Work messages published (several attempts may share one). */
  messages: number;
  redeliveries: number;
  lateResults: number;
  unknownResults: number;
  lostWorkers: number;
}

/** The runner's state and steps, as its worker handlers use them. */
export interface RunnerCore {
  /** This daemon run (the engine id): a dispatch id that does not start with it is from an earlier run. */
  readonly run: string;
  readonly log: Logger;
  readonly counters: JetStreamCounters;
  readonly directory: WorkerDirectory;
  /** Attempts in flight, dispatches that ended lately, and results of an earlier daemon run held for their task. */
  readonly dispatches: Dispatches;
  /** The tasks whose results live workers say they hold, and the attempts waiting for those results. */
  readonly claims: Claims;
  /** A worker not heard from for this long is lost. */
  readonly lostAfterMs: number;
  /** Resolves once what the scheduler changed so far is committed. */
  afterCommit(): Promise<unknown>;
  /** The stored status of a task, or null when the daemon has no such task. */
  taskStatus(taskId: string): string | null;
  /**
   * Ends an attempt with an outcome (`as`: how a later result for it is taken; `crash`: how a crash is counted for
   * its worker).
   */
  settle(a: JetStreamAttempt, outcome: RemoteOutcome, as: 'applied' | 'late', crash?: WorkerOutcome): void;
  /** Settles an attempt the daemon itself gave up on (kill not confirmed, worker lost); a later result is late. */
  giveUp(a: JetStreamAttempt, message: string, code: 'killed' | 'lost'): void;
  /** Publishes the attempt to a worker that can take it (or fails it, retryable, when none can). */
  dispatch(a: JetStreamAttempt): void;
  /** Makes the attempt wait for the result a live worker says it holds, instead of publishing it. */
  park(a: JetStreamAttempt, holder: KnownWorker): void;
  /** Removes a message nobody took from the work stream. */
  deleteWork(seq: number): Promise<void>;
  sendCancel(message: CancelMessage): void;
  /** Tells the scheduler (once per turn) that room may have appeared. */
  changed(): void;
}
