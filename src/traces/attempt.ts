/** An attempt's span: what the runner starts when it sends an attempt, and ends with its outcome. */
import type { Context, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { SpanStatusCode } from '@opentelemetry/api';
import { traceparentOf } from './context.js';
import type { AttemptInfo, AttemptSpan } from './types.js';

/** An attempt's span under `parent`, linked to the task's previous attempt. */
export function attemptSpan(tracer: Tracer, info: AttemptInfo, parent: Context, previous: SpanContext | undefined): AttemptSpan & { readonly context: SpanContext } {
  const now = Date.now();
  const attributes = {
    'codomyrmex.task_id': info.taskId,
    'codomyrmex.task': info.name,
    'codomyrmex.module': info.module,
    'codomyrmex.action': info.action,
    'codomyrmex.attempt': info.attempt,
    'codomyrmex.queue_wait_ms': info.queuedMs ?? 0,
  };
  if (info.queuedMs !== undefined && info.queuedMs > 0) {
    tracer.startSpan(`queue ${info.module}.${info.action}`, { startTime: now - info.queuedMs, attributes: { 'codomyrmex.task_id': info.taskId, 'codomyrmex.attempt': info.attempt } }, parent).end(now);
  }
  const span = tracer.startSpan(`attempt ${info.module}.${info.action}`, { startTime: now, attributes, ...(previous ? { links: [{ context: previous, attributes: { 'codomyrmex.link': 'previous_attempt' } }] } : {}) }, parent);
  return new RunningAttemptSpan(span);
}

class RunningAttemptSpan implements AttemptSpan {
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
