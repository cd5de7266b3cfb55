/**
 * Where an attempt runs: the scheduler hands each attempt to a {@link TaskRunner} and hears back through the
 * attempt's promise. The runners: `LocalPoolRunner` (`local.ts`, the engine's Piscina pool), the JetStream
 * runner (`jetstream/runner.ts`, remote workers), the combined one (`combined.ts`, the daemon's: local threads first,
 * remote workers for the rest) and the traced wrapper (`traced.ts`).
 */
import type { TaskSpec } from '../model/task.js';
import type { RunRequest, WorkerReply } from './protocol.js';

/**
 * One attempt of one task, as the scheduler hands it to a runner: the worker protocol's request without the
 * transport's own fields (dispatch number, port), plus the task's name and whether its action wants a channel.
 */
export type AttemptRequest = Omit<RunRequest, 'type' | 'seq' | 'port'> & {
  name: string;
  /** The action asked for a channel (progress, logs, cooperative abort). */
  channel: boolean;
  /** Tags a worker must have to run it (the task's `placement.tags`); a local runner ignores them. */
  tags?: readonly string[] | undefined;
  /** When it was last queued (clock ms): its queue wait, for its span. */
  readyAt?: number | undefined;
  /** The context its task was submitted in; once its attempt span started (tracing on), that span's (see `TracedRunner`). */
  traceparent?: string | undefined;
  /** Its sticky key (the task's `affinity`): a routing runner keeps every attempt with the same key on one worker. */
  affinity?: string | undefined;
};

/** The fields of an attempt every message to a worker carries (a pool's run request or batch item, a work message). */
export type AttemptFields = Omit<RunRequest, 'type' | 'seq' | 'port' | 'artifacts'>;

/**
 * Writes an attempt's fields onto `head` (the message's own fields), the optional ones only when set: each field
 * written is cloned or encoded with every message, and a worker reads an absent one as unset. The one copy of these
 * fields for every runner; each adds `artifacts` by its own rule.
 *
 * @example
 * const request: RunRequest = attemptFields({ type: 'run', seq }, req);
 */
export function attemptFields<T extends object>(head: T, req: AttemptRequest): T & AttemptFields {
  const out = head as T & AttemptFields;
  out.taskId = req.taskId;
  out.module = req.module;
  out.action = req.action;
  out.params = req.params;
  out.attempt = req.attempt;
  if (req.idempotencyKey !== undefined) out.idempotencyKey = req.idempotencyKey;
  if (req.workingDir !== undefined) out.workingDir = req.workingDir;
  if (req.upstream !== undefined) out.upstream = req.upstream;
  if (req.traceparent !== undefined) out.traceparent = req.traceparent;
  if (req.artifactScope !== undefined) out.artifactScope = req.artifactScope;
  return out;
}

/** What a runner that routes (remote workers) needs to know to say whether a task can start now. */
export interface PlacementQuery {
  module: string;
  action: string;
  tags: readonly string[];
  /** The task's sticky key, if any (see {@link AttemptRequest.affinity}). */
  affinity?: string | undefined;
}

/** The placement query of a task. */
export function placementQuery(spec: Pick<TaskSpec, 'module' | 'action' | 'placement' | 'affinity'>): PlacementQuery {
  const q: PlacementQuery = { module: spec.module, action: spec.action, tags: spec.placement?.tags ?? [] };
  if (spec.affinity !== undefined) q.affinity = spec.affinity;
  return q;
}

/** What an attempt with a channel reports while it runs. */
export interface AttemptHooks {
  progress(value: unknown): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

/** The worker name recorded for attempts on the engine's own threads. */
export const LOCAL_WORKER = 'local';

/** An attempt on its way or running. */
export interface RunningAttempt {
  /**
   * The worker it runs on, by name (a remote worker's `--name`); absent for the engine's own threads
   * ({@link LOCAL_WORKER}). It may change while the attempt runs (another worker of the group took it).
   */
  readonly worker?: string | undefined;
  /** Settles when the attempt ends: the action's value or error, or a rejection when its thread died. */
  readonly reply: Promise<WorkerReply>;
  /** Asks the action to stop (its `ctx.signal`); false when it has no channel to hear it. */
  abort(reason: string): boolean;
  /**
   * Stops the attempt for good: a running one loses its thread, one not started yet never runs. Safe to call more
   * than once and after the attempt ended.
   */
  kill(): void;
  /** Releases the attempt's channel once its outcome is known. */
  close(): void;
  /**
   * The engine stops and keeps unfinished work for the next one: an attempt that can outlive it (on a remote
   * worker) runs on, its result to be applied by the next engine. Absent: the attempt is killed instead.
   */
  leave?(): void;
  /**
   * How long the attempt waited, once sent, before a thread took it, in ms (queue time, which a timeout does not
   * count: say a thread being replaced after a kill was still booting); null while it still waits. Runners that
   * cannot tell leave it out: the attempt counts as running from when it was sent.
   */
  queuedMs?(): number | null;
}

/** Attempts sent as one dispatch: each can be stopped alone; their replies come back together. */
export interface RunningBatch {
  readonly attempts: readonly RunningAttempt[];
  /** One reply per attempt, in order (`null`: handed back unstarted); rejects when the batch's thread died. */
  readonly replies: Promise<(WorkerReply | null)[]>;
}

/**
 * Where attempts run. The scheduler decides what starts and when (priority, sessions, resources, flow control);
 * a runner only runs what it is handed, says how much it can run at once, and (if it routes) whether a task can
 * start now and why not.
 */
export interface TaskRunner {
  /** Attempts it can run at once. */
  readonly capacity: number;
  start(req: AttemptRequest, hooks: AttemptHooks): RunningAttempt;
  /**
   * How many attempts of an action one batch may carry (1: it runs alone). Runners without batching leave this
   * and {@link startBatch} out.
   */
  batchLimit?(module: string, action: string): number;
  /** Sends attempts without channels as one dispatch, taking one slot of the capacity. */
  startBatch?(reqs: readonly AttemptRequest[]): RunningBatch;
  /**
   * Batches that make progress at once (the pool's threads): what waits is shared out among at most this many free
   * slots, since short actions gain nothing from sharing a thread (`concurrentTasksPerWorker` is for waiting ones).
   */
  readonly batchLanes?: number;
  /** Hears each reply (how long the action ran decides what is batched). */
  learn?(module: string, action: string, reply: WorkerReply): void;
  /**
   * A runner whose room changes by itself (remote workers join, leave, free a slot) or that routes tasks: false
   * when no attempt at all can start now, so the scheduler stops looking. Absent: room is `capacity` alone.
   */
  hasRoom?(): boolean;
  /**
   * Why this task cannot start now (no worker that serves its module and tags has a free slot), or null when it
   * can. A task it refuses waits parked until {@link onChange}; `explainTask` shows the reason.
   */
  place?(task: PlacementQuery): string | null;
  /** Calls `listener` when room may have appeared (a worker joined or freed a slot); returns the unsubscribe. */
  onChange?(listener: () => void): () => void;
}
