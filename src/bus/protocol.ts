/**
 * The one protocol of the bus: every command (request/reply, handled by exactly one component) and every event
 * (published to any number of subscribers), as typed maps. Commands are addressed `<component>.<verb>`, which the
 * NATS bus maps to `codomyrmex.cmd.<component>.<verb>`; events travel as `codomyrmex.evt.<event>`.
 * Payloads are plain JSON-able data: the same values cross the in-memory bus and the network.
 */
import type { TaskInput, TaskResult, TaskStatus } from '../model/task.js';
import type {
  FlowStatus,
  RateLimitView,
  SchedulerStats,
  StartExecutionReply,
  TaskExplanation,
  TaskView,
} from '../model/taskView.js';
import type {
  StoredWorkflow,
  WorkflowPerformance,
  WorkflowResult,
  WorkflowRunStatus,
  WorkflowSummary,
} from '../model/workflow.js';
import type { RunRequest, WorkflowRun } from '../model/run.js';
import type { Allocation, ResourceInput, ResourceUsage } from '../model/resource.js';
import type { Session, SessionMode, SessionOptions } from '../model/session.js';
import type {
  CreateProjectOptions,
  Milestone,
  MilestoneChanges,
  MilestoneInput,
  Project,
  ProjectChanges,
  ProjectCounts,
  ProjectStatus,
  ProjectStatusReport,
} from '../model/project.js';
import type { ProjectTemplate, TemplateSummary } from '../projects/template.js';
import type { ActionDescription } from '../modules/registry.js';
import type { EngineHealth, SystemStatus } from '../model/status.js';
import type { ArtifactChunk, ArtifactWrite, ArtifactWritten } from '../model/artifacts.js';
import type {
  BackfillInput,
  BackfillReply,
  ScheduleInput,
  ScheduleView,
  TriggerInput,
  TriggerView,
} from '../model/schedule.js';

export type { EngineHealth, SystemStatus } from '../model/status.js';

export type { BusEvent, EventMap, EventName } from '../model/events.js';
export type {
  FlowStatus,
  RateLimitView,
  SchedulerStats,
  StartExecutionReply,
  TaskExplanation,
  TaskView,
} from '../model/taskView.js';
export type { SessionMode } from '../model/session.js';
export type { WorkflowPerformance, WorkflowRunStatus, WorkflowSummary } from '../model/workflow.js';
export type { RunRequest } from '../model/run.js';

/** Request and reply of every command. */
export interface CommandMap {
  'task.add': { req: { tasks: TaskInput[] }; res: { ids: string[] } };
  'task.execute': { req: { task: TaskInput }; res: TaskResult };
  'task.start_execution': { req: Record<string, never>; res: StartExecutionReply };
  'task.cancel': {
    req: { taskId: string; reason?: string };
    res: { taskId: string; cancelled: boolean; status: TaskStatus };
  };
  'task.get': { req: { taskId: string }; res: TaskView | null };
  /** Tasks oldest first (newest first with `newest`), a page of `limit` after `offset`; read from the store when it is durable. */
  'task.list': {
    req: { status?: TaskStatus | TaskStatus[]; limit?: number; offset?: number; newest?: boolean };
    res: TaskView[];
  };
  'task.wait': { req: { taskId: string }; res: TaskResult };
  /** Adds one task and answers with its id at once (over the network: its end arrives as an event or via `task.wait_for`). */
  'task.submit': { req: { task: TaskInput }; res: { taskId: string } };
  /** Waits at most `timeoutMs` for a task's end: `{ done: false }` when the time runs out (ask again), else its result. */
  'task.wait_for': { req: { taskId: string; timeoutMs: number }; res: WaitOutcome<TaskResult> };
  'task.stats': { req: Record<string, never>; res: SchedulerStats };
  'task.set_concurrency': { req: { maxConcurrency: number }; res: SchedulerStats };
  'workflow.create': {
    req: { definition: unknown; replace?: boolean; source?: string };
    res: { workflow: StoredWorkflow; created: boolean; warnings: string[] };
  };
  'workflow.validate': { req: { definition: unknown }; res: { valid: boolean; errors: string[]; warnings: string[] } };
  'workflow.get': { req: { name: string; version?: string }; res: StoredWorkflow | null };
  'workflow.list': { req: Record<string, never>; res: WorkflowSummary[] };
  'workflow.delete': { req: { name: string }; res: { deleted: boolean } };
  'workflow.execute': { req: { name: string } & RunRequest; res: WorkflowResult };
  /** `existing: true` when `runId` named a run that exists: nothing was started. */
  'workflow.start': { req: { name: string } & RunRequest; res: { runId: string; existing?: boolean } };
  'workflow.execute_complex': { req: { definition: unknown } & RunRequest; res: WorkflowResult };
  /** Starts an ad hoc (complex) workflow and answers with its run id; follow it with `workflow.wait_for`. */
  'workflow.start_complex': { req: { definition: unknown } & RunRequest; res: { runId: string } };
  'workflow.get_run': { req: { runId: string }; res: WorkflowRun | null };
  /** Runs newest first; `after` (a run id) pages on from the previous page's last run; `from`/`to` bound the start time (epoch ms). */
  'workflow.list_runs': { req: RunListFilter; res: WorkflowRun[] };
  'workflow.wait_run': { req: { runId: string }; res: WorkflowResult };
  /** Waits at most `timeoutMs` for a run's end: `{ done: false }` when the time runs out (ask again), else its result. */
  'workflow.wait_for': { req: { runId: string; timeoutMs: number }; res: WaitOutcome<WorkflowResult> };
  'workflow.cancel_run': {
    req: { runId: string; reason?: string };
    res: { runId: string; cancelled: boolean; status: WorkflowRunStatus };
  };
  /** Sends a signal to a running run (`signalRun`): taken by the steps waiting for it, or kept for one that waits later. */
  'workflow.signal': {
    req: { runId: string; signal: string; payload?: unknown };
    res: { runId: string; signal: string; delivered: boolean };
  };
  /** Starts a re-run of an ended run (`retryRun`), reusing the outputs of steps it need not run again; follow it with `workflow.wait_for`. */
  'workflow.retry': { req: { runId: string; fromStep?: string }; res: { runId: string } };
  /** What a workflow step that has no task waits for (a signal, a time): `explainTask`'s answer for it, or null. */
  'workflow.explain_step': { req: { taskId: string }; res: TaskExplanation | null };
  'workflow.performance': { req: { name?: string }; res: WorkflowPerformance[] };
  'workflow.configure_session': { req: { sessionId: string; maxParallelWorkflows: number }; res: { ok: true } };
  'workflow.close_session': { req: { sessionId: string; reason: string }; res: { cancelledRuns: number } };
  'task.open_lane': { req: { sessionId: string; mode: SessionMode; maxParallelTasks: number }; res: { ok: true } };
  'task.close_lane': { req: { sessionId: string; reason: string }; res: { cancelledTasks: number } };
  'task.explain': { req: { taskId: string }; res: TaskExplanation };
  /** Creates (or replaces) a named rate limit: never more than `limit` units in any window of length `per`. */
  'ratelimit.create': { req: { name: string; limit: number; per: string | number }; res: RateLimitView };
  'ratelimit.list': { req: Record<string, never>; res: RateLimitView[] };
  'ratelimit.delete': { req: { name: string }; res: { name: string; deleted: boolean } };
  /** Flow control at a glance: busiest concurrency keys, waiting tasks, rate limits, deduplicated submissions. */
  'task.flow_status': { req: { top?: number }; res: FlowStatus };
  'resource.add': { req: { resource: ResourceInput }; res: ResourceUsage };
  'resource.remove': { req: { id: string }; res: { removed: boolean } };
  'resource.list': { req: Record<string, never>; res: ResourceUsage[] };
  'resource.allocate': {
    req: { holderId: string; requirements: unknown; ttlSeconds?: number; waitSeconds?: number };
    res: Allocation;
  };
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
  'project.set_config': {
    req: { name: string; key: string; value: unknown };
    res: { config: Record<string, unknown> };
  };
  'project.run_workflow': {
    req: { name: string; workflow: string } & Omit<RunRequest, 'workingDir' | 'project' | 'version'>;
    res: WorkflowResult;
  };
  'project.start_workflow': {
    req: { name: string; workflow: string } & Omit<RunRequest, 'workingDir' | 'project' | 'version'>;
    res: { runId: string };
  };
  'project.stats': { req: Record<string, never>; res: ProjectCounts };
  'schedule.create': { req: ScheduleInput; res: ScheduleView };
  'schedule.list': { req: Record<string, never>; res: ScheduleView[] };
  'schedule.get': { req: { name: string }; res: ScheduleView | null };
  'schedule.pause': { req: { name: string }; res: ScheduleView };
  'schedule.resume': { req: { name: string }; res: ScheduleView };
  'schedule.delete': { req: { name: string }; res: { deleted: boolean } };
  /** One run now, outside the slots. */
  'schedule.trigger': { req: { name: string }; res: { runId: string } };
  'schedule.backfill': { req: { name: string } & BackfillInput; res: BackfillReply };
  'trigger.create': { req: TriggerInput; res: TriggerView };
  'trigger.list': { req: Record<string, never>; res: TriggerView[] };
  'trigger.delete': { req: { name: string }; res: { deleted: boolean } };
  'trigger.pause': { req: { name: string }; res: TriggerView };
  'trigger.resume': { req: { name: string }; res: TriggerView };
  /** A webhook POST as the HTTP edge received it (the raw body, the `X-Codomyrmex-Signature` header). */
  'trigger.http': { req: { path: string; body: string; signature?: string }; res: WebhookReply };
  /** The engine's `getSystemStatus()` (served by the engine itself). */
  'engine.status': { req: Record<string, never>; res: SystemStatus };
  /** The engine's `healthCheck()` (served by the engine itself). */
  'engine.health': { req: Record<string, never>; res: EngineHealth };
  /** Every module.action the engine can run, with its parameters as JSON Schema (`modules list`, `list_modules`). */
  'engine.modules': { req: { module?: string }; res: ActionDescription[] };
  /**
   * A chunk (at most 512 KiB, base64) of artifact `name` of step `step` of a run, from `offset`: read on until `eof`
   * (`run artifacts --get`, the console's download). Only artifacts the run recorded can be read.
   */
  'engine.read_artifact': {
    req: { runId: string; step: string; name: string; offset?: number; length?: number };
    res: ArtifactChunk;
  };
  /**
   * A chunk (at most 512 KiB, base64) of a file uploaded as an input of a run not started yet (`workflow run
   * --upload`): send a file's chunks in order from offset 0; the last answers the stored ref to name in `inputs`.
   */
  'engine.write_artifact': { req: ArtifactWrite; res: ArtifactWritten };
}

/** Which runs `workflow.list_runs` lists. */
export interface RunListFilter {
  workflowName?: string;
  status?: WorkflowRunStatus;
  limit?: number;
  /** The last run id of the previous page: list the runs started before it. */
  after?: string;
  /** Runs started at or after this time (epoch ms). */
  from?: number;
  /** Runs started before this time (epoch ms). */
  to?: number;
  /** Runs started by this schedule. */
  schedule?: string;
  /** Runs started by this trigger. */
  trigger?: string;
}

/** What a webhook POST did: 202 with the run id, or why not (the HTTP edge maps `reason` to a status). */
export type WebhookReply =
  | { accepted: true; runId: string }
  | { accepted: false; reason: 'unauthorized' | 'not_found' | 'bad_request' | 'paused'; message: string };

/** The answer of a bounded wait: not ended within the time given, or ended with its result. */
export type WaitOutcome<T> = { done: false } | { done: true; result: T };

/** A command's name, `<component>.<verb>` (`workflow.start`); on NATS, `<prefix>.cmd.<component>.<verb>`. */
export type CommandType = keyof CommandMap;
export type CommandPayload<K extends CommandType> = CommandMap[K]['req'];
export type CommandReply<K extends CommandType> = CommandMap[K]['res'];

type ComponentOf<K> = K extends `${infer C}.${string}` ? C : never;
/** A component that serves commands: the part of a command type before the dot (`task`, `workflow`, `engine`). */
export type Component = ComponentOf<CommandType>;
/** The commands of one component (`CommandOf<'session'>` is `'session.create' | 'session.get' | ...`). */
export type CommandOf<C extends Component> = Extract<CommandType, `${C}.${string}`>;

/** The component a command is for: the part of its type before the dot. */
export function componentOf<K extends CommandType>(type: K): ComponentOf<K>;
export function componentOf(type: CommandType): Component;
export function componentOf(type: string): string {
  return type.slice(0, type.indexOf('.'));
}
