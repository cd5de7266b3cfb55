/**
 * Tracing inside a worker thread: the attempt's span becomes the action's `ctx.span` and its active context, and the
 * spans an action makes (its HTTP calls, its own steps) are collected and sent back with the attempt's reply, where
 * the engine's exporter sends them on. A thread exports nothing itself, so a thread that is terminated loses no span
 * and any exporter (even one given in code) sees them. Loaded by the worker only when the engine traces.
 */
import type { Span } from '@opentelemetry/api';
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AlwaysOffSampler, BasicTracerProvider, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import { ensureContextManager, spanContextOf } from './context.js';
import type { ThreadSpan } from './transfer.js';
import { toThreadSpan } from './transfer.js';

/** Finished spans awaiting the next reply, at most (an action that makes more keeps the newest). */
const MAX_PENDING = 1000;

class CollectingProcessor implements SpanProcessor {
  pending: ThreadSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    if (this.pending.length >= MAX_PENDING) this.pending.shift();
    this.pending.push(toThreadSpan(span));
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** What the worker asks of tracing. */
export interface ThreadTracing {
  /** The attempt's span (non-recording: its ids, to parent the action's spans); undefined for a bad or unsampled traceparent. */
  spanOf(traceparent: string): Span | undefined;
  /** Runs `fn` with `span` as the active context. */
  within<T>(span: Span, fn: () => T): T;
  /** The spans finished since the last call (sent back with a reply), or undefined when there are none. */
  take(): ThreadSpan[] | undefined;
}

/** Registers this thread's tracer provider (the global one: an action's `trace.getTracer()` reaches it) and context manager. */
export function startThreadTracing(maxAttributeLength: number): ThreadTracing {
  ensureContextManager();
  const collector = new CollectingProcessor();
  // Parent-based with nothing at the root: a sampled attempt's spans hang under its span (the active context), and
  // an unsampled attempt, which has none, records nothing its action makes.
  const provider = new BasicTracerProvider({
    spanProcessors: [collector],
    sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }),
    spanLimits: { attributeValueLengthLimit: maxAttributeLength },
  });
  trace.setGlobalTracerProvider(provider);
  return {
    spanOf(traceparent) {
      // An unsampled attempt (flag 00) records nothing: no span, no active context.
      if (!traceparent.endsWith('1')) return undefined;
      const sc = spanContextOf(traceparent);
      return sc && (sc.traceFlags & TraceFlags.SAMPLED) !== 0 ? trace.wrapSpanContext(sc) : undefined;
    },
    within(span, fn) {
      return context.with(trace.setSpan(ROOT_CONTEXT, span), fn);
    },
    take() {
      if (collector.pending.length === 0) return undefined;
      const out = collector.pending;
      collector.pending = [];
      return out;
    },
  };
}
