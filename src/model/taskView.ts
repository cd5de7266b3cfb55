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
}

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
  ended(module: string, action: string, status: TaskStatus, errorCode: string | null, durationMs: number | null): void;
}
