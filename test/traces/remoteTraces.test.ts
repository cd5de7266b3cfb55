/**
 * One unbroken trace through a JetStream hop: a NATS client's span → the daemon's command span → the task's attempt
 * (a daemon child process with `--no-local-workers`) → the remote worker's `process` span (a `codomyrmex worker`
 * child process, service `codomyrmex-worker`) → the spans the action made in the worker's thread. Both processes
 * export over OTLP/HTTP to one real receiver; the worker's log lines about the attempt carry its trace id.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteEngine } from '../../src/edges/nats/client.js';
import type { NatsBus } from '../../src/bus/nats.js';
import { startCliProcess, startDaemon, workerArgs, type DaemonProcess } from '../support/daemon.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';
import { findSpan, startOtlpReceiver, TRACED_MODULES, type OtlpReceiver, type ReceivedSpan } from '../support/otlp.js';
import { joined, workerReady } from '../support/remote.js';

// The application's context manager, as its OpenTelemetry SDK registers one: the engine installs none of its own.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

let server: NatsServer;
let receiver: OtlpReceiver;
let root: string;
let daemon: DaemonProcess;
let worker: DaemonProcess;
let remote: RemoteEngine<NatsBus>;
const prefix = `trw${process.pid}`;

beforeAll(async () => {
  [server, receiver] = await Promise.all([startNatsServer(), startOtlpReceiver()]);
  root = await mkdtemp(join(tmpdir(), 'codomyrmex-remote-traces-'));
  // Export within 50 ms of a span's end, not the default 5 s.
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' };
  daemon = startDaemon(
    root,
    [
      '--db',
      join(root, 'state.db'),
      '--nats',
      server.url,
      '--subject-prefix',
      prefix,
      '--module-dir',
      TRACED_MODULES,
      '--no-local-workers',
      '--worker-lost-after',
      '5s',
    ],
    env,
  );
  await daemon.servingNats();
  worker = startCliProcess(
    root,
    [
      '--threads',
      '1',
      '--module-dir',
      TRACED_MODULES,
      ...workerArgs(server.url, prefix, 'w1'),
      '--concurrency',
      '8',
      '--log-level',
      'debug',
      '--heartbeat',
      '200ms',
    ],
    env,
  );
  await Promise.all([workerReady(worker), joined(daemon, 'w1')]);
  process.env['OTEL_BSP_SCHEDULE_DELAY'] = '50';
  remote = await RemoteEngine.connect({
    servers: server.url,
    subjectPrefix: prefix,
    tracing: { endpoint: receiver.endpoint, serviceName: 'test-client' },
  });
});

afterAll(async () => {
  await remote?.close();
  for (const p of [worker, daemon]) p?.proc.kill('SIGTERM');
  await Promise.all([worker?.exited, daemon?.exited]);
  await Promise.all([server?.stop(), receiver?.close()]);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('traces through a remote worker', () => {
  it("keeps one trace from the client through the daemon and JetStream to the action in the worker's thread", async () => {
    const job = new BasicTracerProvider().getTracer('app').startSpan('client job');
    const { traceId } = job.spanContext();
    const result = await context.with(trace.setSpan(context.active(), job), () =>
      remote.tasks.executeTask({ module: 'traced', action: 'work' }),
    );
    job.end();
    expect(result.success).toBe(true);

    const spans = await receiver.waitFor(
      (all) =>
        ['own work', 'process traced.work'].every((n) => findSpan(all, 'codomyrmex-worker', n, traceId)) &&
        findSpan(all, 'codomyrmex', 'attempt traced.work', traceId) !== undefined &&
        findSpan(all, 'test-client', 'send task.submit', traceId) !== undefined,
      'the spans of the client, the daemon and the worker',
    );
    const send = findSpan(spans, 'test-client', 'send task.submit', traceId);
    expect(send?.parentSpanId).toBe(job.spanContext().spanId);
    const command = findSpan(spans, 'codomyrmex', 'command task.submit', traceId);
    expect(command?.parentSpanId).toBe(send?.spanId);
    const attempt = findSpan(spans, 'codomyrmex', 'attempt traced.work', traceId);
    expect(attempt?.parentSpanId).toBe(command?.spanId);
    const processed = findSpan(spans, 'codomyrmex-worker', 'process traced.work', traceId);
    expect(processed?.parentSpanId).toBe(attempt?.spanId);
    expect(processed?.kind).toBe(5); // CONSUMER
    expect(processed?.attributes).toMatchObject({
      'messaging.system': 'nats',
      'codomyrmex.worker': 'w1',
      'codomyrmex.task_id': result.taskId,
      'codomyrmex.attempt': 1,
    });
    const own = findSpan(spans, 'codomyrmex-worker', 'own work', traceId);
    expect(own?.parentSpanId).toBe(processed?.spanId);
    // The thread saw the worker's span as ctx.span; the daemon exported none of the thread's spans itself.
    expect(result.result).toEqual({ attemptSpanId: processed?.spanId, activeSpanId: processed?.spanId });
    expect(spans.filter((s) => s.name === 'own work' && s.traceId === traceId).map((s) => s.service)).toEqual([
      'codomyrmex-worker',
    ]);

    const started = await worker.waitForLine(
      (l) => l.msg === 'task started' && l['taskId'] === result.taskId,
      'the worker\'s "task started"',
    );
    expect(started).toMatchObject({ trace_id: traceId, span_id: processed?.spanId });
  });

  it("continues each attempt of a work message that carries several in that attempt's own span", async () => {
    const job = new BasicTracerProvider().getTracer('app').startSpan('client batch');
    const { traceId } = job.spanContext();
    // Queued first and started together, so the daemon sends them to the worker (8 slots) in few messages.
    const ids = await context.with(trace.setSpan(context.active(), job), () =>
      remote.tasks.addTasks(Array.from({ length: 12 }, () => ({ module: 'traced', action: 'work' }))),
    );
    await remote.tasks.startExecution();
    const results = await Promise.all(ids.map((id) => remote.tasks.waitForTask(id)));
    job.end();
    expect(results.map((r) => r.success)).toEqual(ids.map(() => true));
    // The worker and the daemon export on their own schedules: wait for both spans of every task.
    const count = (all: ReceivedSpan[], name: string): number =>
      all.filter((s) => s.traceId === traceId && s.name === name).length;
    const spans = await receiver.waitFor(
      (all) => count(all, 'process traced.work') === ids.length && count(all, 'attempt traced.work') === ids.length,
      'an attempt and a process span per task',
    );
    for (const [i, id] of ids.entries()) {
      const attempt = spans.find(
        (s) => s.traceId === traceId && s.name === 'attempt traced.work' && s.attributes['codomyrmex.task_id'] === id,
      );
      const processed = spans.find(
        (s) => s.traceId === traceId && s.name === 'process traced.work' && s.attributes['codomyrmex.task_id'] === id,
      );
      expect(attempt).toBeDefined();
      expect(processed?.parentSpanId).toBe(attempt?.spanId);
      // The action ran in its own attempt's span, not a batch-mate's.
      expect(results[i]?.result).toEqual({ attemptSpanId: processed?.spanId, activeSpanId: processed?.spanId });
    }
    // They came in fewer work messages than attempts: each batch's size is on its attempts' spans, and they add up.
    const sizes = spans
      .filter((s) => s.traceId === traceId && s.name === 'process traced.work')
      .map((s) => Number(s.attributes['messaging.batch.message_count'] ?? 1));
    const messages = sizes.reduce((n, size) => n + 1 / size, 0);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(Math.round(messages)).toBeLessThan(ids.length);
  });
});
