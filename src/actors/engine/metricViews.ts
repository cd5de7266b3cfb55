/**
 * The engine's counting views, read from its metrics: `getMetrics()` (counts per domain: sessions, workflows, tasks,
 * resources, projects) and `getPerformanceSummary()` (durations per action and per workflow).
 */
import type { SchedulerStats } from '../../bus/protocol.js';
import type { EngineMetrics } from '../../metrics/engineMetrics.js';
import type { ResourceUsage } from '../../metrics/families.js';
import type { PerformanceStats } from '../../metrics/perf.js';

/** `engine.getMetrics()`: counts per domain, as the seed's `get_metrics()` names them. */
export interface EngineMetricsView {
  timestamp: string;
  sessions: { total: number; active: number; closed: number; byMode: Record<string, number>; [k: string]: unknown };
  workflows: {
    registered: number | null;
    runs: number;
    runsInFlight: number;
    byStatus: Record<string, number>;
    [k: string]: unknown;
  };
  tasks: {
    total: number;
    byStatus: Record<string, number>;
    running: number;
    queued: number;
    retries: number;
    failuresByCode: Record<string, number>;
    [k: string]: unknown;
  };
  resources: {
    total: number;
    activeHolds: number;
    allocations: number;
    expiries: number;
    utilization: Record<string, number>;
    [k: string]: unknown;
  };
  projects: { total: number; [k: string]: unknown };
  [section: string]: unknown;
}

/** `engine.getPerformanceSummary()`. */
export interface PerformanceSummary {
  /** By `module.action`. */
  tasks: Record<string, PerformanceStats>;
  /** By workflow name. */
  workflows: Record<string, PerformanceStats>;
}

/** Which tasks `getPerformanceStats` summarises: of one module, action or workflow. */
export interface PerformanceFilter {
  module?: string;
  action?: string;
  workflow?: string;
}

type Sample = { labels: Partial<Record<string, string | number>>; value: number };

/** Sums a metric's samples, overall and by one label. */
async function sumBy(
  metric: { get(): Promise<{ values: Sample[] }> } | undefined,
  label?: string,
): Promise<{ total: number; by: Record<string, number> }> {
  const out = { total: 0, by: {} as Record<string, number> };
  if (!metric) return out;
  for (const v of (await metric.get()).values) {
    out.total += v.value;
    if (label === undefined) continue;
    const key = String(v.labels[label] ?? '');
    out.by[key] = (out.by[key] ?? 0) + v.value;
  }
  return out;
}

/** What the counts read besides the metrics: the scheduler's stats, the registered workflows, the resources. */
export interface CountSources {
  scheduler: () => Promise<SchedulerStats | null>;
  workflowCount: () => Promise<number | null>;
  resources: () => Promise<ResourceUsage[]>;
}

/** The built-in sections of `getMetrics()`, before the components' own are merged over them. */
export async function metricCounts(
  metrics: EngineMetrics | null,
  read: CountSources,
): Promise<Record<string, Record<string, unknown>>> {
  const f = metrics?.families;
  const [scheduler, registered, resourceList, created, closed, runs, retries, failures, allocations, expiries] =
    await Promise.all([
      read.scheduler(),
      read.workflowCount(),
      read.resources(),
      sumBy(f?.sessionsCreated),
      sumBy(f?.sessionsClosed),
      sumBy(f?.workflowRuns, 'status'),
      sumBy(f?.taskRetries),
      sumBy(f?.taskFailures, 'code'),
      sumBy(f?.resourceAllocations),
      sumBy(f?.resourceExpiries),
    ]);
  const utilization: Record<string, number> = {};
  for (const r of resourceList) utilization[`${r.resource}.${r.unit}`] = r.capacity > 0 ? r.allocated / r.capacity : 0;
  const byMode = metrics?.sessionsByMode() ?? {};
  const byStatus: Record<string, number> = {};
  for (const [k, v] of Object.entries(scheduler?.byStatus ?? {})) if (v) byStatus[k] = v;
  return {
    sessions: {
      total: created.total,
      active: Object.values(byMode).reduce((a, b) => a + b, 0),
      closed: closed.total,
      byMode,
    },
    workflows: { registered, runs: runs.total, runsInFlight: metrics?.runsInFlight ?? 0, byStatus: runs.by },
    tasks: {
      total: Object.values(byStatus).reduce((a, b) => a + b, 0),
      byStatus,
      running: scheduler?.running ?? 0,
      queued: scheduler?.queued ?? 0,
      retries: retries.total,
      failuresByCode: failures.by,
    },
    resources: {
      total: new Set(resourceList.map((r) => r.resource)).size,
      activeHolds: metrics?.activeHolds ?? 0,
      allocations: allocations.total,
      expiries: expiries.total,
      utilization,
    },
    projects: { total: 0 },
  };
}

/**
 * Count, success rate and p50/p95/p99/max durations per `module.action` and per workflow, from the events that feed
 * the metrics. Filter by `module` (and `action`) or `workflow`; no filter returns everything.
 */
export function performanceSummary(m: EngineMetrics | null, filter: PerformanceFilter): PerformanceSummary {
  if (!m) return { tasks: {}, workflows: {} };
  const { module, action, workflow } = filter;
  const wantTasks = workflow === undefined || module !== undefined || action !== undefined;
  const wantWorkflows = module === undefined && action === undefined;
  const taskKey = (key: string): boolean => {
    const dot = key.indexOf('.');
    return (
      (module === undefined || key.slice(0, dot) === module) && (action === undefined || key.slice(dot + 1) === action)
    );
  };
  return {
    tasks: wantTasks ? m.taskPerformance.all(taskKey) : {},
    workflows: wantWorkflows ? m.workflowPerformance.all((name) => workflow === undefined || name === workflow) : {},
  };
}
