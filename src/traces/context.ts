/** W3C trace context in and out of strings, and the context manager spans need (no SDK here, only the API). */
import type { Context, SpanContext } from '@opentelemetry/api';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();

/** The context a W3C `traceparent` names; a missing or malformed one gives the root context (a new trace). */
export function contextOf(traceparent: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent };
  return propagator.extract(ROOT_CONTEXT, carrier, {
    get: (c: Record<string, string>, k: string) => c[k],
    keys: (c: Record<string, string>) => Object.keys(c),
  });
}

/** A span context as a W3C `traceparent` (flag bit 1: sampled). */
export function traceparentOf(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 1) === 1 ? '01' : '00'}`;
}

/** Installs the async-local-storage context manager unless the application installed one (its own SDK). */
export function ensureContextManager(): void {
  const probe = trace.setSpan(
    ROOT_CONTEXT,
    trace.wrapSpanContext({ traceId: '1'.padStart(32, '0'), spanId: '1'.padStart(16, '0'), traceFlags: 0 }),
  );
  if (context.with(probe, () => context.active() === probe)) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}
