/**
 * The scheduler's per-task record, and what is derived from it: the result, the view, and the event a state
 * change publishes.
 */
import type { MessageBus } from '../../bus/bus.js';
import type { EventMap, TaskView } from '../../bus/protocol.js';
import { CodomyrmexError, ErrorCode } from '../../errors.js';
import type { TaskPriority, TaskResult, TaskSpec, TaskStatus } from '../../model/task.js';
import { isTerminal } from '../../model/task.js';
import type { StoredTask } from '../../store/store.js';
import type { Clock } from '../../model/clock.js';
import type { Held } from '../../model/resource.js';
import type { Lane } from './lanes.js';
import type { FlowTicket } from './admission/ticket.js';
import { LOCAL_WORKER } from '../../workers/runner.js';
import type { TaskObserver } from '../../model/taskView.js';
import { RecordFields } from './recordFields.js';

export type { TaskObserver };

/**
 * Where a ready task waits: for its first commit, in its lane's queue, for resources, for a concurrency key it is
 * not queued under, or for rate-limit units.
 */
export type ReadyPlace = 'gated' | 'queued' | 'parked' | 'keyed' | 'throttled';

export type Waiter = [resolve: (r: TaskResult) => void, reject: (e: Error) => void];

/** Reports a record's transition to an observer (running, retrying and terminal states; the clock read for running only). */
export function observe(observer: TaskObserver, rec: TaskRecord, clock: Clock): void {
  const s = rec.spec;
  switch (rec.status) {
    case 'running':
      observer.started(s.module, s.action, s.priority, clock.now() - rec.readyAt);
      return;
    case 'retrying':
      observer.retrying(s.module, s.action, rec.error?.code ?? ErrorCode.INTERNAL);
      return;
    case 'completed':
    case 'failed':
    case 'timed_out':
    case 'cancelled':
    case 'skipped': {
      const durationMs =
        rec.status === 'skipped'
          ? null
          : rec.startedAt !== null && rec.endedAt !== null
            ? rec.endedAt - rec.startedAt
            : null;
      observer.ended(
        s.module,
        s.action,
        rec.status,
        rec.status === 'completed' ? null : (rec.error?.code ?? ErrorCode.INTERNAL),
        durationMs,
        s.id,
      );
      return;
    }
    default:
  }
}

/** Stops a task's timer (its attempt's timeout or its backoff). */
export function clearTimer(rec: TaskRecord, clock: Clock): void {
  clock.clearTimeout(rec.timer);
  rec.timer = null;
}

/**
 * A task as the scheduler holds it: the spec plus where it is in its lifecycle. A queued task holds only what
 * queueing reads (spec, status, lane, order, where, waiters, and readyAt); the fields it gathers later (attempts,
 * timers, output, error, holds, ...) are in {@link RecordFields}, made only when first written.
 */
export class TaskRecord extends RecordFields {
  status: TaskStatus = 'pending';
  /**
   * Who is told when it ends. Read-only once set: replaced, never pushed to, since one list may be shared by many
   * records (`startExecution` gives every open task the same one-waiter list).
   */
  waiters: readonly Waiter[] | null = null;
  /** Where it waits while ready: gated (for its first commit), queued, or parked (for resources); null otherwise. */
  where: ReadyPlace | null = null;
  constructor(
    readonly spec: TaskSpec,
    usesChannel: boolean,
    /** The lane (session) it runs in. */
    public lane: Lane<TaskRecord>,
    /** Order of addition. */
    readonly order: number,
    /** Its resources in base units, checked when it was added (null: none). */
    held: Held[] | null,
    /** Its concurrency keys and rate-limit use, resolved (null: none). */
    flow: FlowTicket | null = null,
  ) {
    super(usesChannel, held, flow);
  }

  get id(): string {
    return this.spec.id;
  }
  get priority(): TaskPriority {
    return this.spec.priority;
  }
  get maxRetries(): number {
    return this.spec.maxRetries;
  }
  /** In its lane's queue (entries that left another way are skipped by the queue). */
  get live(): boolean {
    return this.where === 'queued';
  }
  /** Waiting for a concurrency key (see `admission/keys.ts`). */
  get waitingForKey(): boolean {
    return this.where === 'keyed';
  }
  /** Waiting for rate-limit units (see `admission/rateLimits.ts`). */
  get waitingForRate(): boolean {
    return this.where === 'throttled';
  }
  /** The rate-limit units it spends per attempt. */
  get units(): number {
    return this.flow?.rate?.units ?? 1;
  }
}

/** What an event carries when a record has no error where one is expected (never on purpose). */
const UNKNOWN_ERROR = new CodomyrmexError('no error was recorded', ErrorCode.UNKNOWN).toJSON();

export const EVENT_OF: Record<TaskStatus, keyof EventMap> = {
  pending: 'task_added',
  ready: 'task_queued',
  running: 'task_started',
  retrying: 'task_retrying',
  completed: 'task_completed',
  failed: 'task_failed',
  timed_out: 'task_timed_out',
  cancelled: 'task_cancelled',
  skipped: 'task_skipped',
};

export function toResult(rec: TaskRecord): TaskResult {
  const status = rec.status;
  const startedAt = rec.startedAt;
  const endedAt = rec.endedAt;
  const result: TaskResult = {
    taskId: rec.spec.id,
    name: rec.spec.name,
    status,
    success: status === 'completed',
    result: status === 'completed' ? rec.output : null,
    error: isTerminal(status) ? rec.error : null,
    attempts: rec.attempts,
    startedAt,
    endedAt,
    durationMs: startedAt !== null && endedAt !== null ? endedAt - startedAt : null,
  };
  // Added only when set (no spread of a temporary object per result).
  const artifacts = rec.artifacts;
  if (artifacts !== null && status === 'completed') result.artifacts = artifacts;
  const worker = rec.worker;
  if (worker !== null) result.worker = worker;
  return result;
}

export function announce(bus: MessageBus, rec: TaskRecord, clock: Clock): void {
  const type = EVENT_OF[rec.status];
  if (!bus.wants(type)) return;
  const s = rec.spec;
  const base = {
    taskId: s.id,
    name: s.name,
    module: s.module,
    action: s.action,
    priority: s.priority,
    status: rec.status,
    attempt: rec.attempts,
  };
  const worker = rec.worker ?? LOCAL_WORKER;
  const durationMs = rec.startedAt !== null && rec.endedAt !== null ? rec.endedAt - rec.startedAt : null;
  const error = rec.error ?? UNKNOWN_ERROR;
  switch (rec.status) {
    case 'pending':
      bus.publish('task_added', { ...base, dependencies: s.dependencies });
      return;
    case 'ready':
      bus.publish('task_queued', base);
      return;
    case 'running':
      bus.publish('task_started', { ...base, queuedMs: clock.now() - rec.readyAt, worker });
      return;
    case 'retrying':
      bus.publish('task_retrying', { ...base, error, delayMs: rec.lastDelayMs, retryAt: rec.retryAt ?? 0, worker });
      return;
    case 'completed':
      bus.publish('task_completed', { ...base, success: true, durationMs: durationMs ?? 0, worker });
      return;
    case 'skipped':
      bus.publish('task_skipped', { ...base, success: false, error });
      return;
    case 'failed':
    case 'timed_out':
    case 'cancelled':
      bus.publish(type as 'task_failed', { ...base, success: false, error, durationMs, worker: rec.worker });
      return;
  }
}

/** A task as the orchestrator shows it, from its spec and where it is. */
function view(s: TaskSpec, status: TaskStatus, result: TaskResult, retryAt: number | null): TaskView {
  return {
    id: s.id,
    name: s.name,
    module: s.module,
    action: s.action,
    priority: s.priority,
    status,
    attempts: result.attempts,
    dependencies: s.dependencies,
    spec: s,
    result,
    retryAt,
  };
}

export function recordView(rec: TaskRecord): TaskView {
  return view(rec.spec, rec.status, toResult(rec), rec.retryAt);
}

/** A task read back from the store (no longer held in memory). */
export function storedView(t: StoredTask): TaskView {
  return view(t.spec, t.status, t.result, null);
}
