/**
 * The metrics of one engine: its own prom-client {@link Registry} (never the global default one), the families of
 * `families.ts`, the feeds that keep them (`taskFeed.ts`: the scheduler's direct reports of task starts and ends;
 * `eventFeed.ts`: the bus events of runs, steps, resources and sessions), the scrape-time reads of the pool, the
 * scheduler and the bus, and the exposition in either format (`openMetrics.ts`). Little runs on the scheduler's hot
 * path: a task's end is a few additions on series bound once, and gauges are read only when someone scrapes.
 */
import { ScheduleMetrics } from './scheduleMetrics.js';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { SchedulerStats, TaskObserver } from '../model/taskView.js';
import type { Observable } from 'rxjs';
import type { BusEvent, BusStats, EventMap, EventName } from '../model/events.js';
import { serializeError } from '../errors.js';
import type { RuntimeState } from '../model/runtime.js';
import type { Store } from '../store/store.js';
import type { WorkerPool } from '../workers/pool.js';
import type { Families, ResourceUsage, ScrapeSnapshot } from './families.js';
import { createFamilies } from './families.js';
import type { FlowFamilies } from './flow.js';
import { createFlowFamilies } from './flow.js';
import { PerformanceTracker } from './perf.js';
import { EventFeed, FED_BY } from './eventFeed.js';
import { TaskFeed } from './taskFeed.js';
import type { ExpositionFormat } from './openMetrics.js';
import { OPENMETRICS_CONTENT_TYPE, openMetricsText } from './openMetrics.js';

/** The part of the bus the metrics use (the engine's bus has it): events in, the scheduler's stats, error reports out. */
export interface MetricsBus {
  readonly connected: boolean;
  events$(type?: EventName): Observable<BusEvent>;
  publish(type: 'handler_error', data: EventMap['handler_error']): void;
  request(type: 'task.stats', payload: Record<string, never>): Promise<SchedulerStats>;
  stats(): BusStats;
}

export interface MetricsDeps {
  bus: MetricsBus;
  pool: WorkerPool;
  state: () => RuntimeState;
  /** Epoch ms the engine was created. */
  startedAt: number;
  /** Register prom-client's default process metrics on first exposition. */
  processMetrics: boolean;
  /**
   * The scheduler reports task starts, retries and ends through {@link EngineMetrics.taskObserver} (no task events
   * are built or dispatched for metrics). Without it, task metrics follow the `task_*` events on the bus.
   */
  observeTasksDirectly?: boolean;
}

/** Reports the resources' capacity and allocation at scrape time. Amounts in base units (see {@link ResourceUsage}). */
export type ResourceSource = () => ResourceUsage[] | Promise<ResourceUsage[]>;

/**
 * The metrics of one engine.
 *
 * @example
 * const text = await engine.metrics!.expose();          // the Prometheus text exposition
 * engine.metrics!.setResourceSource(() => [{ resource: 'gpu0', type: 'gpu', unit: 'units', capacity: 1, allocated: 1 }]);
 */
export class EngineMetrics {
  /** This engine's registry. Register your own families on it to have them served on `/metrics`. */
  readonly registry = new Registry();
  readonly families: Families & FlowFamilies;
  /** Task outcomes and durations by `module.action`. */
  readonly taskPerformance = new PerformanceTracker();
  /** Workflow run outcomes and durations by workflow name. */
  readonly workflowPerformance = new PerformanceTracker();
  readonly #deps: MetricsDeps;
  readonly #subs: Subscription[] = [];
  #resourceSource: ResourceSource | null = null;
  #pending: Promise<ScrapeSnapshot> | null = null;
  #processMetricsAdded = false;
  readonly #tasks: TaskFeed;
  readonly #events: EventFeed;
  /** Schedules' and triggers' families (scheduleMetrics.ts). */
  readonly schedules: ScheduleMetrics;
  #spansDropped: Counter | null = null;

  constructor(deps: MetricsDeps) {
    this.#deps = deps;
    this.families = {
      ...createFamilies(this.registry, () => this.#snapshot(), deps.startedAt),
      ...createFlowFamilies(this.registry, () => this.#snapshot()),
    };
    this.schedules = new ScheduleMetrics(this.registry, deps.bus);
    this.#tasks = new TaskFeed(this.families, this.taskPerformance);
    this.taskObserver = this.#tasks.observer;
    this.#events = new EventFeed(this.families, this.#tasks, this.workflowPerformance);
    for (const type of FED_BY) {
      if (deps.observeTasksDirectly === true && type.startsWith('task_')) continue;
      this.#subs.push(deps.bus.events$(type).subscribe((event) => this.#record(event)));
    }
  }

  /** The scheduler's direct feed of task metrics (see `observeTasksDirectly`). Same families as the events feed. */
  readonly taskObserver: TaskObserver;

  /** The `Content-Type` of {@link expose}'s text in the Prometheus text format. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The `Content-Type` of {@link expose}'s text in `format`. */
  contentTypeOf(format: ExpositionFormat): string {
    return format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : this.registry.contentType;
  }

  /**
   * The exposition of every family (process metrics included unless turned off): the Prometheus text format, or
   * OpenMetrics (`format: 'openmetrics'`, what a scrape asking for `application/openmetrics-text` gets), whose
   * task-duration buckets carry exemplars with the trace id of a sampled task when tracing is on.
   */
  expose(format: ExpositionFormat = 'prometheus'): Promise<string> {
    this.addProcessMetrics();
    return format === 'openmetrics' ? openMetricsText(this.registry) : this.registry.metrics();
  }

  /**
   * Registers prom-client's default process metrics (`process_*`, `nodejs_*`) on this registry, once. Done lazily
   * (on first exposition, or when the HTTP edge starts) because each registration starts an event-loop-delay
   * monitor and a GC observer that prom-client never stops: engines nobody scrapes should not pay for them.
   */
  addProcessMetrics(): void {
    if (this.#processMetricsAdded || !this.#deps.processMetrics) return;
    this.#processMetricsAdded = true;
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * The hook for the resource manager: `source` is called at each scrape and feeds
   * `codomyrmex_resource_capacity`, `_allocated` and `_utilization_ratio`. Returns a function that removes it.
   */
  setResourceSource(source: ResourceSource): () => void {
    this.#resourceSource = source;
    return () => {
      if (this.#resourceSource === source) this.#resourceSource = null;
    };
  }

  /**
   * The hook for stores: one write of `batchSize` rows that took `seconds` (`failed` when it threw). The engine
   * times every `store.commit` with it ({@link instrumentStore}); a store with other writes reports them here under
   * their own `op` names.
   */
  observeStoreWrite(op: string, seconds: number, batchSize: number, failed = false): void {
    const f = this.families;
    if (failed) {
      f.storeWriteFailures.inc({ op });
      return;
    }
    f.storeWriteDuration.observe({ op }, seconds);
    f.storeBatchSize.observe({ op }, batchSize);
  }

  /**
   * Times `store.commit` (every write goes through it: the group committer's batches, `putTasks`, heartbeats)
   * without changing the store's code: the method is wrapped on this instance. Works for any {@link Store}. The
   * batch size counts tasks, journal events, records and meta keys.
   */
  instrumentStore(store: Store): void {
    const commit = store.commit.bind(store);
    store.commit = (batch) => {
      const rows = batch.tasks.length + batch.events.length + batch.records.length + Object.keys(batch.meta).length;
      const t0 = performance.now();
      try {
        commit(batch);
      } catch (err) {
        this.observeStoreWrite('commit', 0, rows, true);
        throw err;
      }
      this.observeStoreWrite('commit', (performance.now() - t0) / 1000, rows);
    };
  }

  /** What the resource source reports now (empty without one, or when it throws: reported as `handler_error`). */
  async resourceUsage(): Promise<ResourceUsage[]> {
    if (!this.#resourceSource) return [];
    try {
      return await this.#resourceSource();
    } catch (err) {
      this.#reportError('resource_source', err);
      return [];
    }
  }

  /** Workflow runs started and not yet ended, as seen on the bus. */
  get runsInFlight(): number {
    return this.#events.runsInFlight;
  }

  /** Open sessions by mode, as seen on the bus. */
  sessionsByMode(): Record<string, number> {
    return this.#events.sessionsByMode();
  }

  /** Allocations holding resources right now, as seen on the bus. */
  get activeHolds(): number {
    return this.#events.activeHolds;
  }

  /**
   * Adds `codomyrmex_trace_spans_dropped_total` (the engine traces), and exemplars on the task-duration histogram:
   * `traceOfTask` names the trace of a task's latest sampled attempt (null: none, no exemplar).
   */
  enableTraceMetrics(traceOfTask?: (taskId: string) => string | null): void {
    if (traceOfTask) this.#tasks.traceOfTask = traceOfTask;
    this.#spansDropped ??= new Counter({
      name: 'codomyrmex_trace_spans_dropped_total',
      help: 'Spans that could not be exported (an unreachable or refusing OTLP endpoint): dropped, never retried, never slowing a task.',
      registers: [this.registry],
    });
  }

  /** Counts spans an export dropped. */
  traceSpansDropped(spans: number): void {
    this.#spansDropped?.inc(spans);
  }

  /** Stops listening to the bus. Families keep their last values. */
  close(): void {
    this.schedules.close();
    for (const sub of this.#subs) sub.unsubscribe();
    this.#subs.length = 0;
  }

  // ---------------------------------------------------------------- scrape time

  /** One read of the engine per scrape, shared by every family's `collect` (they all start in the same tick). */
  #snapshot(): Promise<ScrapeSnapshot> {
    this.#pending ??= this.#read().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #read(): Promise<ScrapeSnapshot> {
    const { bus, pool } = this.#deps;
    const scheduler = bus.connected ? await bus.request('task.stats', {}).catch(() => null) : null;
    const resources = await this.resourceUsage();
    return {
      state: this.#deps.state(),
      scheduler,
      pool: {
        ...pool.stats(),
        configuredThreads: pool.options.threads,
        concurrentTasksPerWorker: pool.options.concurrentTasksPerWorker,
        destroyed: pool.destroyed,
      },
      bus: { ...bus.stats(), connected: bus.connected },
      resources,
    };
  }

  // ---------------------------------------------------------------- events

  #record(event: BusEvent): void {
    try {
      this.#events.apply(event);
    } catch (err) {
      // A bug here must not reach the publisher (the scheduler): report it like a failing event handler.
      if (event.type !== 'handler_error') this.#reportError(event.type, err);
    }
  }

  #reportError(where: string, err: unknown): void {
    this.#deps.bus.publish('handler_error', { event: `metrics:${where}`, error: serializeError(err) });
  }
}
