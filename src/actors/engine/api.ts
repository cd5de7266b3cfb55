/**
 * The engine's library API, as the seed names it: the component views (`getTaskOrchestrator()`, ...), sessions,
 * workflow runs, schedules and triggers, rate limits, projects, artifacts, and the engine's health, status and
 * metrics views. Each call is a thin request over the
 * bus or a facade; {@link OrchestrationEngine} (engine.ts) provides the runtime they run on.
 */
import type { MessageBus } from '../../bus/bus.js';
import type { EventName, RateLimitView, RunRequest, TaskExplanation } from '../../bus/protocol.js';
import type { ArtifactChunk, ArtifactWrite, ArtifactWritten } from '../../model/artifacts.js';
import type {
  BackfillInput,
  BackfillReply,
  ScheduleInput,
  ScheduleView,
  TriggerInput,
  TriggerView,
} from '../../model/schedule.js';
import type { Session, SessionOptions } from '../../model/session.js';
import type { WorkflowResult } from '../../model/workflow.js';
import type { ActionDescription, ModuleRegistry } from '../../modules/registry.js';
import type { ProjectManagerClient } from '../projects/client.js';
import type { ResourceManagerClient } from '../resources/client.js';
import type { TaskOrchestratorClient } from '../tasks/client.js';
import type { WorkflowManagerClient } from '../workflows/client.js';
import { explainTaskOrStep } from '../workflows/client.js';
import type { ArtifactCommands } from './artifacts.js';
import type { EventHandler } from './eventHandlers.js';
import { subscribeHandler } from './eventHandlers.js';
import type { HealthReport } from './health.js';
import type { ComponentView, EngineViews, HttpHandlers, SystemStatus } from './views.js';
import type { EngineMetricsView, PerformanceFilter, PerformanceSummary } from './metricViews.js';

/** The seed's calls over the facades and the bus; the runtime (engine.ts) provides what is abstract here. */
export abstract class EngineApi {
  /** The engine's message bus. */
  abstract readonly bus: MessageBus;
  /** The seed's `getTaskOrchestrator()` view of this engine. */
  abstract readonly tasks: TaskOrchestratorClient;
  /** The seed's `getWorkflowManager()` view of this engine. */
  abstract readonly workflows: WorkflowManagerClient;
  /** The seed's `getResourceManager()` view of this engine. */
  abstract readonly resources: ResourceManagerClient;
  /** The seed's `getProjectManager()` view of this engine. */
  abstract readonly projects: ProjectManagerClient;
  /** The action modules this engine knows. */
  abstract readonly registry: ModuleRegistry;

  /**
   * Null once the engine has started; before, a promise that resolves when it has (or rejects if it could not
   * start). Callers await it only when it is there: a started engine's calls go on in the same turn.
   * @internal
   */
  protected abstract whenReady(): Promise<void> | null;

  /**
   * The bus as the library's clients use it (it stamps the active trace context on what they start).
   * @internal
   */
  protected abstract clientBus(): MessageBus;

  /**
   * The engine's views (health, status, metrics).
   * @internal
   */
  protected abstract views(): EngineViews;

  /**
   * Resolves once the engine has finished starting, whichever way (it never rejects).
   * @internal
   */
  protected abstract settled(): Promise<void>;

  /** The task orchestrator of this engine (the seed's `get_task_orchestrator()`). */
  getTaskOrchestrator(): TaskOrchestratorClient {
    return this.tasks;
  }

  /** The resource manager of this engine (the seed's `get_resource_manager()`). */
  getResourceManager(): ResourceManagerClient {
    return this.resources;
  }

  /**
   * Opens a session (the seed's `create_session`) and returns its id. Its mode orders and admits its tasks, its
   * limits bound its tasks and runs, its `resourceRequirements` are held until it closes, and `timeoutSeconds`
   * closes it (cancelling what runs in it). Snake_case keys are accepted.
   *
   * @example
   * const sessionId = await engine.createSession({ userId: 'user123', mode: 'resource_aware', maxParallelTasks: 4 });
   * await engine.executeWorkflow('ai-analysis', { sessionId });
   */
  async createSession(options: SessionOptions): Promise<string> {
    const ready = this.whenReady();
    if (ready) await ready;
    return (await this.bus.request('session.create', options)).sessionId;
  }

  /** A session with its counts; null when there is none. */
  async getSession(sessionId: string): Promise<Session | null> {
    const ready = this.whenReady();
    if (ready) await ready;
    return this.bus.request('session.get', { sessionId });
  }

  /** Every session, or only the active or closed ones. */
  async listSessions(status?: 'active' | 'closed'): Promise<Session[]> {
    const ready = this.whenReady();
    if (ready) await ready;
    return this.bus.request('session.list', status === undefined ? {} : { status });
  }

  /** Cancels the session's runs and tasks, releases its holds, emits `session_closed`. */
  async closeSession(sessionId: string, reason?: string): Promise<Session> {
    const ready = this.whenReady();
    if (ready) await ready;
    return this.bus.request('session.close', reason === undefined ? { sessionId } : { sessionId, reason });
  }

  /** Why a task is not running: the dependency, the resource (and who holds it), the session limit, or its backoff. */
  async explainTask(taskId: string): Promise<TaskExplanation> {
    const ready = this.whenReady();
    if (ready) await ready;
    return explainTaskOrStep(this.bus, taskId);
  }

  /**
   * Sends a signal to a running workflow run (see {@link WorkflowManagerClient.signalRun}).
   *
   * @example
   * await engine.signalRun(runId, 'approval', { approvedBy: 'ana' });
   */
  signalRun(
    runId: string,
    signal: string,
    payload?: unknown,
  ): Promise<{ runId: string; signal: string; delivered: boolean }> {
    return this.workflows.signalRun(runId, signal, payload);
  }

  /** Re-runs an ended workflow run, from `fromStep` or from the steps that did not complete (see {@link WorkflowManagerClient.retryRun}). */
  retryRun(runId: string, options: { fromStep?: string } = {}): Promise<WorkflowResult> {
    return this.workflows.retryRun(runId, options);
  }

  /**
   * Creates (or replaces) a named rate limit: never more than `limit` units spent in any window of length `per`
   * (`"1s"`, `"1m"`, `"1h"`), stored so it survives a restart. Tasks and steps spend it with
   * `rateLimit: { name, key?, units? }`; a task over the limit waits, holding no slot.
   *
   * @example
   * await engine.createRateLimit({ name: 'github-api', limit: 30, per: '1m' });
   * await engine.tasks.addTask({ module: 'http', action: 'get', parameters: { url }, rateLimit: { name: 'github-api', key: token } });
   */
  async createRateLimit(limit: { name: string; limit: number; per: string | number }): Promise<RateLimitView> {
    const ready = this.whenReady();
    if (ready) await ready;
    return this.tasks.createRateLimit(limit);
  }

  /** Every rate limit with its level and its busiest per-key buckets. */
  async listRateLimits(): Promise<RateLimitView[]> {
    const ready = this.whenReady();
    if (ready) await ready;
    return this.tasks.listRateLimits();
  }

  /** Deletes a rate limit; tasks waiting on it go on without it. */
  async deleteRateLimit(name: string): Promise<{ name: string; deleted: boolean }> {
    const ready = this.whenReady();
    if (ready) await ready;
    return this.tasks.deleteRateLimit(name);
  }

  /**
   * A chunk of artifact `name` of step `step` of run `runId` (base64, at most 512 KiB from `offset`; read on until
   * `eof`): what `codomyrmex run artifacts --get` downloads.
   */
  async readArtifact(runId: string, step: string, name: string, offset = 0, length?: number): Promise<ArtifactChunk> {
    const ready = this.whenReady();
    if (ready) await ready;
    return this.bus.request('engine.read_artifact', {
      runId,
      step,
      name,
      offset,
      ...(length !== undefined && { length }),
    });
  }

  /**
   * Takes a chunk of a file uploaded as an input of a run that has not started (`workflow run --upload`): send a
   * file's chunks in order from offset 0; the last answers its ref, which the run names in its `inputs`.
   */
  async writeArtifact(chunk: ArtifactWrite): Promise<ArtifactWritten> {
    const ready = this.whenReady();
    if (ready) await ready;
    return this.bus.request('engine.write_artifact', chunk);
  }

  /** Every module.action this engine can run, with its parameters as JSON Schema (all modules, or one). */
  async listModules(moduleName?: string): Promise<ActionDescription[]> {
    const ready = this.whenReady();
    if (ready) await ready;
    return this.registry.describe(moduleName);
  }

  /** The workflow manager of this engine (the seed's `get_workflow_manager()`). */
  getWorkflowManager(): WorkflowManagerClient {
    return this.workflows;
  }

  /**
   * Runs a stored workflow to its end in a session (the seed's `engine.execute_workflow(name, session_id)`).
   *
   * @example
   * const result = await engine.executeWorkflow('ai_analysis', { params: { path: '.' } });
   * await engine.executeWorkflow('ai_analysis', sessionId); // the seed's positional form
   * console.log(result.success);
   */
  executeWorkflow(name: string, options: RunRequest | string = {}): Promise<WorkflowResult> {
    // The seed's positional form, `execute_workflow("ai_analysis", session_id)`: a string is the session id.
    const o: RunRequest = typeof options === 'string' ? { sessionId: options } : options;
    return this.workflows.executeWorkflow(name, o.params ?? {}, {
      sessionId: o.sessionId,
      version: o.version,
      idempotencyKey: o.idempotencyKey,
    });
  }

  // Schedules and triggers: the same methods as getWorkflowManager()'s (see ScheduleClient for each).

  /** See {@link ScheduleClient.createSchedule}. */
  createSchedule(input: ScheduleInput): Promise<ScheduleView> {
    return this.workflows.createSchedule(input);
  }
  /** Every schedule with its next fire time. */
  listSchedules(): Promise<ScheduleView[]> {
    return this.workflows.listSchedules();
  }
  /** The schedule with its next 5 fire times and its last runs; null when there is none. */
  getSchedule(name: string): Promise<ScheduleView | null> {
    return this.workflows.getSchedule(name);
  }
  /** Stops a schedule firing until it is resumed; slots that fall while paused are not run, nor caught up on resume. */
  pauseSchedule(name: string): Promise<ScheduleView> {
    return this.workflows.pauseSchedule(name);
  }
  /** Lets a paused schedule fire again. */
  resumeSchedule(name: string): Promise<ScheduleView> {
    return this.workflows.resumeSchedule(name);
  }
  /** Removes a schedule (its past runs stay); false when there was none. */
  deleteSchedule(name: string): Promise<boolean> {
    return this.workflows.deleteSchedule(name);
  }
  /** One run now, outside the slots; resolves with its run id. */
  triggerSchedule(name: string): Promise<string> {
    return this.workflows.triggerSchedule(name);
  }
  /** See {@link ScheduleClient.backfillSchedule}. */
  backfillSchedule(name: string, range: BackfillInput): Promise<BackfillReply> {
    return this.workflows.backfillSchedule(name, range);
  }
  /** See {@link ScheduleClient.createTrigger}. */
  createTrigger(input: TriggerInput): Promise<TriggerView> {
    return this.workflows.createTrigger(input);
  }
  /** Every trigger (NATS subject or webhook) with its counts. */
  listTriggers(): Promise<TriggerView[]> {
    return this.workflows.listTriggers();
  }
  /** Removes a trigger and stops listening; false when there was none. */
  deleteTrigger(name: string): Promise<boolean> {
    return this.workflows.deleteTrigger(name);
  }
  /** Stops a trigger starting runs (a JetStream trigger stops consuming: its messages wait in the stream; a webhook answers 409). */
  pauseTrigger(name: string): Promise<TriggerView> {
    return this.workflows.pauseTrigger(name);
  }
  /** Lets a paused trigger start runs again. */
  resumeTrigger(name: string): Promise<TriggerView> {
    return this.workflows.resumeTrigger(name);
  }

  /** The project manager of this engine (the seed's `get_project_manager()`). */
  getProjectManager(): ProjectManagerClient {
    return this.projects;
  }

  /**
   * Runs one of a project's workflows to its end: its file actions work in the project's folder, its templates see
   * `{{project.name}}`, `{{project.path}}` and `{{project.config.x}}`, and its outcome counts in the project's status
   * and towards the milestones that name the workflow.
   *
   * @example
   * await engine.executeProjectWorkflow('my_ai_project', 'ai-analysis', { params: { path: 'src' } });
   */
  executeProjectWorkflow(
    project: string,
    workflow: string,
    options: Omit<RunRequest, 'workingDir' | 'project' | 'version'> = {},
  ): Promise<WorkflowResult> {
    return this.projects.executeProjectWorkflow(project, workflow, options);
  }

  /**
   * Validates and runs an ad hoc workflow: `{ steps, dependencies: { step: [names] }, parallelGroups }` (the seed's
   * `execute_complex_workflow`; snake_case keys accepted). Steps overlap only within a shared parallel group.
   */
  async executeComplexWorkflow(definition: Record<string, unknown>, options: RunRequest = {}): Promise<WorkflowResult> {
    const ready = this.whenReady();
    if (ready) await ready;
    return this.clientBus().request('workflow.execute_complex', { definition, ...options });
  }

  /** What the HTTP edge serves for this engine (`/metrics`, `/healthz`, `/readyz`). */
  httpHandlers(): HttpHandlers {
    return this.views().httpHandlers();
  }

  /**
   * Checks every component for real: the pool runs a probe task, the store is asked whether it takes writes, the
   * bus whether it is connected, the queue whether it is stuck. `overallStatus` is the worst component's status.
   *
   * @example
   * const health = await engine.healthCheck();
   * if (health.overallStatus !== 'healthy') console.warn(health.issues);
   */
  async healthCheck(): Promise<HealthReport> {
    await this.settled();
    return this.views().healthCheck();
  }

  /** Uptime, state, tasks by status, queue depth, pool, bus, store, workflows, sessions, resources. */
  async getSystemStatus(): Promise<SystemStatus> {
    await this.settled();
    return this.views().getSystemStatus();
  }

  /** Counts per domain: `sessions.total`, `workflows`, `tasks`, `resources`, `projects`. */
  async getMetrics(): Promise<EngineMetricsView> {
    await this.settled();
    return this.views().getMetrics();
  }

  /** Count, success rate and p50/p95/p99/max durations per `module.action` and per workflow. */
  getPerformanceSummary(filter: PerformanceFilter = {}): PerformanceSummary {
    return this.views().getPerformanceSummary(filter);
  }

  /** Lets a component add its health check and its status and metrics sections under `name`. */
  registerComponentView(name: string, view: ComponentView): () => void {
    return this.views().registerComponent(name, view);
  }

  /**
   * Calls `handler(eventName, data)` for every event of that name (`'*'` for all). Returns a function that removes
   * the handler. A handler that throws or rejects is reported as a `handler_error` event and never breaks the engine.
   *
   * @example
   * engine.registerEventHandler('task_completed', (event, data) => console.log(event, data.taskId));
   */
  registerEventHandler<K extends EventName>(name: K | '*', handler: EventHandler<K>): () => void {
    return subscribeHandler(this.bus, name, handler);
  }

  /**
   * Serves the engine's own views as commands, so an edge (the daemon's NATS API) serves them like any component's.
   * @internal
   */
  protected serveCommands(artifacts: ArtifactCommands): void {
    this.bus.serve('engine', {
      'engine.status': () => this.getSystemStatus(),
      'engine.health': () => this.healthCheck(),
      'engine.modules': (p) => this.listModules(p.module),
      'engine.read_artifact': (p) => artifacts.read(p),
      'engine.write_artifact': (p) => artifacts.write(p),
    });
  }
}
