/**
 * The protocol between a daemon and its remote workers (`codomyrmex worker`), over NATS:
 *
 * - Work: the daemon publishes attempts (one, or a `{ batch }` of those it started in one turn for the same
 *   target) to the JetStream work-queue stream `<PREFIX>_WORK` on
 *   `<prefix>.work.<group>`. A group is every worker with the same modules and tags; they share one durable pull
 *   consumer, so a task left by a dead worker is redelivered to another worker of its group after the ack wait.
 *   An attempt that must run on one worker (a sticky run's) goes to `<prefix>.work.w.<worker id>`, read by that
 *   worker's own consumer (`W_<id>`); if the worker is lost, the daemon takes it out of the stream and runs the
 *   task again elsewhere.
 * - Core NATS around it: heartbeats (announce) and goodbyes, `started` when a worker takes a message, `result` as a
 *   request the daemon answers only once the outcome is committed (then, and only then, the worker acks the
 *   message once every attempt in it is answered); `started` and `result` carry one item or a `{ batch }` (answered
 *   with `{ acks }`), `cancel` broadcasts, progress and logs, and `workers.list`.
 * - Kept results: a worker that stops while no daemon answers puts its unanswered results in the stream
 *   `<PREFIX>_KEPT` (then acks their work messages); the daemon reads them when it attaches and applies each once
 *   its task is dispatched again, as it does a result re-sent after a restart.
 * - Held results: every heartbeat (and the answer to a daemon's hello) names the tasks whose results its worker
 *   holds unanswered; the daemon does not dispatch such a task again while that worker is live, and applies the
 *   result when it comes (or dispatches the task once the worker is lost, or stops naming it).
 */
import { createHash } from 'node:crypto';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { AttemptRequest } from '../runner.js';
import type { SerializedError } from '../../errors.js';
import type { WorkerReply } from '../protocol.js';

/**
 * Bumped when a message changes shape; a worker of another version is refused by the daemon (logged). 3: a
 * heartbeat names the results its worker holds unanswered (`holding`).
 */
export const REMOTE_PROTOCOL = 3;

/** Most task ids one heartbeat names in `holding` (the rest are sent again when their task is dispatched). */
export const MAX_HOLDING = 4096;

export interface RemoteSubjects {
  /** Where an attempt for `group` is published (stream subject). */
  work(group: string): string;
  /** Where an attempt for one worker alone is published (a sticky run's): its own consumer reads it. */
  workFor(workerId: string): string;
  /** Every work subject (the stream's). */
  readonly workAll: string;
  readonly heartbeat: string;
  readonly bye: string;
  /** The daemon asks every worker to heartbeat now (after it starts). */
  readonly hello: string;
  readonly started: string;
  readonly result: string;
  readonly cancel: string;
  readonly progress: string;
  readonly list: string;
  /** Results a stopping worker could not hand to a daemon, kept in the stream `<PREFIX>_KEPT` for the next one. */
  readonly kept: string;
}

export function remoteSubjects(prefix: string): RemoteSubjects {
  return {
    work: (group) => `${prefix}.work.${group}`,
    workFor: (workerId) => `${prefix}.work.w.${workerId}`,
    workAll: `${prefix}.work.>`,
    heartbeat: `${prefix}.workers.heartbeat`,
    bye: `${prefix}.workers.bye`,
    hello: `${prefix}.workers.hello`,
    started: `${prefix}.workers.started`,
    result: `${prefix}.workers.result`,
    cancel: `${prefix}.workers.cancel`,
    progress: `${prefix}.workers.progress`,
    list: `${prefix}.workers.list`,
    kept: `${prefix}.kept`,
  };
}

/** The work stream of a subject prefix (stream names allow no dots). */
export function workStreamName(prefix: string): string {
  return `${prefix.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase()}_WORK`;
}

/** The stream of kept results (a work queue the daemon reads and acks once each is applied or refused). */
export function keptStreamName(prefix: string): string {
  return `${prefix.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase()}_KEPT`;
}

/** The group of workers with these modules and tags: a short hash, the same on every host. */
export function workerGroup(modules: readonly string[], tags: readonly string[]): string {
  const key = JSON.stringify([[...modules].sort(), [...tags].sort()]);
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** A worker's announcement, sent on every heartbeat. */
export interface WorkerInfo {
  protocol: number;
  id: string;
  name: string;
  host: string;
  pid: number;
  tags: string[];
  /** Module names it can run. */
  modules: string[];
  threads: number;
  /** Attempts it runs at once (threads × tasks per thread): the daemon never has more in flight on it. */
  capacity: number;
  version: string;
  group: string;
  /** Attempts running on it now. */
  running: number;
  startedAt: number;
  /** Its ack wait (ms): how long before JetStream redelivers what it took and stopped heartbeating. */
  ackWaitMs: number;
  /**
   * The tasks (ids) whose results it holds and the daemon has not answered yet, at most {@link MAX_HOLDING}: a
   * restarted daemon does not dispatch them again while this worker is live, and applies each result as it comes.
   */
  holding: string[];
}

/** One attempt, as published to the work stream: the scheduler's attempt request, named for this dispatch. */
export type WorkMessage = Omit<AttemptRequest, 'tags'> & {
  /** `<daemon run>:<taskId>:<attempt>`: unique, and names the daemon run that sent it. */
  dispatch: string;
  daemon: string;
};

/** Several attempts for one worker (or group) in one message: the daemon sends what it starts in one turn together. */
export interface WorkBatch {
  batch: WorkMessage[];
}

export interface StartedMessage {
  dispatch: string;
  worker: string;
  /** JetStream's delivery count: above 1, a worker before this one took it and did not finish. */
  deliveries: number;
  /** The attempt the action sees (`attempt + deliveries - 1`). */
  attempt: number;
}

/** The outcome of one attempt: the action's reply, or its thread died (or was terminated on a kill). */
export type RemoteOutcome = WorkerReply | { type: 'crashed'; error: SerializedError };

export interface ResultMessage {
  dispatch: string;
  /** The worker's id. */
  worker: string;
  /** The worker's name (the daemon may not know its id: a result from before a restart, or a kept one). */
  name?: string | undefined;
  taskId: string;
  outcome: RemoteOutcome;
}

/** The daemon's answer to a result: `accepted` (committed), or why it was not (the worker acks either way). */
export interface ResultAck {
  accepted: boolean;
  reason?: 'unknown' | 'late' | undefined;
}

export interface CancelMessage {
  dispatch: string;
  /** `abort`: the action's `ctx.signal`; `kill`: its thread is terminated (or it never starts). */
  kind: 'abort' | 'kill';
  reason: string;
}

export type ProgressMessage =
  | { dispatch: string; kind: 'progress'; value: unknown }
  | { dispatch: string; kind: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };

/** One worker as the daemon sees it (`workers list`, the status view): what it announced, and what the daemon knows. */
export type WorkerView = Pick<
  WorkerInfo,
  | 'id'
  | 'name'
  | 'host'
  | 'pid'
  | 'tags'
  | 'modules'
  | 'threads'
  | 'capacity'
  | 'version'
  | 'group'
  | 'running'
  | 'startedAt'
> & {
  state: 'live' | 'lost';
  /** Attempts the daemon has in flight on it. */
  inFlight: number;
  lastSeenMs: number;
  /** Attempts it completed since the daemon started (counted by the worker's name). */
  tasksCompleted: number;
  /** Attempts that ended on it any other way: failed, crashed, stopped (cancel, timeout) or lost. */
  tasksFailed: number;
};

const encoder = new TextEncoder();
export const encode = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

/**
 * Creates a work-queue stream on file (each message is handed out until acked, then removed) unless it is there.
 * `@nats-io/jetstream` is loaded here, on first use, not by importing this file.
 */
export async function ensureWorkQueue(jsm: JetStreamManager, name: string, subject: string): Promise<void> {
  const { RetentionPolicy, StorageType } = await import('@nats-io/jetstream');
  try {
    await jsm.streams.info(name);
  } catch {
    await jsm.streams.add({
      name,
      subjects: [subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    });
  }
}
