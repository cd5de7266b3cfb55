/**
 * Task metrics as tasks move: queue wait when an attempt starts, retries by error code, and at the end the count,
 * duration and performance summary by module, action and status. Fed directly by the scheduler (its
 * {@link TaskObserver}) or by the `task_*` events; the series of each module/action/status are bound once, so a task
 * allocates nothing here.
 */
import { ErrorCode } from '../errors.js';
import type { TaskPriority, TaskStatus } from '../model/task.js';
import type { TaskObserver } from '../model/taskView.js';
import type { HistogramSeries } from './fastHistogram.js';
import type { PerformanceTracker } from './perf.js';
import type { TaskFamilies } from './taskFamilies.js';

/** The label objects of one module.action. */
interface ActionLabels {
  /** `module.action`, the performance summary's key. */
  key: string;
  /** The series of each status, bound once (prom-client's children skip hashing the labels on every task). */
  byStatus: Map<string, { total: { inc(): void }; duration: HistogramSeries }>;
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** Error codes are a closed set; anything else (a remote worker's own code) is counted as `OTHER`. */
export function boundedCode(code: string): string {
  return KNOWN_CODES.has(code) ? code : 'OTHER';
}

export class TaskFeed {
  readonly #families: TaskFamilies;
  readonly #performance: PerformanceTracker;
  // Label objects of the per-task events, built once per module/action/status and reused (no allocation per task).
  readonly #actions = new Map<string, Map<string, ActionLabels>>();
  readonly #priorities = new Map<string, HistogramSeries>();
  /** With tracing on: the trace of a task's latest sampled attempt (its duration's exemplar). */
  traceOfTask: ((taskId: string) => string | null) | null = null;

  constructor(families: TaskFamilies, performance: PerformanceTracker) {
    this.#families = families;
    this.#performance = performance;
  }

  /** The scheduler's direct feed: the same as the events'. */
  readonly observer: TaskObserver = {
    started: (_module, _action, priority, queuedMs) => this.started(priority, queuedMs),
    retrying: (module, action, code) => this.retrying(module, action, code),
    ended: (module, action, status, errorCode, durationMs, taskId) =>
      this.ended(module, action, status, errorCode, durationMs, Date.now(), taskId),
  };

  started(priority: TaskPriority, queuedMs: number): void {
    let wait = this.#priorities.get(priority);
    if (!wait) this.#priorities.set(priority, (wait = this.#families.taskQueueWait.labels({ priority })));
    wait.observe(queuedMs / 1000);
  }

  retrying(module: string, action: string, code: string): void {
    this.#families.taskRetries.inc({ module, action, code: boundedCode(code) });
  }

  ended(
    module: string,
    action: string,
    status: TaskStatus,
    errorCode: string | null,
    durationMs: number | null,
    at: number,
    taskId: string,
  ): void {
    const f = this.#families;
    const entry = this.#actionLabels(module, action);
    let series = entry.byStatus.get(status);
    if (!series) {
      const labels = { module, action, status };
      entry.byStatus.set(
        status,
        (series = { total: f.tasksTotal.labels(labels), duration: f.taskDuration.labels(labels) }),
      );
    }
    series.total.inc();
    const success = status === 'completed';
    if (!success) f.taskFailures.inc({ module, action, code: boundedCode(errorCode ?? 'INTERNAL') });
    if (durationMs !== null) {
      // With tracing on, the task's sampled trace rides along as the bucket's exemplar (OpenMetrics scrapes show it).
      const traceOf = this.traceOfTask;
      if (traceOf === null) series.duration.observe(durationMs / 1000);
      else series.duration.observe(durationMs / 1000, traceOf(taskId) ?? undefined);
    }
    this.#performance.record(entry.key, status, success, durationMs, at);
  }

  #actionLabels(module: string, action: string): ActionLabels {
    let byAction = this.#actions.get(module);
    if (!byAction) this.#actions.set(module, (byAction = new Map<string, ActionLabels>()));
    let entry = byAction.get(action);
    if (!entry) byAction.set(action, (entry = { key: `${module}.${action}`, byStatus: new Map() }));
    return entry;
  }
}
