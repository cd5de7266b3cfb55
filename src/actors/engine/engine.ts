/**
 * The OrchestrationEngine: the root actor of one runtime. It owns the shared parts (bus, worker pool, store,
 * module registry; opened in parts.ts), runs the runtime machine that supervises the component actors, starts and
 * stops them, and serves its views (health, status, metrics). The seed's calls it offers are api.ts.
 */
import { randomUUID } from 'node:crypto';
import { BehaviorSubject } from 'rxjs';
import type { Actor } from 'xstate';
import { createActor, waitFor } from 'xstate';
import type { MessageBus } from '../../bus/bus.js';
import { InMemoryBus } from '../../bus/memory.js';
import type { CompiledOptions, EngineOptions, OptionDefaults } from '../../config/options.js';
import { compileOptions } from '../../config/compile.js';
import { ErrorCode, ShuttingDownError, StoreError } from '../../errors.js';
import type { RuntimeState } from '../../machines/runtime.js';
import type { runtimeMachine } from '../../machines/runtime.js';
import { runtimeStateOf } from '../../machines/runtime.js';
import { EngineMetrics } from '../../metrics/engineMetrics.js';
import { resourceUsageFromLedger } from '../../metrics/resources.js';
import type { Clock } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';
import { ModuleRegistry } from '../../modules/registry.js';
import type { GroupCommitter } from '../../store/commits.js';
import type { Store } from '../../store/store.js';
import type { Tracing } from '../../traces/tracing.js';
import type { ArtifactExchange } from '../../workers/artifacts.js';
import type { WorkerPool } from '../../workers/pool.js';
import { listDefinitionFiles } from '../../workflows/loader.js';
import { ProjectManagerClient } from '../projects/client.js';
import { ResourceManagerClient } from '../resources/client.js';
import type { ResourceLedger } from '../resources/ledger.js';
import { TaskOrchestratorClient } from '../tasks/client.js';
import { LocalPoolRunner } from '../../workers/local.js';
import type { TaskRunner } from '../../workers/runner.js';
import { StepIntake } from '../tasks/stepIntake.js';
import type { TriggerTransport } from '../triggers/transport.js';
import { WorkflowManagerClient } from '../workflows/client.js';
import type { EngineDeps } from './components.js';
import { EngineApi } from './api.js';
import type { ArtifactSweep } from './artifacts.js';
import { ARTIFACT_MIN_AGE_MS, artifactCommands, startArtifactSweeps, sweepArtifacts } from './artifacts.js';
import { componentRuntime } from './components.js';
import { createFromFiles } from './definitionFiles.js';
import type { Journal } from './journal.js';
import { abandonParts, busLedger, openParts } from './parts.js';
import { EngineTracing } from './tracing.js';
import type { HttpAddress } from './views.js';
import { EngineViews } from './views.js';

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
  /**
   * Boot the store's writer thread as the engine starts, `ready()` waiting for it, so the first write does not pay
   * for it (default true). The CLI, whose engine lives for one command that often only reads, leaves it to the first
   * write: booting it cost a read-only command 50-70 ms.
   */
  warmStore?: boolean;
}

/** How {@link OrchestrationEngine.shutdown} stops. */
export interface ShutdownOptions {
  /** How long running tasks get to finish before they are cancelled (default: the engine's `shutdownGraceMs`). */
  graceMs?: number;
}

/** One runtime: the bus, worker pool, store and module registry, the component actors, and the seed's facades (`getTaskOrchestrator()`, `getWorkflowManager()`, ...). Make one with `getOrchestrationEngine()` or `createOrchestrationEngine(options)`; end it with `shutdown()`. */
export class OrchestrationEngine extends EngineApi {
  readonly id = randomUUID();
  readonly #artifactCommands = artifactCommands(
    this.id,
    (runId) => this.workflows.getRun(runId),
    () => this.artifacts.store,
  );
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
  readonly tasks: TaskOrchestratorClient;
  readonly workflows: WorkflowManagerClient;
  readonly resources: ResourceManagerClient;
  readonly projects: ProjectManagerClient;
  /** Capacities and holds, shared by the resource manager and the task orchestrator's admission. */
  readonly ledger: ResourceLedger;
  /** This engine's Prometheus metrics (its own registry); null when `metrics.enabled` is false. */
  readonly metrics: EngineMetrics | null;
  readonly #views: EngineViews;
  readonly #composition: EngineComposition;
  #edges: AttachedEdge[] = [];
  readonly #triggerTransport = new BehaviorSubject<TriggerTransport | null>(null);
  /** Loaded while the engine starts when `options.tracing.enabled`; no OpenTelemetry module loaded otherwise. */
  readonly #tracing: EngineTracing;
  /** The bus as the library's clients use it (it stamps the active trace context on what they start). */
  #clientBus: MessageBus;
  #stopSweeps: (() => void) | null = null;

  /**
   * Opens the store first: a database that is corrupt, newer than this code, or held by another engine makes the
   * constructor throw a `StoreError` naming the file, before any thread starts.
   */
  constructor(options: EngineOptions = {}, defaults: OptionDefaults = {}, composition: EngineComposition = {}) {
    super();
    this.#composition = composition;
    this.options = compileOptions(options, process.env, defaults);
    this.bus = new InMemoryBus();
    const parts = openParts(this.options, this.id, this.bus, composition.store);
    ({
      store: this.store,
      commits: this.commits,
      journal: this.#journal,
      pool: this.pool,
      artifacts: this.artifacts,
    } = parts);
    // Anything that throws from here on must not leave threads running or the store locked.
    try {
      const clock = composition.clock ?? systemClock;
      this.ledger = busLedger(this.bus, clock);
      // Metrics subscribe before any component runs, so they see every event.
      this.metrics = this.options.metrics.enabled
        ? new EngineMetrics({
            bus: this.bus,
            pool: this.pool,
            state: () => this.state,
            startedAt: this.#startedAt,
            processMetrics: this.options.metrics.processMetrics,
            observeTasksDirectly: true,
          })
        : null;
      this.metrics?.instrumentStore(this.store);
      this.#tracing = new EngineTracing(this.bus, this.metrics, this.options.tracing);
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
      const localRunner = new LocalPoolRunner(this.pool, clock, {
        batching: this.options.batchDispatch,
        artifacts: this.artifacts,
      });
      const runner = composition.runner ? composition.runner(localRunner, this) : localRunner;
      const deps: EngineDeps = {
        runner: this.#tracing.runner(runner, clock),
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
        runTraceparent: this.#tracing.runTraceparent(),
      };
      this.#actor = createActor(componentRuntime(deps), { systemId: 'engine' });
      this.#actor.start();
      this.#ready = this.#init();
      // Callers see start-up failures on their first request; this keeps an unobserved failure from crashing.
      this.#ready.catch(() => {});
      const ready = (): Promise<void> | null => (this.#started ? null : this.#ready);
      // With tracing on, what a library call starts inside an active span continues that span's trace.
      const clientBus = (this.#clientBus = this.#tracing.clientBus(this.bus));
      this.tasks = new TaskOrchestratorClient(clientBus, ready);
      this.workflows = new WorkflowManagerClient(clientBus, ready);
      this.resources = new ResourceManagerClient(clientBus, ready);
      this.projects = new ProjectManagerClient(clientBus, ready);
      this.serveCommands(this.#artifactCommands);
    } catch (err) {
      abandonParts(parts);
      throw err;
    }
  }

  async #init(): Promise<void> {
    // Start after the constructor returns, so handlers registered right after it see `recovery` and `engine_started`.
    await Promise.resolve();
    let files: string[] = [];
    // The store's writer thread boots while the engine recovers and loads; ready() waits for it.
    const warming = this.#composition.warmStore === false ? undefined : this.store.warm?.();
    try {
      await this.#tracing.load();
      if (this.options.moduleDirs.length) {
        this.#registry = await ModuleRegistry.load(this.options.moduleDirs);
        // User modules can fail inside workers only (a thread-local dependency): find out now, not task by task.
        await this.pool.booted(this.options.workerBootTimeoutMs);
      }
      files = await listDefinitionFiles(this.options.workflowDirs);
      await warming;
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
      await createFromFiles(this.bus, files, this.options.badDefinitionFiles);
      if (this.#composition.edges) this.#edges = await this.#composition.edges(this);
    } catch (err) {
      await this.#failStart(err);
    }
    this.#started = true;
    this.bus.publish('engine_started', { engineId: this.id, threads: this.options.threads });
    if (this.store.persistent) this.#stopSweeps = startArtifactSweeps(() => this.sweepArtifacts(), this.bus);
  }

  /**
   * Removes the artifacts of runs (and tasks) the store no longer has, once untouched for `minAgeMs` (default 10
   * minutes): what the store's retention deleted takes its files with it. Runs by itself every 5 minutes.
   */
  sweepArtifacts(minAgeMs = ARTIFACT_MIN_AGE_MS): Promise<ArtifactSweep> {
    return sweepArtifacts(this.store, this.artifacts.store, Date.now(), minAgeMs);
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

  /** @internal See {@link EngineApi.whenReady}. */
  protected whenReady(): Promise<void> | null {
    return this.#started ? null : this.#ready;
  }

  /**
   * The bus as the library's clients use it (it stamps the active trace context on what they start).
   * @internal
   */
  protected clientBus(): MessageBus {
    return this.#clientBus;
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

  /**
   * This engine's tracing once it started with tracing on (see docs/traces.md): edges start their spans with it, and
   * `tracing.traceIdOfRun(runId)` names a run's trace. Null with tracing off.
   */
  get tracing(): Tracing | null {
    return this.#tracing.current;
  }

  /** Where the HTTP edge (`/metrics`, `/healthz`, `/readyz`) listens; null when it is off or not yet listening. */
  get httpAddress(): HttpAddress | null {
    return this.#edges.find((e) => e.name === 'http')?.address ?? null;
  }

  /**
   * The engine's views (health, status, metrics), for the API's calls.
   * @internal
   */
  protected views(): EngineViews {
    return this.#views;
  }

  /**
   * Waits until the engine has finished starting, whichever way: the views describe a started engine (as the
   * seed's `health_check()` right after `get_orchestration_engine()` expects), or the failed one as it is.
   * @internal
   */
  protected async settled(): Promise<void> {
    if (!this.#started) await this.#ready.catch(() => undefined);
  }

  /**
   * Gives NATS triggers a message system to listen on (the daemon's NATS edge calls this once connected; null
   * detaches). Without one, NATS triggers are stored but not listening.
   */
  attachTriggerTransport(transport: TriggerTransport | null): void {
    this.#triggerTransport.next(transport);
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
    if (failure !== null)
      throw failure instanceof Error ? failure : new Error('a component failed to drain', { cause: failure });
  }

  /** Closes everything the engine holds, once: edges, metrics, holds' timers, the pool, commits, the store, the bus. */
  #release(): Promise<void> {
    this.#released ??= (async () => {
      this.#actor.stop();
      this.#stopSweeps?.();
      // /readyz answers 503 "draining" until here.
      await Promise.allSettled(this.#edges.map((e) => e.close()));
      this.metrics?.close();
      this.ledger.close();
      await this.pool.destroy();
      await this.#tracing.shutdown();
      await Promise.all([this.#artifactCommands.close(), this.artifacts.close()]);
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
