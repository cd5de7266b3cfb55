/** W3C trace context in and out of strings, and the context manager spans need (no SDK here, only the API). */
import type { Context, SpanContext } from '@opentelemetry/api';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();

/** The form this engine writes (`traceparentOf`): version 00, lowercase ids, flags 00 or 01. */
const CANONICAL = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0([01])$/;

/**
 * The remote span context of a `traceparent` in the form this engine writes, read without the propagator (no
 * carrier, no getter closures: an attempt's thread reads one per attempt); undefined for any other form or
 * all-zero ids.
 */
function canonicalSpanContext(traceparent: string): SpanContext | undefined {
  const m = CANONICAL.exec(traceparent);
  if (m === null) return undefined;
  const sc: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: m[3] === '1' ? 1 : 0, isRemote: true };
  return trace.isSpanContextValid(sc) ? sc : undefined;
}

/** The span context a W3C `traceparent` names, or undefined for a malformed one. */
export function spanContextOf(traceparent: string): SpanContext | undefined {
  return canonicalSpanContext(traceparent) ?? trace.getSpanContext(contextOf(traceparent));
}

/** The context a W3C `traceparent` names; a missing or malformed one gives the root context (a new trace). */
export function contextOf(traceparent: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  const sc = canonicalSpanContext(traceparent);
  if (sc !== undefined) return trace.setSpanContext(ROOT_CONTEXT, sc);
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
