/**
 * The metrics fed by bus events: workflow runs and steps, resources, sessions and handler errors (and task events
 * when the scheduler does not report tasks directly, see {@link TaskFeed}). Keeps what is in flight whose end event
 * does not repeat its labels, bounded by what is open right now.
 */
import type { BusEvent, EventName } from '../model/events.js';
import type { Families } from './families.js';
import type { PerformanceTracker } from './perf.js';
import type { TaskFeed } from './taskFeed.js';

/** The events the metrics listen to. Task events that carry nothing measured (`task_added`, `task_queued`) are left out, so the scheduler still skips building them when nobody else listens. */
export const FED_BY: readonly EventName[] = [
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

/** Applies the events of {@link FED_BY} to the families (`EngineMetrics` subscribes and catches what throws). */
export class EventFeed {
  readonly #families: Families;
  readonly #tasks: TaskFeed;
  readonly #workflowPerformance: PerformanceTracker;
  readonly #runs = new Map<string, string>();
  /** Steps waiting now (`<runId>.<step>`), with their gauge labels. */
  readonly #waiting = new Map<string, { workflow: string; kind: string }>();
  readonly #sessions = new Map<string, string>();
  readonly #holds = new Map<string, string[]>();

  constructor(families: Families, tasks: TaskFeed, workflowPerformance: PerformanceTracker) {
    this.#families = families;
    this.#tasks = tasks;
    this.#workflowPerformance = workflowPerformance;
  }

  /** Workflow runs started and not yet ended. */
  get runsInFlight(): number {
    return this.#runs.size;
  }

  /** Open sessions by mode. */
  sessionsByMode(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const mode of this.#sessions.values()) out[mode] = (out[mode] ?? 0) + 1;
    return out;
  }

  /** Allocations holding resources right now. */
  get activeHolds(): number {
    return this.#holds.size;
  }

  /** Applies one event to the families. */
  apply(event: BusEvent): void {
    const f = this.#families;
    switch (event.type) {
      case 'task_started':
        this.#tasks.started(event.data.priority, event.data.queuedMs);
        return;
      case 'task_retrying':
        this.#tasks.retrying(event.data.module, event.data.action, event.data.error.code);
        return;
      case 'task_completed':
      case 'task_failed':
      case 'task_timed_out':
      case 'task_cancelled':
      case 'task_skipped': {
        const d = event.data;
        this.#tasks.ended(
          d.module,
          d.action,
          d.status,
          d.success ? null : d.error.code,
          'durationMs' in d ? d.durationMs : null,
          event.timestamp,
          d.taskId,
        );
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
        this.#workflowPerformance.record(d.workflowName, d.status, d.success, d.durationMs, event.timestamp);
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
        f.workflowSteps.inc({
          workflow: event.data.workflowName,
          module: event.data.module,
          action: event.data.action,
          status: 'completed',
        });
        return;
      case 'step_failed':
        this.#stepEnded(event.data.runId, event.data.step);
        f.workflowSteps.inc({
          workflow: event.data.workflowName,
          module: event.data.module,
          action: event.data.action,
          status: event.data.status,
        });
        return;
      case 'step_skipped':
        this.#stepEnded(event.data.runId, event.data.step);
        f.workflowSteps.inc({
          workflow: event.data.workflowName,
          module: event.data.module,
          action: event.data.action,
          status: 'skipped',
        });
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

  /** A step ended: if it was waiting, it no longer is. */
  #stepEnded(runId: string, step: string): void {
    const key = `${runId}.${step}`;
    const labels = this.#waiting.get(key);
    if (!labels) return;
    this.#waiting.delete(key);
    this.#families.workflowStepsWaiting.dec(labels);
  }

  /** Ends a hold once, whether the resource manager reports it as released, expired, or both. */
  #release(allocationId: string): void {
    const ids = this.#holds.get(allocationId);
    if (!ids) return;
    this.#holds.delete(allocationId);
    for (const resource of ids) this.#families.resourceHolds.dec({ resource });
  }
}
