/**
 * The one protocol of the bus: every command (request/reply, handled by exactly one component) and every event
 * (published to any number of subscribers), as typed maps. Commands are addressed `<component>.<verb>`, which the
 * NATS bus maps to `codomyrmex.cmd.<component>.<verb>`; events travel as `codomyrmex.evt.<event>`.
 * Payloads are plain JSON-able data: the same values cross the in-memory bus and the network.
 */
import type { SerializedError } from '../errors.js';
import type { TaskInput, TaskPriority, TaskResult, TaskSpec, TaskStatus } from '../model/task.js';
import type { RunContext, StoredWorkflow, WorkflowResult, WorkflowRun } from '../model/workflow.js';
import type { Allocation, ResourceInput, ResourceUsage } from '../actors/resources/ledger.js';
import type { Session, SessionOptions } from '../model/session.js';
import type { CreateProjectOptions, Milestone, MilestoneChanges, MilestoneInput, Project, ProjectChanges, ProjectCounts, ProjectStatus, ProjectStatusReport } from '../model/project.js';
import type { ProjectTemplate, TemplateSummary } from '../projects/template.js';

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

/** Request and reply of every command. */
export interface CommandMap {
  'task.add': { req: { tasks: TaskInput[] }; res: { ids: string[] } };
  'task.execute': { req: { task: TaskInput }; res: TaskResult };
  'task.start_execution': { req: Record<string, never>; res: StartExecutionReply };
  'task.cancel': { req: { taskId: string; reason?: string }; res: { taskId: string; cancelled: boolean; status: TaskStatus } };
  'task.get': { req: { taskId: string }; res: TaskView | null };
  'task.list': { req: { status?: TaskStatus | TaskStatus[]; limit?: number }; res: TaskView[] };
  'task.wait': { req: { taskId: string }; res: TaskResult };
  'task.stats': { req: Record<string, never>; res: SchedulerStats };
  'task.set_concurrency': { req: { maxConcurrency: number }; res: SchedulerStats };
  'workflow.create': { req: { definition: unknown; replace?: boolean; source?: string }; res: { workflow: StoredWorkflow; created: boolean; warnings: string[] } };
  'workflow.validate': { req: { definition: unknown }; res: { valid: boolean; errors: string[]; warnings: string[] } };
  'workflow.get': { req: { name: string; version?: string }; res: StoredWorkflow | null };
  'workflow.list': { req: Record<string, never>; res: WorkflowSummary[] };
  'workflow.delete': { req: { name: string }; res: { deleted: boolean } };
  'workflow.execute': { req: { name: string } & RunRequest; res: WorkflowResult };
  'workflow.start': { req: { name: string } & RunRequest; res: { runId: string } };
  'workflow.execute_complex': { req: { definition: unknown } & RunRequest; res: WorkflowResult };
  'workflow.get_run': { req: { runId: string }; res: WorkflowRun | null };
  'workflow.list_runs': { req: { workflowName?: string; status?: WorkflowRunStatus; limit?: number }; res: WorkflowRun[] };
  'workflow.wait_run': { req: { runId: string }; res: WorkflowResult };
  'workflow.cancel_run': { req: { runId: string; reason?: string }; res: { runId: string; cancelled: boolean; status: WorkflowRunStatus } };
  'workflow.performance': { req: { name?: string }; res: WorkflowPerformance[] };
  'workflow.configure_session': { req: { sessionId: string; maxParallelWorkflows: number }; res: { ok: true } };
  'workflow.close_session': { req: { sessionId: string; reason: string }; res: { cancelledRuns: number } };
  'task.open_lane': { req: { sessionId: string; mode: SessionMode; maxParallelTasks: number }; res: { ok: true } };
  'task.close_lane': { req: { sessionId: string; reason: string }; res: { cancelledTasks: number } };
  'task.explain': { req: { taskId: string }; res: TaskExplanation };
  'resource.add': { req: { resource: ResourceInput }; res: ResourceUsage };
  'resource.remove': { req: { id: string }; res: { removed: boolean } };
  'resource.list': { req: Record<string, never>; res: ResourceUsage[] };
  'resource.allocate': { req: { holderId: string; requirements: unknown; ttlSeconds?: number; waitSeconds?: number }; res: Allocation };
  'resource.deallocate': { req: { holderId: string }; res: { holderId: string; released: number; message: string } };
  'resource.allocations': { req: { holderId?: string }; res: Allocation[] };
  'session.create': { req: SessionOptions; res: Session };
  'session.get': { req: { sessionId: string }; res: Session | null };
  'session.list': { req: { status?: 'active' | 'closed' }; res: Session[] };
  'session.close': { req: { sessionId: string; reason?: string }; res: Session };
  'project.templates': { req: Record<string, never>; res: TemplateSummary[] };
  'project.template': { req: { name: string }; res: ProjectTemplate };
  'project.create': { req: CreateProjectOptions; res: Project };
  'project.get': { req: { name: string }; res: Project | null };
  'project.list': { req: { status?: ProjectStatus; tag?: string }; res: Project[] };
  'project.status': { req: { name: string }; res: ProjectStatusReport };
  'project.update': { req: { name: string; changes: ProjectChanges }; res: Project };
  'project.archive': { req: { name: string; tarball?: boolean | string }; res: Project };
  'project.delete': { req: { name: string; removeFiles?: boolean }; res: { deleted: boolean; removedFiles: boolean } };
  'project.add_milestone': { req: { name: string; milestone: MilestoneInput }; res: Milestone };
  'project.update_milestone': { req: { name: string; milestone: string; changes: MilestoneChanges }; res: Milestone };
  'project.complete_milestone': { req: { name: string; milestone: string }; res: Milestone };
  'project.get_config': { req: { name: string; key?: string }; res: { value: unknown } };
  'project.set_config': { req: { name: string; key: string; value: unknown }; res: { config: Record<string, unknown> } };
  'project.run_workflow': { req: { name: string; workflow: string } & Omit<RunRequest, 'workingDir' | 'project' | 'version'>; res: WorkflowResult };
  'project.stats': { req: Record<string, never>; res: ProjectCounts };
}

export type SessionMode = 'sequential' | 'parallel' | 'priority' | 'resource_aware';

/** Why a task is where it is (`engine.explainTask`). */
export interface TaskExplanation {
  taskId: string;
  status: TaskStatus;
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
    | { kind: 'backoff'; until: number; attempt: number }
    | null;
}

/** A workflow as listed. */
export interface WorkflowSummary {
  name: string;
  description: string;
  version: string;
  versions: string[];
  hash: string;
  steps: number;
  source: string | null;
  createdAt: number;
}

export interface WorkflowPerformance {
  workflowName: string;
  runs: number;
  successes: number;
  failures: number;
  cancelled: number;
  successRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
  lastRun: { runId: string; status: WorkflowRunStatus; endedAt: number; durationMs: number } | null;
}

/** What `execute` and `start` of a workflow take besides its name (`workingDir`, `project`: see {@link RunContext}). */
export interface RunRequest extends RunContext {
  params?: Record<string, unknown> | undefined;
  sessionId?: string | undefined;
  version?: string | undefined;
}

export interface SchedulerStats {
  executing: boolean;
  running: number;
  limit: number;
  queued: number;
  queuedByPriority: Record<TaskPriority, number>;
  byStatus: Partial<Record<TaskStatus, number>>;
  oldestReadyAgeMs: number | null;
}

export type CommandType = keyof CommandMap;
export type CommandPayload<K extends CommandType> = CommandMap[K]['req'];
export type CommandReply<K extends CommandType> = CommandMap[K]['res'];

/** A command on the wire. */
export type Command = { [K in CommandType]: { id: number; type: K; payload: CommandPayload<K> } }[CommandType];

/** A reply on the wire. */
export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

/** The component a command is for: the part of its type before the dot. */
export function componentOf(type: CommandType): string {
  return type.slice(0, type.indexOf('.'));
}

interface TaskEventData {
  taskId: string;
  name: string;
  module: string;
  action: string;
  priority: TaskPriority;
  status: TaskStatus;
  attempt: number;
}

/** How a workflow run ends (or `running`). */
export type WorkflowRunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

interface StepEventData {
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
  /** `queuedMs`: how long the task waited in the ready queue before this attempt. */
  task_started: TaskEventData & { queuedMs: number };
  task_completed: TaskEventData & { success: true; durationMs: number };
  task_failed: TaskEventData & { success: false; error: SerializedError; durationMs: number | null };
  task_retrying: TaskEventData & { error: SerializedError; delayMs: number; retryAt: number };
  task_timed_out: TaskEventData & { success: false; error: SerializedError; durationMs: number | null };
  task_cancelled: TaskEventData & { success: false; error: SerializedError; durationMs: number | null };
  task_skipped: TaskEventData & { success: false; error: SerializedError };
  task_progress: { taskId: string; name: string; attempt: number; value: unknown };
  task_log: { taskId: string; name: string; attempt: number; level: string; message: string };
  /** A workflow run began. */
  workflow_started: { workflowName: string; runId: string; version: string; steps: number; sessionId: string | null };
  /** Every run that ends publishes this, with `success`; a run that did not succeed also publishes `workflow_failed`. */
  workflow_completed: { workflowName: string; runId: string; success: boolean; status: WorkflowRunStatus; durationMs: number };
  workflow_failed: { workflowName: string; runId: string; success: false; status: WorkflowRunStatus; durationMs: number; failedSteps: string[] };
  step_started: StepEventData & { taskId: string; attempt: number };
  step_completed: StepEventData & { taskId: string; durationMs: number };
  step_failed: StepEventData & { taskId: string; status: 'failed' | 'timed_out' | 'cancelled'; error: SerializedError; durationMs: number | null };
  step_skipped: StepEventData & { reason: string };
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
  milestone_completed: { project: string; milestone: string; completedAt: number; progress: number; byRun: string | null };
  engine_started: { engineId: string; threads: number };
  engine_stopping: { engineId: string; graceMs: number };
  engine_stopped: { engineId: string };
  handler_error: { event: string; error: SerializedError };
}

export type EventName = keyof EventMap;

/** An event on the bus. `seq` increases by one per event of one bus. */
export type BusEvent = { [K in EventName]: { type: K; data: EventMap[K]; timestamp: number; seq: number } }[EventName];
