import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { compileTracing } from '../../src/config/tracing.js';
import { testEngine } from '../helpers.js';

// The application's context manager, as its OpenTelemetry SDK registers one: the engine installs none of its own.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const TRACED_MODULES = fileURLToPath(new URL('../../dist/test/fixtures/tracedModules', import.meta.url));

const byName = (spans: ReadableSpan[], name: string): ReadableSpan[] => spans.filter((s) => s.name === name);
const one = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const found = byName(spans, name);
  expect(found.map((s) => s.name)).toEqual([name]);
  return found[0]!;
};
/** An exporter whose spans outlive the engine's shutdown (the SDK's in-memory one forgets them when shut down). */
export function keepingExporter(): {
  exporter: { export: InMemorySpanExporter['export']; shutdown(): Promise<void> };
  spans: () => ReadableSpan[];
} {
  const inner = new InMemorySpanExporter();
  return {
    exporter: { export: (spans, done) => inner.export(spans, done), shutdown: () => Promise.resolve() },
    spans: () => inner.getFinishedSpans(),
  };
}

const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

describe('engine spans (in-process, in-memory exporter)', () => {
  const { exporter, spans: finished } = keepingExporter();
  let engine: OrchestrationEngine;
  // The application's own tracer, as a user's SDK would give it.
  const app = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] });

  beforeAll(async () => {
    engine = testEngine({ threads: 1, tracing: { exporter } });
    await engine.ready();
  });
  afterAll(() => engine.shutdown());

  it('nests run → step → attempt under the span the library call was made in, links a retry to the failed attempt', async () => {
    await engine.workflows.createWorkflow('traced', [
      { name: 'first', module: 'core', action: 'echo', parameters: { x: 1 } },
      {
        name: 'flaky',
        module: 'core',
        action: 'fail',
        parameters: { times: 1 },
        maxRetries: 2,
        retry: { initialDelay: 0.01 },
        dependencies: ['first'],
      },
    ]);
    const outer = app.getTracer('app').startSpan('request');
    const result = await context.with(trace.setSpan(context.active(), outer), () =>
      engine.workflows.executeWorkflow('traced'),
    );
    outer.end();
    expect(result.success).toBe(true);
    await engine.shutdown();

    const spans = finished();
    const run = one(spans, 'run traced');
    expect(run.spanContext().traceId).toBe(outer.spanContext().traceId);
    expect(parentOf(run)).toBe(outer.spanContext().spanId);
    expect(run.attributes).toMatchObject({
      'codomyrmex.workflow': 'traced',
      'codomyrmex.run_id': result.runId,
      'codomyrmex.run.status': 'succeeded',
    });

    const first = one(spans, 'step first');
    const flaky = one(spans, 'step flaky');
    for (const s of [first, flaky]) expect(parentOf(s)).toBe(run.spanContext().spanId);
    expect(flaky.attributes).toMatchObject({
      'codomyrmex.step': 'flaky',
      'codomyrmex.module': 'core',
      'codomyrmex.action': 'fail',
      'codomyrmex.step.status': 'completed',
    });

    const echo = one(spans, 'attempt core.echo');
    expect(parentOf(echo)).toBe(first.spanContext().spanId);
    expect(echo.attributes).toMatchObject({ 'codomyrmex.task_id': `${result.runId}.first`, 'codomyrmex.attempt': 1 });

    const attempts = byName(spans, 'attempt core.fail').sort(
      (a, b) => Number(a.attributes['codomyrmex.attempt']) - Number(b.attributes['codomyrmex.attempt']),
    );
    expect(attempts.map((a) => a.attributes['codomyrmex.attempt'])).toEqual([1, 2]);
    for (const a of attempts) expect(parentOf(a)).toBe(flaky.spanContext().spanId);
    expect(attempts[0]!.status.code).toBe(2); // ERROR
    expect(attempts[1]!.status.code).toBe(1); // OK
    expect(attempts[1]!.links.map((l) => l.context.spanId)).toEqual([attempts[0]!.spanContext().spanId]);
    // Every span of the run is in the caller's trace.
    const ours = spans.filter((s) => s.name !== 'request');
    expect(new Set(ours.map((s) => s.spanContext().traceId))).toEqual(new Set([outer.spanContext().traceId]));
    expect(run.resource.attributes['service.name']).toBe('codomyrmex');
  });
});

describe('engine spans: sub-workflows and tasks', () => {
  it("makes a sub-workflow run a child of its step, and a task added inside a span its attempts' parent", async () => {
    const { exporter, spans: finished } = keepingExporter();
    const engine = testEngine({ threads: 1, tracing: { exporter } });
    const app = new BasicTracerProvider().getTracer('app');
    let job = { traceId: '', spanId: '' };
    try {
      await engine.ready();
      await engine.workflows.createWorkflow('inner', [{ name: 'leaf', module: 'core', action: 'echo' }]);
      await engine.workflows.createWorkflow('outer', [{ name: 'call', workflow: 'inner' }]);
      const run = await engine.workflows.executeWorkflow('outer');
      expect(run.success).toBe(true);
      const span = app.startSpan('job');
      job = span.spanContext();
      const result = await context.with(trace.setSpan(context.active(), span), () =>
        engine.tasks.executeTask({ module: 'core', action: 'echo', parameters: { a: 1 } }),
      );
      span.end();
      expect(result.success).toBe(true);
    } finally {
      await engine.shutdown();
    }
    const spans = finished();
    const call = one(spans, 'step call');
    const inner = one(spans, 'run inner');
    expect(parentOf(inner)).toBe(call.spanContext().spanId);
    expect(inner.spanContext().traceId).toBe(call.spanContext().traceId);
    expect(inner.attributes['codomyrmex.parent_run_id']).toBe(one(spans, 'run outer').attributes['codomyrmex.run_id']);
    expect(parentOf(one(spans, 'step leaf'))).toBe(inner.spanContext().spanId);
    const task = byName(spans, 'attempt core.echo').find(
      (s) =>
        s.attributes['codomyrmex.task'] === 'core.echo' &&
        !String(s.attributes['codomyrmex.task_id']).includes('.leaf'),
    );
    expect(task).toBeDefined();
    expect(parentOf(task!)).toBe(job.spanId);
    expect(task!.spanContext().traceId).toBe(job.traceId);
  });
});

describe('spans in worker threads', () => {
  it("gives the action its attempt's span as ctx.span and active context, and exports the spans it makes", async () => {
    const { exporter, spans: finished } = keepingExporter();
    const engine = testEngine({ threads: 1, moduleDirs: [TRACED_MODULES], tracing: { exporter } });
    let output: unknown;
    try {
      await engine.ready();
      await engine.workflows.createWorkflow('threaded', [{ name: 'work', module: 'traced', action: 'work' }]);
      const result = await engine.workflows.executeWorkflow('threaded');
      expect(result.success).toBe(true);
      output = result.steps['work']?.result;
    } finally {
      await engine.shutdown();
    }
    const spans = finished();
    const attempt = one(spans, 'attempt traced.work');
    const id = attempt.spanContext().spanId;
    expect(output).toEqual({ attemptSpanId: id, activeSpanId: id });
    const own = one(spans, 'own work');
    const child = one(spans, 'own child');
    for (const s of [own, child]) {
      expect(parentOf(s)).toBe(id);
      expect(s.spanContext().traceId).toBe(attempt.spanContext().traceId);
      expect(s.resource.attributes['service.name']).toBe('codomyrmex');
    }
    // An attribute value over 4 KiB is cut to the limit.
    expect(String(own.attributes['fixture.note'])).toHaveLength(4096);
  });
});

describe('unsampled traces', () => {
  it('builds no span for an unsampled attempt, gives its action no ctx.span, and records none of its spans; a sampled caller still wins', async () => {
    const { exporter, spans: finished } = keepingExporter();
    const engine = testEngine({ threads: 1, moduleDirs: [TRACED_MODULES], tracing: { exporter, sampleRatio: 0 } });
    const app = new BasicTracerProvider().getTracer('app');
    let sampledJob = { traceId: '', spanId: '' };
    try {
      await engine.ready();
      await engine.workflows.createWorkflow('quiet', [{ name: 'work', module: 'traced', action: 'work' }]);
      const run = await engine.workflows.executeWorkflow('quiet');
      expect(run.success).toBe(true);
      // The action ran with no span of its own and no active span: the attempt was not sampled.
      expect(run.steps['work']?.result).toEqual({ attemptSpanId: null, activeSpanId: null });
      // A caller's unsampled span: its task's attempt is not sampled either, whatever the ratio.
      const unsampledParent = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 0 });
      const quiet = await context.with(trace.setSpan(context.active(), unsampledParent), () =>
        engine.tasks.executeTask({ module: 'traced', action: 'work', parameters: {} }),
      );
      expect(quiet.result).toEqual({ attemptSpanId: null, activeSpanId: null });
      // A caller's sampled span: its task's attempt is sampled (parent-based) although the ratio is 0.
      const span = app.startSpan('sampled job');
      sampledJob = span.spanContext();
      const loud = await context.with(trace.setSpan(context.active(), span), () =>
        engine.tasks.executeTask({ module: 'traced', action: 'work', parameters: {} }),
      );
      span.end();
      expect(loud.success).toBe(true);
    } finally {
      await engine.shutdown();
    }
    const spans = finished();
    // Only the sampled caller's trace was recorded: its attempt and the action's two spans under it.
    expect(spans.map((s) => s.spanContext().traceId)).toEqual(spans.map(() => sampledJob.traceId));
    const attempt = one(spans, 'attempt traced.work');
    expect(parentOf(attempt)).toBe(sampledJob.spanId);
    expect(parentOf(one(spans, 'own work'))).toBe(attempt.spanContext().spanId);
    expect(parentOf(one(spans, 'own child'))).toBe(attempt.spanContext().spanId);
  });
});

describe('tracing options', () => {
  it('is off by default and on with the standard OTEL_* variables', () => {
    expect(compileTracing({}, {}).enabled).toBe(false);
    expect(compileTracing({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).enabled).toBe(true);
    expect(compileTracing({}, { OTEL_TRACES_EXPORTER: 'otlp' }).enabled).toBe(true);
    expect(compileTracing({}, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).enabled).toBe(false);
    expect(
      compileTracing({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318', OTEL_TRACES_EXPORTER: 'none' }).enabled,
    ).toBe(false);
    expect(compileTracing({ enabled: false }, { OTEL_TRACES_EXPORTER: 'otlp' }).enabled).toBe(false);
    expect(compileTracing({}, { OTEL_SERVICE_NAME: 'billing' }).serviceName).toBe('billing');
    expect(compileTracing({ endpoint: 'http://127.0.0.1:4318/' }, {}).tracesUrl).toBe(
      'http://127.0.0.1:4318/v1/traces',
    );
  });

  it('refuses bad input naming the field and the fix', () => {
    expect(() => compileTracing({ sampleRatio: 2 }, {})).toThrow(/tracing\.sampleRatio/);
    expect(() => compileTracing({ endpoint: 'localhost' }, {})).toThrow(/tracing\.endpoint: must be a URL/);
    expect(() => compileTracing({}, { OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(
      /OTEL_TRACES_EXPORTER: "jaeger" is not supported here; use otlp, console or none/,
    );
    expect(() => compileTracing({ linkTemplate: 'http://jaeger/trace' }, {})).toThrow(/must contain \{traceId\}/);
  });
});
