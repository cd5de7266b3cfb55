/**
 * A finished span as plain data, to cross a thread (a worker's reply) and become a span of the receiving side's
 * exporter again. No OpenTelemetry import at run time: the worker protocol names the type.
 */
import type { Attributes, HrTime, Link, SpanContext, SpanStatus } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** A finished span as structured-clonable data. */
export interface ThreadSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  traceFlags: number;
  parentSpanId: string | null;
  startTime: HrTime;
  endTime: HrTime;
  attributes: Attributes;
  status: SpanStatus;
  events: { name: string; time: HrTime; attributes?: Attributes | undefined }[];
  links: { traceId: string; spanId: string; traceFlags: number; attributes?: Attributes | undefined }[];
  scope: { name: string; version?: string | undefined };
}

export function toThreadSpan(s: ReadableSpan): ThreadSpan {
  const sc = s.spanContext();
  return {
    name: s.name,
    kind: s.kind,
    traceId: sc.traceId,
    spanId: sc.spanId,
    traceFlags: sc.traceFlags,
    parentSpanId: s.parentSpanContext?.spanId ?? null,
    startTime: s.startTime,
    endTime: s.endTime,
    attributes: s.attributes,
    status: s.status,
    events: s.events.map((e) => ({ name: e.name, time: e.time, attributes: e.attributes })),
    links: s.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      traceFlags: l.context.traceFlags,
      attributes: l.attributes,
    })),
    scope: { name: s.instrumentationScope.name, version: s.instrumentationScope.version },
  };
}

/** A span that crossed a thread, as the exporter reads it, under this side's resource. */
export function fromThreadSpan(t: ThreadSpan, resource: Resource): ReadableSpan {
  const sc: SpanContext = { traceId: t.traceId, spanId: t.spanId, traceFlags: t.traceFlags };
  const ns = (t.endTime[0] - t.startTime[0]) * 1e9 + (t.endTime[1] - t.startTime[1]);
  const links: Link[] = t.links.map((l) => ({
    context: { traceId: l.traceId, spanId: l.spanId, traceFlags: l.traceFlags },
    ...(l.attributes ? { attributes: l.attributes } : {}),
  }));
  return {
    name: t.name,
    kind: t.kind,
    spanContext: () => sc,
    ...(t.parentSpanId !== null
      ? { parentSpanContext: { traceId: t.traceId, spanId: t.parentSpanId, traceFlags: t.traceFlags, isRemote: true } }
      : {}),
    startTime: t.startTime,
    endTime: t.endTime,
    status: t.status,
    attributes: t.attributes,
    links,
    events: t.events.map((e) => ({
      name: e.name,
      time: e.time,
      ...(e.attributes ? { attributes: e.attributes } : {}),
    })),
    duration: [Math.floor(ns / 1e9), ns % 1e9],
    ended: true,
    resource,
    instrumentationScope:
      t.scope.version !== undefined ? { name: t.scope.name, version: t.scope.version } : { name: t.scope.name },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
