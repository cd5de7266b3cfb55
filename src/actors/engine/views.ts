/**
 * The engine's read-only views: `healthCheck()`, `getSystemStatus()`, `getMetrics()`, `getPerformanceSummary()`
 * (the last two counted in metricViews.ts), and the liveness/readiness answers of the HTTP edge. Everything is read
 * live from the components (over the bus where a component owns the data) or from the engine's metrics, never from
 * a cache that could drift.
 *
 * Components that arrive later (sessions, resources, projects) plug in with {@link EngineViews.registerComponent}:
 * a health check, a status section and a metrics section under their name, merged over the placeholders here.
 * Projects and flow control have no view of their own: their sections are read over the bus.
 */
import type { MessageBus } from '../../bus/bus.js';
import type { SchedulerStats } from '../../bus/protocol.js';
import type { CompiledOptions } from '../../config/options.js';
import type { RuntimeState } from '../../machines/runtime.js';
import type { EngineMetrics } from '../../metrics/engineMetrics.js';
import type { ResourceUsage } from '../../metrics/families.js';
import type { ExpositionFormat } from '../../metrics/openMetrics.js';
import type { Store } from '../../store/store.js';
import type { WorkerPool } from '../../workers/pool.js';
import type { HttpAddress, PoolStatus, SystemStatus } from '../../model/status.js';
import type { ComponentHealth, HealthCheck, HealthReport } from './health.js';
import { checkBus, checkEngine, checkPool, checkQueue, checkStore, runCheck, worstStatus } from './health.js';
import type { EngineMetricsView, PerformanceFilter, PerformanceSummary } from './metricViews.js';
import { metricCounts, performanceSummary } from './metricViews.js';

export type { HttpAddress, PoolStatus, SystemStatus };

/** The `/readyz` answer. */
export interface Readiness {
  ready: boolean;
  status: 'ready' | 'not_ready' | 'draining';
  state: RuntimeState;
  checks: Record<string, { ok: boolean; detail: string }>;
}

/** The `/healthz` answer. */
export interface Liveness {
  alive: boolean;
  state: RuntimeState;
  uptimeSeconds: number;
  /** A daemon sharing a PostgreSQL database: `active` (holds the lease) or `standby`. */
  role?: 'active' | 'standby';
}

/** What the edge serves; the engine provides it. */
export interface HttpHandlers {
  /**
   * The exposition in `format` (default: the Prometheus text format; the edge passes what the scrape's `Accept`
   * asks for) and its content type; null when metrics are turned off.
   */
  metrics: ((format?: ExpositionFormat) => Promise<{ contentType: string; body: string }>) | null;
  readiness: () => Readiness;
  liveness: () => Liveness;
}

/** What a later component contributes to the views. Every part is optional. */
export interface ComponentView {
  /** Joins `healthCheck().components[name]`. */
  health?: HealthCheck;
  /** Merged over `getSystemStatus()[name]`. */
  status?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Merged over `getMetrics()[name]`. */
  metrics?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** A cheap check joining `/readyz` (e.g. an edge that is not connected yet keeps the engine not ready). */
  ready?: () => { ok: boolean; detail: string };
}

export interface ViewDeps {
  engineId: string;
  bus: MessageBus;
  pool: WorkerPool;
  store: Store;
  /** The group committer's failure while commits keep failing, else null. */
  storeFault: () => Error | null;
  options: CompiledOptions;
  metrics: EngineMetrics | null;
  state: () => RuntimeState;
  /** Epoch ms. */
  startedAt: number;
  httpAddress: () => HttpAddress | null;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class EngineViews {
  readonly #deps: ViewDeps;
  readonly #components = new Map<string, ComponentView>();

  constructor(deps: ViewDeps) {
    this.#deps = deps;
    const projectCounts = async (): Promise<Record<string, unknown>> => ({
      ...(await deps.bus.request('project.stats', {})),
    });
    this.registerComponent('projects', { metrics: projectCounts, status: projectCounts });
    this.registerComponent('flow', {
      status: async () => ({ ...(await deps.bus.request('task.flow_status', { top: 10 })) }),
    });
  }

  /**
   * Adds a component's health check, status and metrics sections under `name` (`sessions`, `resources`, ...).
   * Returns a function that removes them.
   */
  registerComponent(name: string, view: ComponentView): () => void {
    this.#components.set(name, view);
    return () => {
      if (this.#components.get(name) === view) this.#components.delete(name);
    };
  }

  #schedulerStats(): Promise<SchedulerStats> {
    return this.#deps.bus.request('task.stats', {});
  }

  async #schedulerOrNull(): Promise<SchedulerStats | null> {
    if (!this.#deps.bus.connected) return null;
    try {
      return await this.#schedulerStats();
    } catch {
      return null;
    }
  }

  /** Every component checked for real, concurrently. */
  async healthCheck(): Promise<HealthReport> {
    const { bus, pool, store, options, state } = this.#deps;
    const timeoutMs = options.health.probeTimeoutMs;
    let running: number | null = null;
    const checks: [string, Promise<ComponentHealth>][] = [
      ['engine', runCheck(() => checkEngine(state()), timeoutMs)],
      ['pool', runCheck(() => checkPool(pool, timeoutMs, () => running), timeoutMs + 1000)],
      ['store', runCheck(() => checkStore(store, this.#deps.storeFault()), timeoutMs)],
      ['bus', runCheck(() => checkBus(bus), timeoutMs)],
      [
        'queue',
        runCheck(
          () =>
            checkQueue(
              () =>
                this.#schedulerStats().then((s) => {
                  running = s.running;
                  return s;
                }),
              { stuckMs: options.health.queueStuckMs, poolCapacity: pool.capacity, timeoutMs },
            ),
          timeoutMs + 1000,
        ),
      ],
    ];
    for (const [name, view] of this.#components) if (view.health) checks.push([name, runCheck(view.health, timeoutMs)]);
    const components: Record<string, ComponentHealth> = {};
    for (const [name, result] of checks) components[name] = await result;
    const all = Object.entries(components);
    return {
      overallStatus: worstStatus(all.map(([, c]) => c.status)),
      timestamp: new Date().toISOString(),
      components,
      issues: all.filter(([, c]) => c.status !== 'healthy').map(([name, c]) => `${name}: ${c.detail}`),
    };
  }

  /** Cheap checks for `/readyz`: running (not starting or draining), pool up, store writable, bus connected. */
  readiness(): Readiness {
    const { bus, pool, store, state } = this.#deps;
    const now = state();
    const storeCheck = checkStore(store, this.#deps.storeFault());
    const checks = {
      engine: { ok: now === 'running', detail: now },
      pool: {
        ok: !pool.destroyed && pool.stats().threads > 0,
        detail: pool.destroyed ? 'destroyed' : `${pool.stats().threads} threads`,
      },
      store: { ok: storeCheck.status === 'healthy', detail: storeCheck.detail },
      bus: { ok: bus.connected, detail: bus.connected ? 'connected' : 'closed' },
    } as Record<string, { ok: boolean; detail: string }>;
    for (const [name, view] of this.#components) if (view.ready) checks[name] = view.ready();
    const ready = Object.values(checks).every((c) => c.ok);
    return { ready, status: ready ? 'ready' : now === 'draining' ? 'draining' : 'not_ready', state: now, checks };
  }

  /** What the HTTP edge serves. */
  httpHandlers(): HttpHandlers {
    const { metrics } = this.#deps;
    return {
      metrics: metrics
        ? async (format = 'prometheus') => ({
            contentType: metrics.contentTypeOf(format),
            body: await metrics.expose(format),
          })
        : null,
      readiness: () => this.readiness(),
      liveness: () => this.liveness(),
    };
  }

  /** `/healthz`: the process answers and the engine has not failed. */
  liveness(): Liveness {
    const state = this.#deps.state();
    return { alive: state !== 'failed', state, uptimeSeconds: (Date.now() - this.#deps.startedAt) / 1000 };
  }

  #poolStatus(scheduler: SchedulerStats | null): PoolStatus {
    const { pool } = this.#deps;
    const s = pool.stats();
    const running = scheduler?.running ?? 0;
    const busyThreads = Math.min(
      s.threads,
      Math.ceil(Math.min(running, s.capacity) / pool.options.concurrentTasksPerWorker),
    );
    return {
      threads: s.threads,
      busyThreads,
      capacity: s.capacity,
      running,
      utilization: s.capacity > 0 ? Math.min(1, running / s.capacity) : 0,
      queued: s.queued,
      completed: s.completed,
      threadsStarted: s.threadsStarted,
      restarts: Math.max(0, s.threadsStarted - pool.options.threads),
      destroyed: pool.destroyed,
    };
  }

  async #sections(
    kind: 'status' | 'metrics',
    base: Record<string, Record<string, unknown>>,
  ): Promise<Record<string, Record<string, unknown>>> {
    const out = { ...base };
    for (const [name, view] of this.#components) {
      const provide = view[kind];
      if (!provide) continue;
      try {
        out[name] = { ...(out[name] ?? {}), ...(await provide()) };
      } catch (err) {
        out[name] = { ...(out[name] ?? {}), error: errorMessage(err) };
      }
    }
    return out;
  }

  async #resources(): Promise<ResourceUsage[]> {
    return (await this.#deps.metrics?.resourceUsage()) ?? [];
  }

  async #workflowCount(): Promise<number | null> {
    if (!this.#deps.bus.connected) return null;
    try {
      return (await this.#deps.bus.request('workflow.list', {})).length;
    } catch {
      return null;
    }
  }

  /** Uptime, state, tasks, queue, pool, bus, store, and the sections later components fill. */
  async getSystemStatus(): Promise<SystemStatus> {
    const { engineId, bus, store, metrics, state, startedAt, httpAddress } = this.#deps;
    const [scheduler, registered, resourceList] = await Promise.all([
      this.#schedulerOrNull(),
      this.#workflowCount(),
      this.#resources(),
    ]);
    const storeCheck = checkStore(store, this.#deps.storeFault());
    const sessionsByMode = metrics?.sessionsByMode() ?? {};
    const base: Record<string, Record<string, unknown>> = {
      workflows: { registered, runsInFlight: metrics?.runsInFlight ?? 0 },
      sessions: { active: Object.values(sessionsByMode).reduce((a, b) => a + b, 0), byMode: sessionsByMode },
      resources: { activeHolds: metrics?.activeHolds ?? 0, resources: resourceList },
      projects: {},
    };
    const sections = await this.#sections('status', base);
    const busStats = bus.stats();
    const { workflows = {}, sessions = {}, resources = {}, projects = {}, ...others } = sections;
    const status: SystemStatus = {
      engineId,
      state: state(),
      timestamp: new Date().toISOString(),
      startedAt: new Date(startedAt).toISOString(),
      uptimeSeconds: (Date.now() - startedAt) / 1000,
      tasks: scheduler,
      queueDepth: scheduler?.queued ?? 0,
      runsInFlight: metrics?.runsInFlight ?? 0,
      pool: this.#poolStatus(scheduler),
      bus: { kind: bus.kind, connected: bus.connected, ...busStats },
      store: {
        kind: store.kind,
        writable: storeCheck.status === 'healthy',
        error: storeCheck.status === 'healthy' ? null : storeCheck.detail,
      },
      workflows,
      sessions,
      resources,
      projects,
      http: httpAddress(),
    };
    // Sections of later components; they never replace a built-in one.
    for (const [name, section] of Object.entries(others)) if (!(name in status)) status[name] = section;
    return status;
  }

  /** Counts per domain: `sessions.total`, `workflows`, `tasks`, `resources`, `projects` (the seed's `get_metrics()`). */
  async getMetrics(): Promise<EngineMetricsView> {
    const base = await metricCounts(this.#deps.metrics, {
      scheduler: () => this.#schedulerOrNull(),
      workflowCount: () => this.#workflowCount(),
      resources: () => this.#resources(),
    });
    const sections = await this.#sections('metrics', base);
    return { timestamp: new Date().toISOString(), ...sections } as EngineMetricsView;
  }

  /** Durations per `module.action` and per workflow (see `performanceSummary`). */
  getPerformanceSummary(filter: PerformanceFilter = {}): PerformanceSummary {
    return performanceSummary(this.#deps.metrics, filter);
  }
}
