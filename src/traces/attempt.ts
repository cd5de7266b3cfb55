/**
 * An attempt's span: what the runner starts when it sends an attempt, and ends with its outcome; its queue wait is an
 * attribute and a `codomyrmex.ready` event. An attempt whose trace is not sampled builds nothing: no attributes, no
 * event, no link, and its `traceparent` (flag 00) only carries the trace id on (a thread or worker that gets it
 * records nothing either).
 */
import type { Context, Span, SpanContext, SpanOptions, Tracer } from '@opentelemetry/api';
import { SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { traceparentOf } from './context.js';
import type { AttemptInfo, AttemptSpan } from './types.js';

/** What the engine keeps of an attempt: its span's ids (a retry links to them), or null when it was not sampled. */
export type StartedAttempt = AttemptSpan & { readonly context: SpanContext | null };

const noop = (): void => undefined;

/** Told when a sampled attempt ends: the engine remembers a failed attempt, which the task's next one links to. */
export interface AttemptEnded {
  attemptEnded(taskId: string, context: SpanContext, ok: boolean, linked: boolean): void;
}

/** An unsampled attempt: its context's `traceparent` handed on, nothing recorded. */
function unsampled(traceparent: string): StartedAttempt {
  return { traceparent, context: null, setWorker: noop, end: noop };
}

/**
 * An attempt's span under `parent`, linked to the task's previous attempt. Parent-based like the SDK's sampler: an
 * unsampled parent makes an unsampled attempt at once (no span built); without a parent the tracer's sampler
 * decides on a bare span before any attribute or event is added.
 */
export function attemptSpan(
  tracer: Tracer,
  info: AttemptInfo,
  parent: Context,
  previous: SpanContext | undefined,
  ended?: AttemptEnded,
): StartedAttempt {
  const parentSc = trace.getSpanContext(parent);
  if (parentSc !== undefined && (parentSc.traceFlags & TraceFlags.SAMPLED) === 0)
    return unsampled(traceparentOf(parentSc));
  const now = Date.now();
  const options: SpanOptions =
    previous === undefined
      ? { startTime: now }
      : { startTime: now, links: [{ context: previous, attributes: { 'codomyrmex.link': 'previous_attempt' } }] };
  const span = tracer.startSpan(`attempt ${info.module}.${info.action}`, options, parent);
  if (!span.isRecording()) return unsampled(traceparentOf(span.spanContext()));
  span.setAttributes({
    'codomyrmex.task_id': info.taskId,
    'codomyrmex.task': info.name,
    'codomyrmex.module': info.module,
    'codomyrmex.action': info.action,
    'codomyrmex.attempt': info.attempt,
    'codomyrmex.queue_wait_ms': info.queuedMs ?? 0,
  });
  // The queue wait is an event at the time the attempt became ready (a span of its own would double the attempt's
  // cost: ids, sampling, processing and export).
  if (info.queuedMs !== undefined && info.queuedMs > 0) span.addEvent('codomyrmex.ready', now - info.queuedMs);
  return new RunningAttemptSpan(span, info.taskId, previous !== undefined, ended);
}

/** A sampled attempt's span: a class, not closures, as one is made per attempt. */
class RunningAttemptSpan implements StartedAttempt {
  readonly #span: Span;
  readonly #taskId: string;
  readonly #linked: boolean;
  readonly #ended: AttemptEnded | undefined;
  readonly context: SpanContext;
  readonly traceparent: string;
  constructor(span: Span, taskId: string, linked: boolean, ended: AttemptEnded | undefined) {
    this.#span = span;
    this.#taskId = taskId;
    this.#linked = linked;
    this.#ended = ended;
    this.context = span.spanContext();
    this.traceparent = traceparentOf(this.context);
  }
  setWorker(worker: string): void {
    this.#span.setAttribute('codomyrmex.worker', worker);
  }
  end(outcome: Parameters<AttemptSpan['end']>[0]): void {
    if (outcome.ok) this.#span.setStatus({ code: SpanStatusCode.OK });
    else {
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
      if (outcome.error.code !== undefined) this.#span.setAttribute('error.type', outcome.error.code);
    }
    this.#span.end();
    this.#ended?.attemptEnded(this.#taskId, this.context, outcome.ok, this.#linked);
  }
}
