/**
 * The engine's spans, built from its events: a span per workflow run (a child of the span it was started in, of
 * its parent's step for a sub-workflow, or of its schedule's or trigger's firing), per step (a child of its run),
 * and per attempt (a child of its step, or of the span its task was submitted in; the runner starts those, see
 * `TracedRunner`).
 */
import type { Context, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { ROOT_CONTEXT, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import type { Subscription } from 'rxjs';
import type { EventMap } from '../model/events.js';
import type { AttemptEnded } from './attempt.js';
import { attemptSpan } from './attempt.js';
import { contextOf, traceparentOf } from './context.js';
import { RecentMap } from '../model/recentMap.js';
import type { AttemptInfo, AttemptSpan, TracedEvents } from './types.js';

/** Attempts whose next attempt is linked to them (retries), at most: the oldest are forgotten first. */
const REMEMBERED_ATTEMPTS = 10_000;
/** Ended runs whose trace id `traceIdOfRun` still answers. */
const REMEMBERED_RUNS = 10_000;
/** Tasks whose latest sampled attempt's trace `traceIdOfTask` still answers. */
const REMEMBERED_TASKS = 10_000;

interface RunTrace {
  span: Span;
  /** Open step spans by the step's task id. */
  steps: Map<string, Span>;
}

export class EngineSpans implements AttemptEnded {
  readonly #tracer: Tracer;
  readonly #runs = new Map<string, RunTrace>();
  /** Open step spans by task id, across runs: where an attempt finds its parent. */
  readonly #steps = new Map<string, Span>();
  /** The last attempt of a task that did not succeed: its next attempt links to it. */
  readonly #previous = new RecentMap<string, SpanContext>(REMEMBERED_ATTEMPTS);
  /** The trace of each task's latest sampled attempt (the console links to it), the oldest forgotten first. */
  readonly #taskTraces = new RecentMap<string, string>(REMEMBERED_TASKS);
  /** Ended runs' trace and span ids (log lines written right after the end still find them). */
  readonly #ended = new RecentMap<string, { traceId: string; spanId: string; sampled: boolean }>(REMEMBERED_RUNS);
  readonly #sub: Subscription;

  constructor(tracer: Tracer, events: TracedEvents) {
    this.#tracer = tracer;
    this.#sub = events.subscribe((e) => {
      switch (e.type) {
        case 'workflow_started':
          return this.#runStarted(e.data);
        case 'workflow_completed':
          return this.#runEnded(e.data);
        case 'step_started':
          return this.#stepStarted(e.data);
        case 'step_completed':
          return this.#stepEnded(e.data.runId, e.data.taskId, null);
        case 'step_failed':
          return this.#stepEnded(e.data.runId, e.data.taskId, e.data);
        case 'step_waiting': {
          const d = e.data;
          this.#steps.get(d.taskId)?.addEvent('codomyrmex.waiting', {
            ...(d.signal !== null ? { 'codomyrmex.signal': d.signal } : {}),
            ...(d.until !== null ? { 'codomyrmex.until': d.until } : {}),
          });
          return;
        }
        case 'run_signaled':
          this.#runs.get(e.data.runId)?.span.addEvent('codomyrmex.signal', {
            'codomyrmex.signal': e.data.signal,
            'codomyrmex.delivered': e.data.delivered,
          });
          return;
        default:
          return;
      }
    });
  }

  #runStarted(d: EventMap['workflow_started']): void {
    if (this.#runs.has(d.runId)) return;
    let parent: Context = ROOT_CONTEXT;
    const step = d.parentRunId ? this.#steps.get(`${d.parentRunId}.${d.parentStep ?? ''}`) : undefined;
    if (step) parent = trace.setSpan(ROOT_CONTEXT, step);
    else if (d.traceparent !== undefined) parent = contextOf(d.traceparent);
    const firing = this.#firing(d, parent);
    if (firing) parent = trace.setSpan(ROOT_CONTEXT, firing);
    const attributes: Record<string, string | number | boolean> = {
      'codomyrmex.workflow': d.workflowName,
      'codomyrmex.workflow.version': d.version,
      'codomyrmex.run_id': d.runId,
      'codomyrmex.steps': d.steps,
    };
    if (d.sessionId !== null) attributes['codomyrmex.session_id'] = d.sessionId;
    if (d.parentRunId) attributes['codomyrmex.parent_run_id'] = d.parentRunId;
    if (d.resumed) attributes['codomyrmex.resumed'] = true;
    // A run resumed after a restart links to its span before it (another trace, unless it was started inside one).
    const before = d.resumedFrom !== undefined ? trace.getSpanContext(contextOf(d.resumedFrom)) : undefined;
    const links = before ? [{ context: before, attributes: { 'codomyrmex.link': 'resumed_from' } }] : [];
    const span = this.#tracer.startSpan(`run ${d.workflowName}`, { attributes, links }, parent);
    firing?.end();
    this.#runs.set(d.runId, { span, steps: new Map() });
  }

  /** The span of the schedule slot or trigger message that started a run, if one did. */
  #firing(d: EventMap['workflow_started'], parent: Context): Span | null {
    if (d.scheduleName !== undefined) {
      const attributes: Record<string, string | number> = {
        'codomyrmex.schedule': d.scheduleName,
        'codomyrmex.workflow': d.workflowName,
        'codomyrmex.run_id': d.runId,
      };
      if (d.scheduledFor !== undefined) attributes['codomyrmex.scheduled_for'] = new Date(d.scheduledFor).toISOString();
      return this.#tracer.startSpan(`schedule ${d.scheduleName}`, { attributes }, parent);
    }
    if (d.triggerName !== undefined) {
      return this.#tracer.startSpan(
        `trigger ${d.triggerName}`,
        {
          attributes: {
            'codomyrmex.trigger': d.triggerName,
            'codomyrmex.workflow': d.workflowName,
            'codomyrmex.run_id': d.runId,
          },
        },
        parent,
      );
    }
    return null;
  }

  #runEnded(d: EventMap['workflow_completed']): void {
    const run = this.#runs.get(d.runId);
    if (!run) return;
    this.#runs.delete(d.runId);
    for (const [taskId, span] of run.steps) {
      this.#steps.delete(taskId);
      span.setAttribute('codomyrmex.step.status', d.status);
      span.end();
    }
    run.span.setAttribute('codomyrmex.run.status', d.status);
    run.span.setStatus(
      d.success ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: `run ${d.status}` },
    );
    const { traceId, spanId, traceFlags } = run.span.spanContext();
    this.#remember(d.runId, { traceId, spanId, sampled: (traceFlags & TraceFlags.SAMPLED) !== 0 });
    run.span.end();
  }

  #stepStarted(d: EventMap['step_started']): void {
    const run = this.#runs.get(d.runId);
    if (!run || run.steps.has(d.taskId)) return;
    const attributes: Record<string, string | number> = {
      'codomyrmex.workflow': d.workflowName,
      'codomyrmex.run_id': d.runId,
      'codomyrmex.step': d.step,
      'codomyrmex.task_id': d.taskId,
      'codomyrmex.module': d.module,
      'codomyrmex.action': d.action,
    };
    if (d.items !== undefined) attributes['codomyrmex.items'] = d.items;
    const span = this.#tracer.startSpan(`step ${d.step}`, { attributes }, trace.setSpan(ROOT_CONTEXT, run.span));
    run.steps.set(d.taskId, span);
    this.#steps.set(d.taskId, span);
  }

  #stepEnded(runId: string, taskId: string, failed: EventMap['step_failed'] | null): void {
    const span = this.#steps.get(taskId);
    if (!span) return;
    this.#steps.delete(taskId);
    this.#runs.get(runId)?.steps.delete(taskId);
    if (failed) {
      span.setAttribute('codomyrmex.step.status', failed.status);
      span.setAttribute('error.type', failed.error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: failed.error.message });
    } else {
      span.setAttribute('codomyrmex.step.status', 'completed');
      span.setStatus({ code: SpanStatusCode.OK });
    }
    span.end();
  }

  /** An attempt's span: under its step (a forEach item's task `<step task>.<index>` too), else its task's context. */
  startAttempt(info: AttemptInfo): AttemptSpan {
    const id = info.taskId;
    let step = this.#steps.get(id);
    if (!step) {
      const dot = id.lastIndexOf('.');
      if (dot > 0) step = this.#steps.get(id.slice(0, dot));
    }
    const parent = step ? trace.setSpan(ROOT_CONTEXT, step) : contextOf(info.traceparent);
    const previous = info.attempt > 1 ? this.#previous.get(id) : undefined;
    const span = attemptSpan(this.#tracer, info, parent, previous, this);
    if (span.context !== null) this.#taskTraces.set(id, span.context.traceId);
    return span;
  }

  /** A sampled attempt ended: a failed one is remembered (the next attempt links to it), a success forgets it. */
  attemptEnded(taskId: string, context: SpanContext, ok: boolean, linked: boolean): void {
    if (!ok) this.#previous.set(taskId, context);
    else if (linked) this.#previous.delete(taskId);
  }

  traceIdOfRun(runId: string): string | null {
    const open = this.#runs.get(runId)?.span.spanContext();
    if (open) return (open.traceFlags & TraceFlags.SAMPLED) !== 0 ? open.traceId : null;
    const ended = this.#ended.get(runId);
    return ended?.sampled ? ended.traceId : null;
  }

  runTraceparent(runId: string): string | null {
    const open = this.#runs.get(runId)?.span.spanContext();
    if (open) return (open.traceFlags & TraceFlags.SAMPLED) !== 0 ? traceparentOf(open) : null;
    const ended = this.#ended.get(runId);
    return ended?.sampled ? `00-${ended.traceId}-${ended.spanId}-01` : null;
  }

  traceIdOfTask(taskId: string): string | null {
    return this.#taskTraces.get(taskId) ?? null;
  }

  /** The ids of the step span of `taskId` (open), else of the run span of `runId` (open or recently ended). */
  idsOf(fields: { runId?: unknown; taskId?: unknown }): { traceId: string; spanId: string } | undefined {
    if (typeof fields.taskId === 'string') {
      const step = this.#steps.get(fields.taskId);
      if (step) return step.spanContext();
    }
    if (typeof fields.runId !== 'string') return undefined;
    return this.#runs.get(fields.runId)?.span.spanContext() ?? this.#ended.get(fields.runId);
  }

  #remember(runId: string, ids: { traceId: string; spanId: string; sampled: boolean }): void {
    this.#ended.set(runId, ids);
  }

  /** Stops listening; runs and steps still open end as left running (the engine stopped under them). */
  close(): void {
    this.#sub.unsubscribe();
    for (const run of this.#runs.values()) {
      for (const span of run.steps.values()) {
        span.setAttribute('codomyrmex.left_running', true);
        span.end();
      }
      run.span.setAttribute('codomyrmex.left_running', true);
      run.span.end();
    }
    this.#runs.clear();
    this.#steps.clear();
  }
}
