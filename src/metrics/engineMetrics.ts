/**
 * The metrics of one engine: its own prom-client {@link Registry} (never the global default one), the families of
 * `families.ts`, the bus subscriptions that feed them, and the scrape-time reads of the pool, the scheduler and the
 * bus. Nothing here runs on the scheduler's hot path: task metrics come from the events the scheduler publishes
 * anyway (`task_started` carries `queuedMs`, terminal events carry `durationMs` and `error.code`), and gauges are
 * read only when someone scrapes.
 */
import { ScheduleMetrics } from './scheduleMetrics.js';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { TaskObserver } from '../model/taskView.js';
import type { SchedulerStats } from '../model/taskView.js';
import type { TaskStatus } from '../model/task.js';
import type { Observable } from 'rxjs';
import type { BusEvent, BusStats, EventMap, EventName } from '../model/events.js';
import { ErrorCode, serializeError } from '../errors.js';
import type { RuntimeState } from '../model/runtime.js';
import type { Store } from '../store/store.js';
import type { WorkerPool } from '../workers/pool.js';
import type { Families, ResourceUsage, ScrapeSnapshot } from './families.js';
import { createFamilies } from './families.js';
import type { FlowFamilies } from './flow.js';
import { createFlowFamilies } from './flow.js';
import { PerformanceTracker } from './perf.js';
import type { HistogramSeries } from './fastHistogram.js';
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

/** The events the metrics listen to. Task events that carry nothing measured (`task_added`, `task_queued`) are left out, so the scheduler still skips building them when nobody else listens. */
const FED_BY: readonly EventName[] = [
  'task_started',
  'task_retrying',
  'task_completed',
  'task_failed',
  'task_timed_out',
  'task_cancelled',
  'task_skipped',
  'workflow_started',
  'workflow_completed',
  'step_completed',
  'step_failed',
  'step_skipped',
  'step_waiting',
  'resource_allocated',
  'resource_released',
  'resource_expired',
  'session_created',
  'session_closed',
  'handler_error',
];

/** The label objects of one module.action. */
interface ActionLabels {
  /** `module.action`, the performance summary's key. */
  key: string;
  /** The series of each status, bound once (prom-client's children skip hashing the labels on every task). */
  byStatus: Map<string, { total: { inc(): void }; duration: HistogramSeries }>;
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** Error codes are a closed set; anything else (a remote worker's own code) is counted as `OTHER`. */
function boundedCode(code: string): string {
  return KNOWN_CODES.has(code) ? code : 'OTHER';
}

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
  // In-flight things whose end event does not repeat their labels: bounded by what is open right now.
  readonly #runs = new Map<string, string>();
  /** Steps waiting now (`<runId>.<step>`), with their gauge labels. */
  readonly #waiting = new Map<string, { workflow: string; kind: string }>();
  readonly #sessions = new Map<string, string>();
  readonly #holds = new Map<string, string[]>();
  // Label objects of the per-task events, built once per module/action/status and reused (no allocation per task).
  readonly #actions = new Map<string, Map<string, ActionLabels>>();
  /** Schedules' and triggers' families (scheduleMetrics.ts). */
  readonly schedules: ScheduleMetrics;
  readonly #priorities = new Map<string, { observe(value: number): void }>();
  #spansDropped: Counter | null = null;
  /** With tracing on: the trace of a task's latest sampled attempt (its duration's exemplar). */
  #traceOfTask: ((taskId: string) => string | null) | null = null;

  constructor(deps: MetricsDeps) {
    this.#deps = deps;
    this.families = { ...createFamilies(this.registry, () => this.#snapshot(), deps.startedAt), ...createFlowFamilies(this.registry, () => this.#snapshot()) };
    this.schedules = new ScheduleMetrics(this.registry, deps.bus);
    for (const type of FED_BY) {
      if (deps.observeTasksDirectly === true && type.startsWith('task_')) continue;
      this.#subs.push(deps.bus.events$(type).subscribe((event) => this.#record(event)));
    }
  }

  /** The scheduler's direct feed of task metrics (see `observeTasksDirectly`). Same families as the events feed. */
  readonly taskObserver: TaskObserver = {
    started: (_module, _action, priority, queuedMs) => {
      let wait = this.#priorities.get(priority);
      if (!wait) this.#priorities.set(priority, (wait = this.families.taskQueueWait.labels({ priority })));
      wait.observe(queuedMs / 1000);
    },
    retrying: (module, action, code) => {
      this.families.taskRetries.inc({ module, action, code: boundedCode(code) });
    },
    ended: (module, action, status, errorCode, durationMs, taskId) => {
      this.#taskEnded(module, action, status, errorCode, durationMs, Date.now(), taskId);
    },
  };

  #taskEnded(module: string, action: string, status: TaskStatus, errorCode: string | null, durationMs: number | null, at: number, taskId: string): void {
    const f = this.families;
    const entry = this.#actionLabels(module, action);
    let series = entry.byStatus.get(status);
    if (!series) {
      const labels = { module, action, status };
      entry.byStatus.set(status, (series = { total: f.tasksTotal.labels(labels), duration: f.taskDuration.labels(labels) }));
    }
    series.total.inc();
    const success = status === 'completed';
    if (!success) f.taskFailures.inc({ module, action, code: boundedCode(errorCode ?? 'INTERNAL') });
    if (durationMs !== null) {
      // With tracing on, the task's sampled trace rides along as the bucket's exemplar (OpenMetrics scrapes show it).
      const traceOf = this.#traceOfTask;
      if (traceOf === null) series.duration.observe(durationMs / 1000);
      else series.duration.observe(durationMs / 1000, traceOf(taskId) ?? undefined);
    }
    this.taskPerformance.record(entry.key, status, success, durationMs, at);
  }

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
    return this.#runs.size;
  }

  /** Open sessions by mode, as seen on the bus. */
  sessionsByMode(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const mode of this.#sessions.values()) out[mode] = (out[mode] ?? 0) + 1;
    return out;
  }

  /** Allocations holding resources right now, as seen on the bus. */
  get activeHolds(): number {
    return this.#holds.size;
  }

  /**
   * Adds `codomyrmex_trace_spans_dropped_total` (the engine traces), and exemplars on the task-duration histogram:
   * `traceOfTask` names the trace of a task's latest sampled attempt (null: none, no exemplar).
   */
  enableTraceMetrics(traceOfTask?: (taskId: string) => string | null): void {
    if (traceOfTask) this.#traceOfTask = traceOfTask;
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
      pool: { ...pool.stats(), configuredThreads: pool.options.threads, concurrentTasksPerWorker: pool.options.concurrentTasksPerWorker, destroyed: pool.destroyed },
      bus: { ...bus.stats(), connected: bus.connected },
      resources,
    };
  }

  // ---------------------------------------------------------------- events

  #record(event: BusEvent): void {
    try {
      this.#apply(event);
    } catch (err) {
      // A bug here must not reach the publisher (the scheduler): report it like a failing event handler.
      if (event.type !== 'handler_error') this.#reportError(event.type, err);
    }
  }

  #reportError(where: string, err: unknown): void {
    this.#deps.bus.publish('handler_error', { event: `metrics:${where}`, error: serializeError(err) });
  }

  #actionLabels(module: string, action: string): ActionLabels {
    let byAction = this.#actions.get(module);
    if (!byAction) this.#actions.set(module, (byAction = new Map<string, ActionLabels>()));
    let entry = byAction.get(action);
    if (!entry) byAction.set(action, (entry = { key: `${module}.${action}`, byStatus: new Map() }));
    return entry;
  }

  #apply(event: BusEvent): void {
    const f = this.families;
    switch (event.type) {
      case 'task_started': {
        const priority = event.data.priority;
        let wait = this.#priorities.get(priority);
        if (!wait) this.#priorities.set(priority, (wait = f.taskQueueWait.labels({ priority })));
        wait.observe(event.data.queuedMs / 1000);
        return;
      }
      case 'task_retrying': {
        const d = event.data;
        f.taskRetries.inc({ module: d.module, action: d.action, code: boundedCode(d.error.code) });
        return;
      }
      case 'task_completed':
      case 'task_failed':
      case 'task_timed_out':
      case 'task_cancelled':
      case 'task_skipped': {
        const d = event.data;
        this.#taskEnded(d.module, d.action, d.status, d.success ? null : d.error.code, 'durationMs' in d ? d.durationMs : null, event.timestamp, d.taskId);
        return;
      }
      case 'workflow_started':
        this.#runs.set(event.data.runId, event.data.workflowName);
        f.workflowActive.inc({ workflow: event.data.workflowName });
        return;
      case 'workflow_completed': {
        const d = event.data;
        if (this.#runs.delete(d.runId)) f.workflowActive.dec({ workflow: d.workflowName });
        f.workflowRuns.inc({ workflow: d.workflowName, status: d.status });
        f.workflowDuration.observe({ workflow: d.workflowName, status: d.status }, d.durationMs / 1000);
        this.workflowPerformance.record(d.workflowName, d.status, d.success, d.durationMs, event.timestamp);
        return;
      }
      case 'step_waiting': {
        const key = `${event.data.runId}.${event.data.step}`;
        if (this.#waiting.has(key)) return;
        const labels = { workflow: event.data.workflowName, kind: event.data.signal !== null ? 'signal' : 'sleep' };
        this.#waiting.set(key, labels);
        f.workflowStepsWaiting.inc(labels);
        return;
      }
      case 'step_completed':
        this.#stepEnded(event.data.runId, event.data.step);
        f.workflowSteps.inc({ workflow: event.data.workflowName, module: event.data.module, action: event.data.action, status: 'completed' });
        return;
      case 'step_failed':
        this.#stepEnded(event.data.runId, event.data.step);
        f.workflowSteps.inc({ workflow: event.data.workflowName, module: event.data.module, action: event.data.action, status: event.data.status });
        return;
      case 'step_skipped':
        this.#stepEnded(event.data.runId, event.data.step);
        f.workflowSteps.inc({ workflow: event.data.workflowName, module: event.data.module, action: event.data.action, status: 'skipped' });
        return;
      case 'resource_allocated': {
        const ids = Object.keys(event.data.resources);
        for (const resource of ids) f.resourceAllocations.inc({ resource });
        if (this.#holds.has(event.data.allocationId)) return;
        this.#holds.set(event.data.allocationId, ids);
        for (const resource of ids) f.resourceHolds.inc({ resource });
        return;
      }
      case 'resource_expired':
        for (const resource of event.data.resourceIds) f.resourceExpiries.inc({ resource });
        this.#release(event.data.allocationId);
        return;
      case 'resource_released':
        this.#release(event.data.allocationId);
        return;
      case 'session_created':
        if (this.#sessions.has(event.data.sessionId)) return;
        this.#sessions.set(event.data.sessionId, event.data.mode);
        f.sessionsCreated.inc({ mode: event.data.mode });
        f.sessionsActive.inc({ mode: event.data.mode });
        return;
      case 'session_closed': {
        const mode = this.#sessions.get(event.data.sessionId);
        if (mode === undefined) return;
        this.#sessions.delete(event.data.sessionId);
        f.sessionsActive.dec({ mode });
        f.sessionsClosed.inc({ mode });
        return;
      }
      case 'handler_error':
        f.handlerErrors.inc({ event: event.data.event });
        return;
      default:
        return;
    }
  }

  /** Ends a hold once, whether the resource manager reports it as released, expired, or both. */
  /** A step ended: if it was waiting, it no longer is. */
  #stepEnded(runId: string, step: string): void {
    const key = `${runId}.${step}`;
    const labels = this.#waiting.get(key);
    if (!labels) return;
    this.#waiting.delete(key);
    this.families.workflowStepsWaiting.dec(labels);
  }

  #release(allocationId: string): void {
    const ids = this.#holds.get(allocationId);
    if (!ids) return;
    this.#holds.delete(allocationId);
    for (const resource of ids) this.families.resourceHolds.dec({ resource });
  }
}
