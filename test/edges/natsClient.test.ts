/**
 * Long operations over NATS: a run or a task is started (the reply is its id) and followed to its end through its
 * end event or bounded `wait_for` requests, so it outlives a request timeout far shorter than the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bridgeToNats } from '../../src/bus/bridge.js';
import { NatsBus } from '../../src/bus/nats.js';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OrchestrationEngine } from '../../src/index.js';
import { createOrchestrationEngine } from '../../src/index.js';
import { packagePath } from '../../src/config/options.js';
import { RemoteEngine, runTask, runWorkflow } from '../../src/edges/nats/client.js';
import { testEngine, thenEcho } from '../helpers.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';

let server: NatsServer;
let engine: OrchestrationEngine;
let daemon: NatsBus;
let client: NatsBus;
let stopBridge: () => void;
const subjectPrefix = `client${process.pid}`;

beforeAll(async () => {
  server = await startNatsServer();
  engine = testEngine({ metrics: { processMetrics: false } });
  await engine.ready();
  daemon = await NatsBus.connect({ servers: server.url, subjectPrefix });
  // A request timeout far below the runs' length: anything held open for a run would fail.
  client = await NatsBus.connect({ servers: server.url, subjectPrefix, requestTimeoutMs: 300 });
  stopBridge = bridgeToNats(engine.bus, daemon);
  await daemon.ready();
  await engine.workflows.createWorkflow(
    'slow-pair',
    thenEcho({ module: 'core', action: 'sleep', parameters: { ms: 700, value: 1 } }),
  );
});
afterAll(async () => {
  stopBridge();
  await Promise.all([client.close(), daemon.close()]);
  await engine.shutdown({ graceMs: 0 });
  await server.dispose();
});

describe('runs and tasks followed over NATS', () => {
  it('reports a workflow that runs longer than the request timeout, through events and bounded waits', async () => {
    const result = await runWorkflow(client, 'slow-pair', {}, { waitMs: 100 });
    expect(result).toMatchObject({ success: true, status: 'succeeded', workflowName: 'slow-pair' });
    expect(result.steps['second']).toMatchObject({ status: 'completed', result: 1 });
  });

  it('answers wait_for with done: false while the run goes on, then with its result (also after it ended)', async () => {
    const { runId } = await client.request('workflow.start', { name: 'slow-pair' });
    await expect(client.request('workflow.wait_for', { runId, timeoutMs: 10 })).resolves.toEqual({ done: false });
    let outcome = await client.request('workflow.wait_for', { runId, timeoutMs: 200 });
    while (!outcome.done) outcome = await client.request('workflow.wait_for', { runId, timeoutMs: 200 });
    expect(outcome.result).toMatchObject({ runId, success: true });
    // A client that comes back later still learns how it ended.
    const later = await NatsBus.connect({ servers: server.url, subjectPrefix });
    try {
      await expect(later.request('workflow.wait_for', { runId, timeoutMs: 0 })).resolves.toMatchObject({
        done: true,
        result: { runId, status: 'succeeded' },
      });
    } finally {
      await later.close();
    }
  });

  it('submits a task (reply: its id) and follows it to its end', async () => {
    const result = await runTask(
      client,
      { name: 'slow', module: 'core', action: 'sleep', parameters: { ms: 600, value: 'late' } },
      { waitMs: 100 },
    );
    expect(result).toMatchObject({ success: true, status: 'completed', result: 'late' });
    const failed = await runTask(
      client,
      { module: 'core', action: 'fail', parameters: { times: 5 }, maxRetries: 0 },
      { waitMs: 100 },
    );
    expect(failed).toMatchObject({ success: false, status: 'failed' });
  });

  it('gives error replies for bad waits: unknown ids, a missing or oversized timeoutMs', async () => {
    await expect(client.request('task.wait_for', { taskId: 'nope', timeoutMs: 10 })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(client.request('workflow.wait_for', { runId: 'nope', timeoutMs: 10 })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    const missing = client.request('task.wait_for', { taskId: 't' } as never);
    await expect(missing).rejects.toBeInstanceOf(ValidationError);
    await expect(missing).rejects.toMatchObject({ issues: [expect.stringMatching(/^payload\.timeoutMs: required/)] });
    await expect(client.request('workflow.wait_for', { runId: 'r', timeoutMs: 3_600_000 })).rejects.toMatchObject({
      issues: [expect.stringMatching(/^payload\.timeoutMs: must be at most 600000/)],
    });
  });

  it('answers wait_for from the store for a run no longer held in memory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codomyrmex-waitfor-'));
    const durable = createOrchestrationEngine({
      store: 'sqlite',
      dbPath: join(dir, 'state.db'),
      retainRuns: 1,
      threads: 1,
      metrics: { enabled: false },
      workflowDirs: [],
    });
    try {
      await durable.workflows.createWorkflow('quick', [
        { name: 'only', module: 'core', action: 'echo', parameters: { value: 'kept' } },
      ]);
      const first = await durable.workflows.executeWorkflow('quick');
      await durable.workflows.executeWorkflow('quick');
      await durable.flush();
      expect(await durable.workflows.getRun(first.runId)).toBeNull();
      await expect(
        durable.bus.request('workflow.wait_for', { runId: first.runId, timeoutMs: 0 }),
      ).resolves.toMatchObject({ done: true, result: { runId: first.runId, steps: { only: { result: 'kept' } } } });
    } finally {
      await durable.shutdown({ graceMs: 0 });
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves the engine views and the facades through RemoteEngine', async () => {
    const remote = new RemoteEngine(client, { waitMs: 100 });
    const health = await remote.healthCheck();
    expect(Object.keys(health.components)).toEqual(expect.arrayContaining(['pool', 'store', 'bus']));
    expect(await remote.getSystemStatus()).toHaveProperty('engineId', engine.id);
    const run = await remote.workflows.executeWorkflow('slow-pair');
    expect(run.success).toBe(true);
    await expect(
      remote.tasks.executeTask({ module: 'core', action: 'echo', parameters: { value: 3 } }),
    ).resolves.toMatchObject({ result: 3 });
  });
});

describe('a project workflow over NATS', () => {
  it('is started and followed, so it outlives a request timeout shorter than the run', async () => {
    const root = await mkdtemp(join(tmpdir(), 'codomyrmex-project-nats-'));
    const prefix = `${subjectPrefix}p`;
    const local = createOrchestrationEngine({
      threads: 2,
      metrics: { enabled: false },
      workflowDirs: [packagePath('config', 'workflows')],
      projectsDir: root,
    });
    const served = await NatsBus.connect({ servers: server.url, subjectPrefix: prefix });
    const asker = await NatsBus.connect({ servers: server.url, subjectPrefix: prefix, requestTimeoutMs: 200 });
    const unbridge = bridgeToNats(local.bus, served);
    try {
      await local.ready();
      await served.ready();
      await local.projects.createProject({ name: 'pipeline', templateName: 'data_pipeline' });
      const remote = new RemoteEngine(asker, { waitMs: 100 });
      // data-processing runs a node child process over the project's data (about half a second here), longer than
      // the 200 ms a request may take: held open as one request, it would time out.
      const result = await remote.executeProjectWorkflow('pipeline', 'data-processing');
      expect(result).toMatchObject({ success: true, workflowName: 'data-processing' });
      const status = await local.projects.getProjectStatus('pipeline');
      expect(JSON.stringify(status)).toContain('data-processing');
    } finally {
      unbridge();
      await Promise.all([asker.close(), served.close()]);
      await local.shutdown({ graceMs: 0 });
      await rm(root, { recursive: true, force: true });
    }
  });
});
