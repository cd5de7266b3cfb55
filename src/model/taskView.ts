/**
 * How the task orchestrator shows tasks and itself: the shapes its replies carry across the bus.
 */
import type { TaskPriority, TaskResult, TaskSpec, TaskStatus } from './task.js';

/** A task as the orchestrator shows it. */
export interface TaskView {
  id: string;
  name: string;
  module: string;
  action: string;
  priority: TaskPriority;
  status: TaskStatus;
  attempts: number;
  dependencies: string[];
  spec: TaskSpec;
  result: TaskResult;
  /** When a retrying task runs again (epoch ms). */
  retryAt: number | null;
}

/** What `startExecution` resolves with once every open task has ended: counts by status and each result, in the order of addition. */
export interface StartExecutionReply {
  total: number;
  byStatus: Partial<Record<TaskStatus, number>>;
  results: TaskResult[];
}

/** What batched dispatch did since the engine started (see `TaskRunner.startBatch`). */
export interface BatchCounts {
  /** Batches sent to threads. */
  batches: number;
  /** Attempts sent in them. */
  tasks: number;
  /** Attempts a batch handed back unstarted (its time budget was spent): they queued again, uncounted. */
  handedBack: number;
  /** Attempts whose batch lost its thread to a batch-mate (crash or termination): queued again, to run alone. */
  threadLost: number;
}

/** The task scheduler at a glance: what runs, what is queued (by priority), what waits on flow control. */
export interface SchedulerStats {
  executing: boolean;
  /** Attempts dispatched and not yet answered (a batch's tasks all count). */
  running: number;
  /** Dispatches in flight: an attempt alone or a batch; `limit` bounds these. */
  dispatches: number;
  limit: number;
  batching: BatchCounts;
  queued: number;
  queuedByPriority: Record<TaskPriority, number>;
  byStatus: Partial<Record<TaskStatus, number>>;
  oldestReadyAgeMs: number | null;
  /** Flow control: tasks waiting by concurrency rule, waits by rate limit, deduplicated submissions. */
  flow: { waitingByRule: Record<string, number>; rateLimitWaits: Record<string, number>; deduplicated: number };
}

/** Why flow control holds a ready task back: a concurrency key at its limit, or a named rate limit out of units. */
export type FlowBlock =
  /** A concurrency key at its limit: the key, its rule (as written), its holders' task ids (up to 20). */
  | {
      kind: 'concurrency_key';
      key: string;
      rule: string;
      limit: number;
      running: number;
      holders: string[];
      waiting: number;
    }
  /** A named rate limit without the task's units: when they are there (`until`, epoch ms), the bucket's level. */
  | {
      kind: 'rate_limit';
      name: string;
      key: string;
      units: number;
      until: number | null;
      spent: number;
      limit: number;
      per: string;
    };

/** Why a task is where it is (`engine.explainTask`). */
export interface TaskExplanation {
  taskId: string;
  /** A task's status, or `waiting` for a workflow step waiting on a signal or a time (it has no task). */
  status: TaskStatus | 'waiting';
  /** One sentence a person can act on. */
  summary: string;
  /** What it waits for, when it waits. */
  waitingOn:
    | { kind: 'dependencies'; pending: { taskId: string; name: string; status: TaskStatus }[] }
    | { kind: 'resources'; resource: string; reason: string }
    | { kind: 'session_limit'; sessionId: string; running: number; limit: number }
    | { kind: 'concurrency'; running: number; limit: number }
    | { kind: 'queue'; position: number; ahead: number }
    | { kind: 'paused' }
    /** No worker that can run it is connected, or every one that can is busy (remote workers). */
    | { kind: 'worker'; reason: string }
    | { kind: 'backoff'; until: number; attempt: number }
    | FlowBlock
    /** A workflow step waiting for a signal (`until`: its timeout, or null). */
    | { kind: 'signal'; signal: string; until: number | null; since: number }
    /** A workflow step sleeping until a time. */
    | { kind: 'timer'; until: number | null; since: number }
    | null;
}

/**
 * Told of task starts, retries and ends directly by the scheduler, with plain values: how metrics follow tasks
 * without an event object and a bus dispatch per transition on the hot path.
 */
export interface TaskObserver {
  started(module: string, action: string, priority: TaskPriority, queuedMs: number): void;
  retrying(module: string, action: string, code: string): void;
  /** `taskId` names the task (its trace, when traced, becomes the duration's exemplar). */
  ended(
    module: string,
    action: string,
    status: TaskStatus,
    errorCode: string | null,
    durationMs: number | null,
    taskId: string,
  ): void;
}

/** A concurrency key as `explainTask` and the status views show it. */
export interface KeyLevel {
  key: string;
  /** The rule it came from (the key as written, e.g. `{{params.tenant}}`). */
  rule: string;
  limit: number;
  running: number;
  /** Task ids holding it (up to 20). */
  holders: string[];
  waiting: number;
}

/** A rate limit as created and stored. */
export interface RateLimitDef {
  name: string;
  limit: number;
  /** The window as given (`"1m"`). */
  per: string;
  perMs: number;
}

/** A rate-limit bucket's level: units spent in the window ending now, and tasks waiting for units. */
export interface BucketLevel {
  key: string;
  spent: number;
  waiting: number;
  /** When the oldest spend leaves the window (epoch ms), null when nothing is spent. */
  nextFreeAt: number | null;
}

/** A rate limit with its shared bucket's level and its busiest per-key buckets. */
export interface RateLimitView extends RateLimitDef {
  /** The shared bucket (tasks that give no key). */
  level: BucketLevel;
  /** Per-key buckets with the most spent or waiting, busiest first (at most 10). */
  busiest: BucketLevel[];
  /** Per-key buckets in use. */
  keys: number;
}

/** Flow control at a glance (`getSystemStatus().flow`). */
export interface FlowStatus {
  /** Concurrency keys with the most running and waiting, busiest first. */
  busiestKeys: KeyLevel[];
  /** Keys held or waited for now. */
  keys: number;
  /** Tasks waiting for a key they are not queued under or for rate-limit units. */
  waiting: number;
  rateLimits: RateLimitView[];
  /** Submissions answered with an earlier task's id (their idempotency key was taken). */
  deduplicated: number;
}
