/**
 * The OpenTelemetry SDK behind {@link Tracing}: a tracer provider of its own (a user's global provider is left
 * alone), a batch span processor, and the OTLP/HTTP exporter (or the console's, or one given in code). Loaded only
 * through `loadTracing`, so none of this is imported while tracing is off.
 */
import type { Span, Tracer } from '@opentelemetry/api';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, Sampler, SpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { CompiledTracing } from '../config/tracing.js';
import { attemptSpan } from './attempt.js';
import { contextOf, traceparentOf } from './context.js';
import { EngineSpans } from './spans.js';
import type { ThreadSpan } from './transfer.js';
import { fromThreadSpan } from './transfer.js';
import type { AttemptInfo, AttemptSpan, HandlerSpan, HandlerSpanOptions, Tracing, TracingDeps } from './types.js';

const KINDS = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  consumer: SpanKind.CONSUMER,
  producer: SpanKind.PRODUCER,
  internal: SpanKind.INTERNAL,
} as const;

/** Counts spans an export failed to deliver, and hands them to `onDropped`. */
class CountingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #onDropped: TracingDeps['onDropped'];
  constructor(inner: SpanExporter, onDropped: TracingDeps['onDropped']) {
    this.#inner = inner;
    this.#onDropped = onDropped;
  }
  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.#inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.#onDropped?.(spans.length, result.error);
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

function exporterFor(options: CompiledTracing): SpanExporter {
  if (options.custom) return options.custom;
  if (options.exporter === 'console') return new ConsoleSpanExporter();
  return new OTLPTraceExporter({
    ...(options.tracesUrl !== null ? { url: options.tracesUrl } : {}),
    ...(options.headers !== null ? { headers: options.headers } : {}),
  });
}

/** The sampler of new traces: every one and none need no hashing of the trace id (the ratio sampler's, per span). */
function rootSampler(ratio: number): Sampler {
  if (ratio >= 1) return new AlwaysOnSampler();
  if (ratio <= 0) return new AlwaysOffSampler();
  return new TraceIdRatioBasedSampler(ratio);
}

/** Starts a tracer provider with the options' exporter and sampler, and (given a bus) the engine's spans. */
export function startTracing(options: CompiledTracing, deps: TracingDeps): Tracing {
  // No context manager of ours in this thread: the application's (any OpenTelemetry SDK registers one) says which
  // span is active. Ours would turn on async hooks for every promise of the process, the engine's included.
  const resource = resourceFromAttributes({ 'service.name': options.serviceName });
  const processor = new BatchSpanProcessor(new CountingExporter(exporterFor(options), deps.onDropped));
  const provider = new BasicTracerProvider({
    resource,
    spanLimits: { attributeValueLengthLimit: options.maxAttributeLength },
    ...(options.sampleRatio !== null
      ? { sampler: new ParentBasedSampler({ root: rootSampler(options.sampleRatio) }) }
      : {}),
    spanProcessors: [processor],
  });
  return new SdkTracing(provider, provider.getTracer('codomyrmex'), deps, (spans) => {
    for (const s of spans) processor.onEnd(fromThreadSpan(s, resource));
  });
}

class SdkTracing implements Tracing {
  readonly #provider: BasicTracerProvider;
  readonly #tracer: Tracer;
  readonly #engine: EngineSpans | null;
  #stopped: Promise<void> | null = null;

  readonly exportSpans: (spans: readonly ThreadSpan[]) => void;

  constructor(
    provider: BasicTracerProvider,
    tracer: Tracer,
    deps: TracingDeps,
    exportSpans: (spans: readonly ThreadSpan[]) => void,
  ) {
    this.#provider = provider;
    this.#tracer = tracer;
    this.exportSpans = exportSpans;
    this.#engine = deps.events ? new EngineSpans(tracer, deps.events) : null;
  }

  activeTraceparent(): string | undefined {
    const sc = trace.getSpanContext(context.active());
    return sc && trace.isSpanContextValid(sc) ? traceparentOf(sc) : undefined;
  }

  activeIds(): { traceId: string; spanId: string } | undefined {
    const sc = trace.getSpanContext(context.active());
    return sc && trace.isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : undefined;
  }

  startAttempt(info: AttemptInfo): AttemptSpan {
    if (this.#engine) return this.#engine.startAttempt(info);
    return attemptSpan(this.#tracer, info, contextOf(info.traceparent), undefined);
  }

  startSpan(name: string, options: HandlerSpanOptions = {}): HandlerSpan {
    const attributes: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(options.attributes ?? {})) if (v !== undefined) attributes[k] = v;
    const parent = options.traceparent !== undefined ? contextOf(options.traceparent) : context.active();
    const span = this.#tracer.startSpan(name, { kind: KINDS[options.kind ?? 'internal'], attributes }, parent);
    return new EdgeSpan(span);
  }

  traceIdOfRun(runId: string): string | null {
    return this.#engine?.traceIdOfRun(runId) ?? null;
  }

  traceIdOfTask(taskId: string): string | null {
    return this.#engine?.traceIdOfTask(taskId) ?? null;
  }

  runTraceparent(runId: string): string | null {
    return this.#engine?.runTraceparent(runId) ?? null;
  }

  logIds(fields: { runId?: unknown; taskId?: unknown }): { trace_id: string; span_id: string } | undefined {
    const found = this.#engine?.idsOf(fields);
    if (found) return { trace_id: found.traceId, span_id: found.spanId };
    const sc = trace.getSpanContext(context.active());
    return sc && trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : undefined;
  }

  shutdown(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#engine?.close();
      await this.#provider.shutdown();
    })();
    return this.#stopped;
  }
}

class EdgeSpan implements HandlerSpan {
  readonly #span: Span;
  readonly traceparent: string;
  readonly traceId: string;
  readonly spanId: string;
  constructor(span: Span) {
    this.#span = span;
    const sc = span.spanContext();
    this.traceparent = traceparentOf(sc);
    this.traceId = sc.traceId;
    this.spanId = sc.spanId;
  }
  with<T>(fn: () => T): T {
    return context.with(trace.setSpan(context.active(), this.#span), fn);
  }
  end(error?: { message: string; code?: string | undefined } | null): void {
    if (error) {
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      if (error.code !== undefined) this.#span.setAttribute('error.type', error.code);
    }
    this.#span.end();
  }
}
