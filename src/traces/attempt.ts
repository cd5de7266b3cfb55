/**
 * An attempt's span: what the runner starts when it sends an attempt, and ends with its outcome; its queue wait is an
 * attribute and a `codomyrmex.ready` event. An attempt whose trace is not sampled builds nothing: no attributes, no
 * event, no link, and its `traceparent` (flag 00) only carries the trace id on (a thread or worker that gets it
 * records nothing either).
 */
import type { Context, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { traceparentOf } from './context.js';
import type { AttemptInfo, AttemptSpan } from './types.js';

/** What the engine keeps of an attempt: its span's ids (a retry links to them), or null when it was not sampled. */
export type StartedAttempt = AttemptSpan & { readonly context: SpanContext | null };

const noop = (): void => undefined;

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
): StartedAttempt {
  const parentSc = trace.getSpanContext(parent);
  if (parentSc !== undefined && (parentSc.traceFlags & TraceFlags.SAMPLED) === 0)
    return unsampled(traceparentOf(parentSc));
  const now = Date.now();
  const span = tracer.startSpan(
    `attempt ${info.module}.${info.action}`,
    {
      startTime: now,
      ...(previous ? { links: [{ context: previous, attributes: { 'codomyrmex.link': 'previous_attempt' } }] } : {}),
    },
    parent,
  );
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
  return new RunningAttemptSpan(span);
}

class RunningAttemptSpan implements StartedAttempt {
  readonly #span: Span;
  readonly context: SpanContext;
  readonly traceparent: string;
  constructor(span: Span) {
    this.#span = span;
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
  }
}
