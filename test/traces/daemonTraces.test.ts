/**
 * One unbroken trace across processes: a NATS client's span → the daemon's command span (a child process, exporting
 * over OTLP/HTTP to a real receiver) → the run → its step → the attempt → the spans the action made in its worker
 * thread. And the daemon's log lines about the run carry its trace id; a malformed traceparent starts a new trace.
 */
import { context, trace } from '@opentelemetry/api';
import { headers } from '@nats-io/transport-node';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteEngine } from '../../src/edges/nats/client.js';
import type { NatsBus } from '../../src/bus/nats.js';
import { startDaemon, type DaemonProcess } from '../support/daemon.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';
import { findSpan, startOtlpReceiver, TRACED_MODULES, type OtlpReceiver } from '../support/otlp.js';

// The application's context manager, as its OpenTelemetry SDK registers one: the engine installs none of its own.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

let server: NatsServer;
let receiver: OtlpReceiver;
let root: string;
let daemon: DaemonProcess;
let remote: RemoteEngine<NatsBus>;
const prefix = `tr${process.pid}`;

beforeAll(async () => {
  [server, receiver] = await Promise.all([startNatsServer(), startOtlpReceiver()]);
  root = await mkdtemp(join(tmpdir(), 'codomyrmex-traces-'));
  daemon = startDaemon(
    root,
    ['--db', join(root, 'state.db'), '--nats', server.url, '--subject-prefix', prefix, '--module-dir', TRACED_MODULES],
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      // Export within 50 ms of a span's end, not the default 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
  );
  await daemon.servingNats();
  // This process's client spans, too, leave within 50 ms (the variable is read when the exporter starts).
  process.env['OTEL_BSP_SCHEDULE_DELAY'] = '50';
  remote = await RemoteEngine.connect({
    servers: server.url,
    subjectPrefix: prefix,
    tracing: { endpoint: receiver.endpoint, serviceName: 'test-client' },
  });
});

afterAll(async () => {
  await remote?.close();
  daemon?.proc.kill('SIGTERM');
  await daemon?.exited;
  await Promise.all([server?.stop(), receiver?.close()]);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('traces across NATS, the daemon and its worker threads', () => {
  it('keeps one trace from the client through the daemon to the action in its thread', async () => {
    await remote.workflows.createWorkflow('tw', [{ name: 'work', module: 'traced', action: 'work' }]);
    const job = new BasicTracerProvider().getTracer('app').startSpan('client job');
    const { traceId } = job.spanContext();
    const result = await context.with(trace.setSpan(context.active(), job), () =>
      remote.workflows.executeWorkflow('tw'),
    );
    job.end();
    expect(result.success).toBe(true);

    const spans = await receiver.waitFor(
      (all) =>
        findSpan(all, 'codomyrmex', 'own work', traceId) !== undefined &&
        findSpan(all, 'codomyrmex', 'run tw', traceId) !== undefined,
      "the daemon's spans of the run",
    );
    const send =
      findSpan(spans, 'test-client', 'send workflow.start', traceId) ??
      (await receiver
        .waitFor((all) => findSpan(all, 'test-client', 'send workflow.start', traceId) !== undefined, 'the client span')
        .then((all) => findSpan(all, 'test-client', 'send workflow.start', traceId)));
    expect(send?.parentSpanId).toBe(job.spanContext().spanId);
    expect(send?.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.destination.name': `${prefix}.cmd.workflow.start`,
    });

    const command = findSpan(spans, 'codomyrmex', 'command workflow.start', traceId);
    expect(command?.parentSpanId).toBe(send?.spanId);
    expect(command?.kind).toBe(2); // SERVER
    const run = findSpan(spans, 'codomyrmex', 'run tw', traceId);
    expect(run?.parentSpanId).toBe(command?.spanId);
    expect(run?.attributes['codomyrmex.run_id']).toBe(result.runId);
    const step = findSpan(spans, 'codomyrmex', 'step work', traceId);
    expect(step?.parentSpanId).toBe(run?.spanId);
    const attempt = findSpan(spans, 'codomyrmex', 'attempt traced.work', traceId);
    expect(attempt?.parentSpanId).toBe(step?.spanId);
    expect(findSpan(spans, 'codomyrmex', 'own work', traceId)?.parentSpanId).toBe(attempt?.spanId);
    expect(result.steps['work']?.result).toEqual({ attemptSpanId: attempt?.spanId, activeSpanId: attempt?.spanId });

    // The daemon's log lines about the run carry its trace.
    const started = await daemon.waitForLine(
      (l) => l.msg === 'workflow started' && l['runId'] === result.runId,
      "the run's start line",
    );
    expect(started).toMatchObject({ trace_id: traceId, span_id: run?.spanId });
    const ended = await daemon.waitForLine(
      (l) => l.msg === 'workflow completed' && l['runId'] === result.runId,
      "the run's end line",
    );
    expect(ended['trace_id']).toBe(traceId);
  });

  it('starts a new trace for a malformed traceparent header, and still answers the command', async () => {
    const nc = remote.bus.connection;
    const h = headers();
    h.set('traceparent', '00-zzzz-not-a-trace-01');
    const reply = JSON.parse(
      new TextDecoder().decode(
        (
          await nc.request(`${prefix}.cmd.workflow.start`, JSON.stringify({ name: 'tw' }), {
            timeout: 10_000,
            headers: h,
          })
        ).data,
      ),
    ) as { ok: boolean; result: { runId: string } };
    expect(reply.ok).toBe(true);
    const spans = await receiver.waitFor(
      (all) => all.some((s) => s.name === 'run tw' && s.attributes['codomyrmex.run_id'] === reply.result.runId),
      'the run started with a bad header',
    );
    const run = spans.find((s) => s.name === 'run tw' && s.attributes['codomyrmex.run_id'] === reply.result.runId)!;
    const command = spans.find((s) => s.spanId === run.parentSpanId);
    expect(command?.name).toBe('command workflow.start');
    expect(command?.parentSpanId).toBe('');
  });
});
