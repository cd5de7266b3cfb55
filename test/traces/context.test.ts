/**
 * Reading a `traceparent`: the fast path for the form this engine writes must agree with the W3C propagator on
 * every input, canonical or not (a thread reads one per attempt, so it skips the propagator when it can).
 */
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { describe, expect, it } from 'vitest';
import { contextOf, spanContextOf, traceparentOf } from '../../src/traces/context.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

function viaPropagator(traceparent: string): ReturnType<typeof trace.getSpanContext> {
  const ctx = new W3CTraceContextPropagator().extract(
    ROOT_CONTEXT,
    { traceparent },
    { get: (c: Record<string, string>, k: string) => c[k], keys: (c: Record<string, string>) => Object.keys(c) },
  );
  return trace.getSpanContext(ctx);
}

describe('traceparent parsing', () => {
  const inputs = [
    `00-${T}-${S}-01`,
    `00-${T}-${S}-00`,
    `00-${T}-${S}-03`,
    `01-${T}-${S}-01-extra`,
    `00-${T.toUpperCase()}-${S}-01`,
    `00-${'0'.repeat(32)}-${S}-01`,
    `00-${T}-${'0'.repeat(16)}-01`,
    `ff-${T}-${S}-01`,
    `00-${T}-${S}-1`,
    'not a traceparent',
    '',
  ];

  it.each(inputs)('reads %j as the W3C propagator does', (tp) => {
    expect(spanContextOf(tp)).toEqual(viaPropagator(tp));
    expect(trace.getSpanContext(contextOf(tp))).toEqual(viaPropagator(tp));
  });

  it('reads back what traceparentOf writes, sampled or not', () => {
    for (const traceFlags of [0, 1]) {
      const sc = spanContextOf(traceparentOf({ traceId: T, spanId: S, traceFlags }));
      expect(sc).toEqual({ traceId: T, spanId: S, traceFlags, isRemote: true });
    }
  });
});
