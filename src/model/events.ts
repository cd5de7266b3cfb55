/**
 * Every event the engine publishes and its payload: the event half of the bus protocol, shared by the components
 * that publish and the ones that listen (metrics, the journal, edges).
 */
import type { SerializedError } from '../errors.js';
import type { TaskPriority, TaskStatus } from './task.js';
import type { WorkflowRunStatus } from './workflow.js';

export interface TaskEventData {
  taskId: string;
  name: string;
  module: string;
  action: string;
  priority: TaskPriority;
  status: TaskStatus;
  attempt: number;
}

export interface StepEventData {
  workflowName: string;
  runId: string;
  step: string;
  module: string;
  action: string;
}

/** Payload of every event. */
export interface EventMap {
  task_added: TaskEventData & { dependencies: string[] };
  task_queued: TaskEventData;
  /**
   * `queuedMs`: how long the task waited in the ready queue before this attempt; `worker`: where the attempt runs
   * (a remote worker's name, or `local` for the engine's own threads; the one it was sent to, which is the one
   * that runs it unless that worker is lost).
   */
  task_started: TaskEventData & { queuedMs: number; worker: string };
  /** `worker`: the worker that ran the attempt that completed it. */
  task_completed: TaskEventData & { success: true; durationMs: number; worker: string };
  /** `worker`: the worker of its last attempt (null: it never started). */
  task_failed: TaskEventData & {
    success: false;
    error: SerializedError;
    durationMs: number | null;
    worker: string | null;
  };
  task_retrying: TaskEventData & { error: SerializedError; delayMs: number; retryAt: number; worker: string };
  task_timed_out: TaskEventData & {
    success: false;
    error: SerializedError;
    durationMs: number | null;
    worker: string | null;
  };
  task_cancelled: TaskEventData & {
    success: false;
    error: SerializedError;
    durationMs: number | null;
    worker: string | null;
  };
  task_skipped: TaskEventData & { success: false; error: SerializedError };
  task_progress: { taskId: string; name: string; attempt: number; value: unknown };
  task_log: { taskId: string; name: string; attempt: number; level: string; message: string };
  /**
   * A workflow run began (or resumed after a restart: `resumed`). Set only when they apply: a sub-workflow's parent
   * run and step, the schedule or trigger that started it, the W3C `traceparent` it was started in, and for a resumed
   * run the `traceparent` of its span before the restart (`resumedFrom`: the new span links to it).
   */
  workflow_started: {
    workflowName: string;
    runId: string;
    version: string;
    steps: number;
    sessionId: string | null;
    parentRunId?: string;
    parentStep?: string;
    scheduleName?: string;
    scheduledFor?: number;
    triggerName?: string;
    traceparent?: string;
    resumed?: boolean;
    resumedFrom?: string;
  };
  /** Every run that ends publishes this, with `success`; a run that did not succeed also publishes `workflow_failed`. */
  workflow_completed: {
    workflowName: string;
    runId: string;
    success: boolean;
    status: WorkflowRunStatus;
    durationMs: number;
  };
  workflow_failed: {
    workflowName: string;
    runId: string;
    success: false;
    status: WorkflowRunStatus;
    durationMs: number;
    failedSteps: string[];
  };
  /** `items`: a forEach step's item count (its items are tasks `<taskId>.<index>`, or child runs). */
  step_started: StepEventData & { taskId: string; attempt: number; items?: number };
  step_completed: StepEventData & { taskId: string; durationMs: number };
  step_failed: StepEventData & {
    taskId: string;
    status: 'failed' | 'timed_out' | 'cancelled';
    error: SerializedError;
    durationMs: number | null;
  };
  step_skipped: StepEventData & { reason: string };
  /** A step began waiting (or resumed waiting after a restart): for `signal` (null for a sleep), until `until` (epoch ms; null: no limit). */
  step_waiting: {
    workflowName: string;
    runId: string;
    step: string;
    taskId: string;
    signal: string | null;
    until: number | null;
  };
  /** A run was sent a signal: `delivered` when a waiting step took it, else it is kept for a step that waits later. */
  run_signaled: { workflowName: string; runId: string; signal: string; delivered: boolean };
  resource_allocated: { holderId: string; allocationId: string; resources: Record<string, Record<string, number>> };
  resource_released: { holderId: string; allocationId: string; resourceIds: string[]; reason: string };
  resource_expired: { holderId: string; allocationId: string; resourceIds: string[] };
  session_created: { sessionId: string; userId: string; mode: string };
  session_closed: { sessionId: string; userId: string; reason: string };
  /**
   * What a component restored from the store at start (one event per component that has state): `resumed` records
   * that had not ended, by status; `rerun` those that were running when the previous engine stopped and run again
   * (at-least-once, their attempt counted). `ids` lists at most 1000 of the resumed ones.
   */
  recovery: {
    component: string;
    store: string;
    resumed: number;
    byStatus: Record<string, number>;
    ids: string[];
    rerun: string[];
    /** What could not be restored, one sentence each (absent when nothing went wrong). */
    problems?: string[];
    /** Whether dispatching resumed by itself (it was on when the previous engine stopped). */
    executing: boolean;
    durationMs: number;
  };
  /** A commit failed (disk full, read-only folder, I/O error): new work is refused and dispatching pauses until a retry succeeds. */
  store_failed: { store: string; error: SerializedError };
  /** Commits succeed again after `downMs` of failures. */
  store_recovered: { store: string; downMs: number };
  project_created: { name: string; template: string; path: string; workflows: string[] };
  project_archived: { name: string; path: string; archivePath: string | null };
  milestone_completed: {
    project: string;
    milestone: string;
    completedAt: number;
    progress: number;
    byRun: string | null;
  };
  /** A workflow definition file could not be loaded at start (`badDefinitionFiles: "skip"`); the others were. */
  definition_skipped: { file: string; error: SerializedError };
  /** A schedule started a run: for a slot (`scheduledFor` is its time), a backfill, or `triggerSchedule` (`manual`). `lagMs`: start time minus slot time. */
  schedule_fired: {
    schedule: string;
    workflow: string;
    runId: string;
    scheduledFor: number;
    firedAt: number;
    lagMs: number;
    manual: boolean;
    backfill: boolean;
  };
  /** A slot did not run: its previous run was still going (`overlap`), or its run could not start (`failed`, with the error). */
  schedule_skipped: {
    schedule: string;
    workflow: string;
    scheduledFor: number;
    reason: 'overlap' | 'failed';
    activeRuns: string[];
    error?: SerializedError;
  };
  /** Slots older than the catch-up window were not run (after downtime): how many, the first and the last. */
  schedule_missed: { schedule: string; workflow: string; count: number; first: number; last: number };
  /** A trigger's message (NATS, JetStream or webhook) started a run. */
  trigger_fired: {
    trigger: string;
    workflow: string;
    runId: string;
    source: 'nats' | 'jetstream' | 'http';
    subject: string;
  };
  /** A trigger's message started nothing: not JSON, a bad signature, parameters that did not resolve, an unknown workflow. */
  trigger_rejected: { trigger: string; source: 'nats' | 'jetstream' | 'http'; subject: string; reason: string };
  engine_started: { engineId: string; threads: number };
  engine_stopping: { engineId: string; graceMs: number };
  engine_stopped: { engineId: string };
  handler_error: { event: string; error: SerializedError };
  /** A component could not finish part of an operation (closing a session's runs, restoring a resource); it went on. */
  component_error: { component: string; operation: string; error: SerializedError };
}

/** The name of a bus event (`task_completed`, `workflow_completed`, ...); on NATS, `<prefix>.evt.<name>`. */
export type EventName = keyof EventMap;

/** An event on the bus. `seq` increases by one per event of one bus. */
export type BusEvent = { [K in EventName]: { type: K; data: EventMap[K]; timestamp: number; seq: number } }[EventName];

/** The bus event of one type (every event for `EventName` itself). */
export type EventOf<K extends EventName> = Extract<BusEvent, { type: K }>;

/** A type guard for the events of `type` (every event when `type` is undefined). */
export function isEventOf<K extends EventName>(type: K | undefined): (e: BusEvent) => e is EventOf<K> {
  return (e): e is EventOf<K> => type === undefined || e.type === type;
}

/** What a bus counts (both buses). */
export interface BusStats {
  published: number;
  requests: number;
  replies: number;
  failures: number;
}
