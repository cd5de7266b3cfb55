/**
 * The OrchestrationEngine: the root actor of one runtime. It owns the shared parts (bus, worker pool, store,
 * module registry), runs the runtime machine that supervises the component actors, and hands out the seed's
 * facades, which are thin clients of the bus.
 *
 * Past 400 lines on purpose: it is the seed's API surface (one short, documented method per seed call) and the
 * start and stop sequences; the work itself lives in the components.
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ArtifactExchange, FolderArtifactStore } from '../../workers/artifacts.js';
import type { Subscription } from 'rxjs';
import type { Actor } from 'xstate';
import { createActor, waitFor } from 'xstate';
import type { MessageBus } from '../../bus/bus.js';
import { InMemoryBus } from '../../bus/memory.js';
import type { BusEvent, EventMap, EventName } from '../../bus/protocol.js';
import type { CompiledOptions, EngineOptions, OptionDefaults } from '../../config/options.js';
import { compileOptions } from '../../config/options.js';
import { ErrorCode, NotFoundError, ShuttingDownError, StoreError, ValidationError, serializeError } from '../../errors.js';
import type { RuntimeState } from '../../machines/runtime.js';
import { runtimeMachine, runtimeStateOf } from '../../machines/runtime.js';
import { ModuleRegistry } from '../../modules/registry.js';
import type { ActionDescription } from '../../modules/registry.js';
import { GroupCommitter } from '../../store/commits.js';
import { Journal } from './journal.js';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { WorkerPool } from '../../workers/pool.js';
import type { RunRequest } from '../../bus/protocol.js';
import type { WorkflowResult } from '../../model/workflow.js';
import { listDefinitionFiles, orderByCalls, readDefinitionFile } from '../../workflows/loader.js';
import { EngineMetrics } from '../../metrics/engineMetrics.js';
import { resourceUsageFromLedger } from '../../metrics/resources.js';
import type { ComponentView, EngineMetricsView, HttpAddress, HttpHandlers, PerformanceFilter, PerformanceSummary, SystemStatus } from './views.js';
import { EngineViews } from './views.js';
import type { HealthReport } from './health.js';
import { TaskOrchestratorClient } from '../tasks/client.js';
import { taskOrchestratorLogic } from '../tasks/actor.js';
import { LocalPoolRunner } from '../../workers/local.js';
import type { TaskRunner } from '../../workers/runner.js';
import type { Clock } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';
import { explainTaskOrStep, WorkflowManagerClient } from '../workflows/client.js';
import { workflowManagerLogic } from '../workflows/actor.js';
import { ResourceManagerClient } from '../resources/client.js';
import { resourceManagerLogic } from '../resources/actor.js';
import { ResourceLedger } from '../resources/ledger.js';
import { sessionManagerLogic } from '../sessions/actor.js';
import type { Session, SessionOptions } from '../../model/session.js';
import type { RateLimitView, TaskExplanation } from '../../bus/protocol.js';
import { projectManagerLogic } from '../projects/actor.js';
import { ProjectManagerClient } from '../projects/client.js';
import { schedulesLogic } from '../schedules/actor.js';
import { triggersLogic } from '../triggers/actor.js';
import type { TriggerTransport } from '../triggers/transport.js';
import { BehaviorSubject } from 'rxjs';
import { tracingClientBus } from '../../bus/traceparent.js';
import type { Tracing } from '../../traces/tracing.js';
import { loadTracing, TRACED_EVENTS } from '../../traces/tracing.js';
import { Subject } from 'rxjs';
import { tracedRunner } from '../../workers/traced.js';
import { StepIntake } from '../tasks/stepIntake.js';
import type { BackfillInput, BackfillReply, ScheduleInput, ScheduleView, TriggerInput, TriggerView } from '../../model/schedule.js';
import type { ArtifactChunk, ArtifactWrite, ArtifactWritten } from '../../model/artifacts.js';
import type { ArtifactSweep } from './artifacts.js';
import { ArtifactReads, sweepArtifacts } from './artifacts.js';
import { ArtifactUploads } from './uploads.js';

/** How often the artifacts of runs the store no longer has are removed, and how long a scope rests before that. */
const ARTIFACT_SWEEP_MS = 5 * 60_000;
const ARTIFACT_MIN_AGE_MS = 10 * 60_000;

/**
 * Under strict durability, how long changes nobody waits on (a task's start, events) may wait for a commit somebody
 * does wait on, in ms, so that they share its fsync (see `GroupCommitterOptions.unawaitedDelayMs`).
 */
const UNAWAITED_COMMIT_DELAY_MS = 5;

/** Receives `(eventName, data)`; may be async. A handler that throws never breaks the engine. */
export type EventHandler<K extends EventName = EventName> = (event: K, data: EventMap[K]) => void | Promise<void>;

/**
 * An edge (HTTP, NATS, MCP) attached to a running engine by whoever composed it: the engine closes it on shutdown
 * and shows its address in the status view. The engine never builds edges itself: edges sit above it and talk to it over the bus.
 */
export interface AttachedEdge {
  /** The edge's name in the status view (`http`, `nats`, `mcp`). */
  readonly name: string;
  /** Where it listens, when it listens on HTTP; null otherwise. */
  readonly address: HttpAddress | null;
  /** Stops the edge; called by the engine's shutdown. */
  close(): Promise<void>;
}

/** What the code that starts an engine adds to it (`startEdges` in `src/edges`). */
export interface EngineComposition {
  /**
   * Starts the engine's edges once its components run and before it reports ready; a rejection fails the start
   * (`ready()` rejects with it).
   */
  edges?: (engine: OrchestrationEngine) => Promise<AttachedEdge[]>;
  /** Time and timers for every component (default: the system clock); tests pass a fake one. */
  clock?: Clock;
  /**
   * Where task attempts run, given the engine's local-pool runner (default: that runner). The daemon passes one
   * that adds remote workers (JetStream) or runs none locally.
   */
  runner?: (local: TaskRunner, engine: OrchestrationEngine) => TaskRunner;
  /**
   * The store, opened by whoever composes the engine (default: the one the options name, opened here). The daemon
   * passes the PostgreSQL store it opened on the lease it took over.
   */
  store?: (options: CompiledOptions, engineId: string) => Store;
}

/** How {@link OrchestrationEngine.shutdown} stops. */
export interface ShutdownOptions {
  /** How long running tasks get to finish before they are cancelled (default: the engine's `shutdownGraceMs`). */
  graceMs?: number;
}

/** One runtime: the bus, worker pool, store and module registry, the component actors, and the seed's facades (`getTaskOrchestrator()`, `getWorkflowManager()`, ...). Make one with `getOrchestrationEngine()` or `createOrchestrationEngine(options)`; end it with `shutdown()`. */
export class OrchestrationEngine {
  readonly id = randomUUID();
  readonly options: CompiledOptions;
  readonly bus: MessageBus;
  readonly store: Store;
  /** Writes every component's changes to the store in group commits. */
  readonly commits: GroupCommitter;
  readonly pool: WorkerPool;
  /**
   * Where steps' artifacts are kept on this engine's threads: `<dataDir>/artifact-store` for a durable store, a
   * temporary folder (removed at shutdown) for the memory store; the daemon moves it to the JetStream Object Store
   * when remote workers are on.
   */
  readonly artifacts: ArtifactExchange;
  readonly #journal: Journal | null;
  #registry = new ModuleRegistry();
  readonly #actor: Actor<typeof runtimeMachine>;
  readonly #ready: Promise<void>;
  #started = false;
  #shutdown: Promise<void> | null = null;
  #released: Promise<void> | null = null;
  readonly #startedAt = Date.now();
  /** The seed's `getTaskOrchestrator()` view of this engine. */
  readonly tasks: TaskOrchestratorClient;
  /** The seed's `getWorkflowManager()` view of this engine. */
  readonly workflows: WorkflowManagerClient;
  /** The seed's `getResourceManager()` view of this engine. */
  readonly resources: ResourceManagerClient;
  /** The seed's `getProjectManager()` view of this engine. */
  readonly projects: ProjectManagerClient;
  /** Capacities and holds, shared by the resource manager and the task orchestrator's admission. */
  readonly ledger: ResourceLedger;
  /** This engine's Prometheus metrics (its own registry); null when `metrics.enabled` is false. */
  readonly metrics: EngineMetrics | null;
  readonly #views: EngineViews;
  readonly #composition: EngineComposition;
  #edges: AttachedEdge[] = [];
  readonly #triggerTransport = new BehaviorSubject<TriggerTransport | null>(null);
  /** Loaded while the engine starts when `options.tracing.enabled`; null otherwise (no OpenTelemetry module loaded). */
  #tracing: Tracing | null = null;
  /** The bus as the library's clients use it (it stamps the active trace context on what they start). */
  #clientBus: MessageBus;
  #dropWarnedAt = 0;
  #artifactSweep: ReturnType<typeof setInterval> | null = null;
  readonly #artifactReads: ArtifactReads;
  readonly #uploads: ArtifactUploads;
  /** The events spans are built from, relayed in the order the bus delivers them (tracing on). */
  readonly #tracedEvents = new Subject<BusEvent>();

  /**
   * Opens the store first: a database that is corrupt, newer than this code, or held by another engine makes the
   * constructor throw a `StoreError` naming the file, before any thread starts.
   */
  constructor(options: EngineOptions = {}, defaults: OptionDefaults = {}, composition: EngineComposition = {}) {
    this.#composition = composition;
    this.options = compileOptions(options, process.env, defaults);
    this.bus = new InMemoryBus();
    this.store = composition.store ? composition.store(this.options, this.id) : openStore(this.options, this.id);
    try {
      const bus = this.bus;
      const location = this.store.location;
      this.commits = new GroupCommitter(this.store, {
        delayMs: this.options.commitDelayMs,
        maxBatch: this.options.commitMaxBatch,
        // Strict on a durable store: what nobody waits on (a task's start, events) rides with the next commit somebody waits on.
        unawaitedDelayMs: this.options.durability === 'strict' && this.store.persistent ? Math.max(this.options.commitDelayMs, UNAWAITED_COMMIT_DELAY_MS) : 0,
        onFault: (error, downMs) => {
          if (error) bus.publish('store_failed', { store: location, error: serializeError(error) });
          else bus.publish('store_recovered', { store: location, downMs });
        },
        onDropped: (what, error) => bus.publish('component_error', { component: 'store', operation: `write ${what}`, error: serializeError(error) }),
      });
      this.#journal = this.options.journalMaxEvents > 0 ? new Journal(this.bus, this.commits, this.options.journalMaxEvents) : null;
      this.pool = new WorkerPool({
        threads: this.options.threads,
        concurrentTasksPerWorker: this.options.concurrentTasksPerWorker,
        moduleDirs: this.options.moduleDirs,
        tracing: this.options.tracing.enabled ? { maxAttributeLength: this.options.tracing.maxAttributeLength } : undefined,
      });
      const ephemeral = this.options.store === 'memory';
      this.artifacts = new ArtifactExchange(new FolderArtifactStore(ephemeral ? join(tmpdir(), `codomyrmex-artifacts-${this.id}`) : resolve(this.options.dataDir, 'artifact-store')), ephemeral);
      this.#artifactReads = new ArtifactReads((runId) => this.workflows.getRun(runId), () => this.artifacts.store);
      this.#uploads = new ArtifactUploads(this.id, () => this.artifacts.store, async (runId) => (await this.workflows.getRun(runId)) !== null);
    } catch (err) {
      this.store.close();
      throw err;
    }
    // Anything that throws from here on must not leave threads running or the store locked.
    try {
      const clock = composition.clock ?? systemClock;
      this.ledger = new ResourceLedger({
        allocated: (a) => this.bus.publish('resource_allocated', { holderId: a.holderId, allocationId: a.allocationId, resources: a.requested }),
        released: (a, reason) => {
          const resourceIds = Object.keys(a.amounts);
          if (reason === 'expired') this.bus.publish('resource_expired', { holderId: a.holderId, allocationId: a.allocationId, resourceIds });
          this.bus.publish('resource_released', { holderId: a.holderId, allocationId: a.allocationId, resourceIds, reason });
        },
      }, clock);
      this.ledger.addHostResources();
      // Metrics subscribe before any component runs, so they see every event.
      this.metrics = this.options.metrics.enabled
        ? new EngineMetrics({ bus: this.bus, pool: this.pool, state: () => this.state, startedAt: this.#startedAt, processMetrics: this.options.metrics.processMetrics, observeTasksDirectly: true })
        : null;
      this.metrics?.instrumentStore(this.store);
      if (this.options.tracing.enabled) {
        this.metrics?.enableTraceMetrics((taskId) => this.#tracing?.traceIdOfTask(taskId) ?? null);
        // Subscribed first, so a run's span exists before any other listener (a log line) hears of the run.
        for (const type of TRACED_EVENTS) this.bus.events$(type).subscribe((e) => this.#tracedEvents.next(e));
      }
      this.metrics?.setResourceSource(() => resourceUsageFromLedger(this.ledger.usage()));
      this.#views = new EngineViews({
        engineId: this.id,
        bus: this.bus,
        pool: this.pool,
        store: this.store,
        storeFault: () => this.commits.fault,
        options: this.options,
        metrics: this.metrics,
        state: () => this.state,
        startedAt: this.#startedAt,
        httpAddress: () => this.httpAddress,
      });
      const localRunner = new LocalPoolRunner(this.pool, clock, { batching: this.options.batchDispatch, artifacts: this.artifacts });
      const runner = composition.runner ? composition.runner(localRunner, this) : localRunner;
      const deps = {
        runner: this.options.tracing.enabled ? tracedRunner(runner, () => this.#tracing, clock) : runner,
        clock,
        taskObserver: this.metrics?.taskObserver,
        bus: this.bus,
        ledger: this.ledger,
        pool: this.pool,
        store: this.store,
        commits: this.commits,
        registry: () => this.#registry,
        options: this.options,
        triggerTransport$: this.#triggerTransport.asObservable(),
        stepIntake: new StepIntake(),
        runTraceparent: this.options.tracing.enabled ? (runId: string) => this.#tracing?.runTraceparent(runId) ?? null : undefined,
      };
      const machine = runtimeMachine.provide({
        actors: {
          taskOrchestrator: taskOrchestratorLogic(deps),
          workflowManager: workflowManagerLogic(deps),
          resourceManager: resourceManagerLogic(deps),
          sessions: sessionManagerLogic(deps),
          projectManager: projectManagerLogic(deps),
          schedules: schedulesLogic(deps),
          triggers: triggersLogic(deps),
        },
      });
      this.#actor = createActor(machine, { systemId: 'engine' });
      this.#actor.start();
      this.#ready = this.#init();
      // Callers see start-up failures on their first request; this keeps an unobserved failure from crashing.
      this.#ready.catch(() => {});
      const ready = (): Promise<void> | null => (this.#started ? null : this.#ready);
      // With tracing on, what a library call starts inside an active span continues that span's trace.
      const clientBus = this.options.tracing.enabled ? tracingClientBus(this.bus, () => this.#tracing?.activeTraceparent()) : this.bus;
      this.#clientBus = clientBus;
      this.tasks = new TaskOrchestratorClient(clientBus, ready);
      this.workflows = new WorkflowManagerClient(clientBus, ready);
      this.resources = new ResourceManagerClient(clientBus, ready);
      this.projects = new ProjectManagerClient(clientBus, ready);
      const projectCounts = async (): Promise<Record<string, unknown>> => ({ ...(await this.bus.request('project.stats', {})) });
      this.#views.registerComponent('projects', { metrics: projectCounts, status: projectCounts });
      this.#views.registerComponent('flow', { status: async () => ({ ...(await this.bus.request('task.flow_status', { top: 10 })) }) });
      // The engine's own views as commands, so an edge (the daemon's NATS API) serves them like any component's.
      this.bus.serve('engine', {
        'engine.status': () => this.getSystemStatus(),
        'engine.health': () => this.healthCheck(),
        'engine.modules': (p) => this.listModules(p.module),
        'engine.read_artifact': (p) => this.#artifactReads.read(p),
        'engine.write_artifact': (p) => this.#uploads.write(p),
      });
    } catch (err) {
      void this.pool.destroy();
      this.#journal?.stop();
      this.store.close();
      throw err;
    }
  }

  async #init(): Promise<void> {
    // Start after the constructor returns, so handlers registered right after it see `recovery` and `engine_started`.
    await Promise.resolve();
    let files: string[] = [];
    try {
      if (this.options.tracing.enabled) {
        this.#tracing = await loadTracing(this.options.tracing, { events: this.#tracedEvents.asObservable(), onDropped: (n, err) => this.#spansDropped(n, err) });
      }
      if (this.options.moduleDirs.length) {
        this.#registry = await ModuleRegistry.load(this.options.moduleDirs);
        // User modules can fail inside workers only (a thread-local dependency): find out now, not task by task.
        await this.pool.booted(this.options.workerBootTimeoutMs);
      }
      files = await listDefinitionFiles(this.options.workflowDirs);
    } catch (err) {
      await this.#failStart(err);
    }
    if (this.#shutdown) return;
    this.#actor.send({ type: 'engine.started' });
    // A component that threw while starting (in recovery, say) has already moved the runtime to failed.
    if (this.state === 'failed') await this.#failStart(this.#actor.getSnapshot().context.error);
    // Recovered: only now is the database marked as this engine's (a refused start writes nothing).
    this.store.claim?.(this.id);
    try {
      // Read first, then created callees first: a file may call (`workflow:` steps) a workflow of a later file.
      const read: { file: string; definition: unknown; error: Error | null }[] = [];
      for (const file of files) {
        try {
          read.push({ file, definition: await readDefinitionFile(file), error: null });
        } catch (err) {
          read.push({ file, definition: null, error: err instanceof Error ? err : new Error(String(err)) });
        }
      }
      for (const { file, definition, error } of orderByCalls(read)) {
        try {
          if (error) throw error;
          await this.bus.request('workflow.create', { definition, source: file }).catch((err: unknown) => {
            throw err instanceof Error && !err.message.startsWith(file) ? Object.assign(err, { message: `${file}: ${err.message}` }) : err;
          });
        } catch (err) {
          // Only the file's own fault is skipped; a store that cannot write fails the start as before.
          if (this.options.badDefinitionFiles !== 'skip' || !(err instanceof ValidationError || err instanceof NotFoundError)) throw err;
          this.bus.publish('definition_skipped', { file, error: serializeError(err) });
        }
      }
      if (this.#composition.edges) this.#edges = await this.#composition.edges(this);
    } catch (err) {
      await this.#failStart(err);
    }
    this.#started = true;
    this.bus.publish('engine_started', { engineId: this.id, threads: this.options.threads });
    if (this.store.persistent) {
      this.#artifactSweep = setInterval(() => void this.sweepArtifacts().catch((err: unknown) => this.bus.publish('component_error', { component: 'artifacts', operation: 'retention sweep', error: serializeError(err) })), ARTIFACT_SWEEP_MS);
      this.#artifactSweep.unref();
    }
  }

  /**
   * Removes the artifacts of runs (and tasks) the store no longer has, once untouched for `minAgeMs` (default 10
   * minutes): what the store's retention deleted takes its files with it. Runs by itself every 5 minutes.
   */
  sweepArtifacts(minAgeMs = ARTIFACT_MIN_AGE_MS): Promise<ArtifactSweep> {
    return sweepArtifacts(this.store, this.artifacts.store, Date.now(), minAgeMs);
  }

  /** Counts spans an export dropped, with a `component_error` event at most once a minute. */
  #spansDropped(spans: number, error: Error | undefined): void {
    this.metrics?.traceSpansDropped(spans);
    const now = Date.now();
    if (now - this.#dropWarnedAt < 60_000) return;
    this.#dropWarnedAt = now;
    const cause = error ?? new Error('the exporter reported a failure');
    this.bus.publish('component_error', { component: 'tracing', operation: `export spans (${spans} dropped; see codomyrmex_trace_spans_dropped_total)`, error: serializeError(cause) });
  }

  /** Moves the runtime to `failed`, releases the threads, the store and its lock, and throws the cause. */
  async #failStart(cause: unknown): Promise<never> {
    const error = cause instanceof Error ? cause : new Error(String(cause));
    if (this.#actor.getSnapshot().status === 'active') this.#actor.send({ type: 'engine.failed', error });
    // A database refused as corrupt is left as it was: what the components queued while starting is not written.
    if (error instanceof StoreError && error.code === ErrorCode.STORE_CORRUPT) this.commits.abandon();
    await this.#release();
    throw error;
  }

  /** Resolves once the engine serves requests; rejects if it could not start (bad module folder, ...). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Where the engine is in its lifecycle. */
  get state(): RuntimeState {
    return runtimeStateOf(this.#actor.getSnapshot().value);
  }

  /** Milliseconds since this engine object was created. */
  get uptimeMs(): number {
    return Date.now() - this.#startedAt;
  }

  /** The action modules this engine knows. */
  get registry(): ModuleRegistry {
    return this.#registry;
  }

  /**
   * Calls `handler(eventName, data)` for every event of that name (`'*'` for all). Returns a function that removes
   * the handler. A handler that throws or rejects is reported as a `handler_error` event and never breaks the engine.
   *
   * @example
   * engine.registerEventHandler('task_completed', (event, data) => console.log(event, data.taskId));
   */
  registerEventHandler<K extends EventName>(name: K | '*', handler: EventHandler<K>): () => void {
    const report = (err: unknown): void => {
      if (name === 'handler_error') return;
      this.bus.publish('handler_error', { event: String(name), error: serializeError(err) });
    };
    const sub: Subscription = this.bus.events$(name === '*' ? undefined : name).subscribe((event) => {
      try {
        const out = (handler as EventHandler)(event.type, event.data);
        if (out && typeof out.then === 'function') out.then(undefined, report);
      } catch (err) {
        report(err);
      }
    });
    return () => sub.unsubscribe();
  }

  /**
   * Commits every change made so far and resolves once it is in the store (on disk with the SQLite store): a
   * barrier for `durability: "relaxed"`, where replies do not wait for commits. Rejects with a `StoreError` when
   * the write fails.
   */
  flush(): Promise<void> {
    if (this.#shutdown) return Promise.reject(new ShuttingDownError());
    const done = this.commits.afterCommit(undefined);
    this.commits.flush();
    return done;
  }

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
    if (!this.#started) await this.#ready;
    return (await this.bus.request('session.create', options)).sessionId;
  }

  /** A session with its counts; null when there is none. */
  async getSession(sessionId: string): Promise<Session | null> {
    if (!this.#started) await this.#ready;
    return this.bus.request('session.get', { sessionId });
  }

  /** Every session, or only the active or closed ones. */
  async listSessions(status?: 'active' | 'closed'): Promise<Session[]> {
    if (!this.#started) await this.#ready;
    return this.bus.request('session.list', status === undefined ? {} : { status });
  }

  /** Cancels the session's runs and tasks, releases its holds, emits `session_closed`. */
  async closeSession(sessionId: string, reason?: string): Promise<Session> {
    if (!this.#started) await this.#ready;
    return this.bus.request('session.close', reason === undefined ? { sessionId } : { sessionId, reason });
  }

  /** Why a task is not running: the dependency, the resource (and who holds it), the session limit, or its backoff. */
  async explainTask(taskId: string): Promise<TaskExplanation> {
    if (!this.#started) await this.#ready;
    return explainTaskOrStep(this.bus, taskId);
  }

  /**
   * Sends a signal to a running workflow run (see {@link WorkflowManagerClient.signalRun}).
   *
   * @example
   * await engine.signalRun(runId, 'approval', { approvedBy: 'ana' });
   */
  signalRun(runId: string, signal: string, payload?: unknown): Promise<{ runId: string; signal: string; delivered: boolean }> {
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
    if (!this.#started) await this.#ready;
    return this.tasks.createRateLimit(limit);
  }

  /** Every rate limit with its level and its busiest per-key buckets. */
  async listRateLimits(): Promise<RateLimitView[]> {
    if (!this.#started) await this.#ready;
    return this.tasks.listRateLimits();
  }

  /** Deletes a rate limit; tasks waiting on it go on without it. */
  async deleteRateLimit(name: string): Promise<{ name: string; deleted: boolean }> {
    if (!this.#started) await this.#ready;
    return this.tasks.deleteRateLimit(name);
  }

  /**
   * A chunk of artifact `name` of step `step` of run `runId` (base64, at most 512 KiB from `offset`; read on until
   * `eof`): what `codomyrmex run artifacts --get` downloads.
   */
  async readArtifact(runId: string, step: string, name: string, offset = 0, length?: number): Promise<ArtifactChunk> {
    if (!this.#started) await this.#ready;
    return this.bus.request('engine.read_artifact', { runId, step, name, offset, ...(length !== undefined && { length }) });
  }

  /**
   * Takes a chunk of a file uploaded as an input of a run that has not started (`workflow run --upload`): send a
   * file's chunks in order from offset 0; the last answers its ref, which the run names in its `inputs`.
   */
  async writeArtifact(chunk: ArtifactWrite): Promise<ArtifactWritten> {
    if (!this.#started) await this.#ready;
    return this.bus.request('engine.write_artifact', chunk);
  }

  /** Every module.action this engine can run, with its parameters as JSON Schema (all modules, or one). */
  async listModules(moduleName?: string): Promise<ActionDescription[]> {
    if (!this.#started) await this.#ready;
    return this.#registry.describe(moduleName);
  }

  /**
   * This engine's tracing once it started with tracing on (see docs/traces.md): edges start their spans with it, and
   * `tracing.traceIdOfRun(runId)` names a run's trace. Null with tracing off.
   */
  get tracing(): Tracing | null {
    return this.#tracing;
  }

  /** Where the HTTP edge (`/metrics`, `/healthz`, `/readyz`) listens; null when it is off or not yet listening. */
  get httpAddress(): HttpAddress | null {
    return this.#edges.find((e) => e.name === 'http')?.address ?? null;
  }

  /** What the HTTP edge serves for this engine (`/metrics`, `/healthz`, `/readyz`). */
  httpHandlers(): HttpHandlers {
    return this.#views.httpHandlers();
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
    await this.#settled();
    return this.#views.healthCheck();
  }

  /** Uptime, state, tasks by status, queue depth, pool, bus, store, workflows, sessions, resources. */
  async getSystemStatus(): Promise<SystemStatus> {
    await this.#settled();
    return this.#views.getSystemStatus();
  }

  /** Counts per domain: `sessions.total`, `workflows`, `tasks`, `resources`, `projects`. */
  async getMetrics(): Promise<EngineMetricsView> {
    await this.#settled();
    return this.#views.getMetrics();
  }

  /**
   * Waits until the engine has finished starting, whichever way: the views describe a started engine (as the
   * seed's `health_check()` right after `get_orchestration_engine()` expects), or the failed one as it is.
   */
  async #settled(): Promise<void> {
    if (!this.#started) await this.#ready.catch(() => undefined);
  }

  /** Count, success rate and p50/p95/p99/max durations per `module.action` and per workflow. */
  getPerformanceSummary(filter: PerformanceFilter = {}): PerformanceSummary {
    return this.#views.getPerformanceSummary(filter);
  }

  /** Lets a component add its health check and its status and metrics sections under `name`. */
  registerComponentView(name: string, view: ComponentView): () => void {
    return this.#views.registerComponent(name, view);
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
    return this.workflows.executeWorkflow(name, o.params ?? {}, { sessionId: o.sessionId, version: o.version, idempotencyKey: o.idempotencyKey });
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
  /**
   * Gives NATS triggers a message system to listen on (the daemon's NATS edge calls this once connected; null
   * detaches). Without one, NATS triggers are stored but not listening.
   */
  attachTriggerTransport(transport: TriggerTransport | null): void {
    this.#triggerTransport.next(transport);
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
  executeProjectWorkflow(project: string, workflow: string, options: Omit<RunRequest, 'workingDir' | 'project' | 'version'> = {}): Promise<WorkflowResult> {
    return this.projects.executeProjectWorkflow(project, workflow, options);
  }

  /**
   * Validates and runs an ad hoc workflow: `{ steps, dependencies: { step: [names] }, parallelGroups }` (the seed's
   * `execute_complex_workflow`; snake_case keys accepted). Steps overlap only within a shared parallel group.
   */
  async executeComplexWorkflow(definition: Record<string, unknown>, options: RunRequest = {}): Promise<WorkflowResult> {
    if (!this.#started) await this.#ready;
    return this.#clientBus.request('workflow.execute_complex', { definition, ...options });
  }

  /**
   * Stops the engine: refuses new work, lets running tasks finish for up to `graceMs`, cancels the rest, closes
   * the pool, the store and the bus. Safe to call more than once; every call returns the same promise.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.#shutdown ??= this.#stop(options.graceMs ?? this.options.shutdownGraceMs);
    return this.#shutdown;
  }

  async #stop(graceMs: number): Promise<void> {
    // Draining starts now, synchronously: a request made after shutdown() is refused.
    this.bus.publish('engine_stopping', { engineId: this.id, graceMs });
    if (this.#actor.getSnapshot().status === 'active') this.#actor.send({ type: 'engine.shutdown', graceMs });
    await this.#ready.catch(() => undefined);
    await waitFor(this.#actor, (s) => s.status === 'done', { timeout: Infinity });
    await this.#release();
    const failure: unknown = this.#actor.getSnapshot().context.drainError;
    if (failure !== null) throw failure instanceof Error ? failure : new Error('a component failed to drain', { cause: failure });
  }

  /** Closes everything the engine holds, once: edges, metrics, holds' timers, the pool, commits, the store, the bus. */
  #release(): Promise<void> {
    this.#released ??= (async () => {
      this.#actor.stop();
      if (this.#artifactSweep) clearInterval(this.#artifactSweep);
      // /readyz answers 503 "draining" until here.
      await Promise.allSettled(this.#edges.map((e) => e.close()));
      this.metrics?.close();
      this.ledger.close();
      await this.pool.destroy();
      // Ends what is open and exports what is pending (an unreachable endpoint gives up after the exporter's timeout).
      await this.#tracing?.shutdown().catch(() => undefined);
      await this.#uploads.close();
      await this.artifacts.close();
      this.bus.publish('engine_stopped', { engineId: this.id });
      this.#journal?.stop();
      await this.commits.close();
      await this.store.drain?.();
      this.store.close();
      await this.bus.close();
    })();
    return this.#released;
  }
}

