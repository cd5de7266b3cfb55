/**
 * A real engine (worker threads, in-process bus) put on a real nats-server with bridgeToNats, driven by the
 * seed's own client classes over a NatsBus: the payloads they send pass the boundary schemas and the replies come
 * back whole.
 */
import { firstValueFrom, filter } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskOrchestratorClient } from '../../src/actors/tasks/client.js';
import { WorkflowManagerClient } from '../../src/actors/workflows/client.js';
import { ResourceManagerClient } from '../../src/actors/resources/client.js';
import { bridgeToNats } from '../../src/bus/bridge.js';
import { NatsBus } from '../../src/bus/nats.js';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { Task } from '../../src/index.js';
import { testEngine } from '../helpers.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';

let server: NatsServer;
let engine: OrchestrationEngine;
let daemon: NatsBus;
let client: NatsBus;
let stopBridge: () => void;

beforeAll(async () => {
  server = await startNatsServer();
  engine = testEngine({ metrics: { processMetrics: false } });
  await engine.ready();
  const subjectPrefix = `bridge${process.pid}`;
  daemon = await NatsBus.connect({ servers: server.url, subjectPrefix });
  client = await NatsBus.connect({ servers: server.url, subjectPrefix });
  stopBridge = bridgeToNats(engine.bus, daemon);
  await daemon.ready();
});
afterAll(async () => {
  stopBridge();
  await Promise.all([client.close(), daemon.close()]);
  await engine.shutdown({ graceMs: 0 });
  await server.dispose();
});

describe('an engine commanded over NATS', () => {
  it('runs tasks added by the task client, with their events on NATS', async () => {
    const tasks = new TaskOrchestratorClient(client, () => null);
    const done = firstValueFrom(
      client.events$('task_completed').pipe(filter((e) => (e.data as { name?: string }).name === 'over-nats')),
    );
    const setup = new Task({
      name: 'over-nats',
      module: 'core',
      action: 'echo',
      parameters: { value: 42 },
      priority: 'high',
      maxRetries: 1,
    });
    const result = await tasks.executeTask(setup);
    expect(result).toMatchObject({ taskId: setup.id, success: true, status: 'completed', result: 42 });
    expect((await done).data).toMatchObject({ taskId: setup.id, success: true });
    await expect(tasks.getTask(setup.id)).resolves.toMatchObject({
      id: setup.id,
      status: 'completed',
      priority: 'high',
    });
    const ids = await tasks.addTasks([
      { module: 'core', action: 'noop' },
      { module: 'core', action: 'noop' },
    ]);
    await tasks.startExecution();
    await expect(Promise.all(ids.map((id) => tasks.waitForTask(id)))).resolves.toEqual([
      expect.objectContaining({ success: true }),
      expect.objectContaining({ success: true }),
    ]);
    await expect(tasks.stats()).resolves.toMatchObject({ executing: true });
  });

  it('creates and runs a workflow through the workflow client, and a snake_case run over raw NATS', async () => {
    const wf = new WorkflowManagerClient(client, () => null);
    await wf.createWorkflow('greet', [
      { name: 'hello', module: 'core', action: 'echo', parameters: { value: '{{params.who}}' } },
      { name: 'after', module: 'core', action: 'noop', dependencies: ['hello'], maxRetries: 0 },
    ]);
    const result = await wf.executeWorkflow('greet', { who: 'nats' });
    expect(result).toMatchObject({ success: true, workflowName: 'greet' });
    expect(result.steps['hello']).toMatchObject({ success: true, result: 'nats' });
    const reply = await client.connection.request(
      client.commandSubject('workflow.start'),
      JSON.stringify({ workflow_name: 'greet', parameters: { who: 'seed' } }),
      { timeout: 5000 },
    );
    const { ok, result: started } = reply.json<{ ok: boolean; result: { runId: string } }>();
    expect(ok).toBe(true);
    await expect(client.request('workflow.wait_run', { runId: started.runId })).resolves.toMatchObject({
      success: true,
      runId: started.runId,
    });
    await expect(wf.listWorkflows()).resolves.toEqual([expect.objectContaining({ name: 'greet', steps: 2 })]);
  });

  it("brings the engine's own errors back as their classes", async () => {
    const wf = new WorkflowManagerClient(client, () => null);
    const missing = await wf.executeWorkflow('nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as Error).message).toMatch(/no workflow named "nope"/);
    const bad = await wf
      .createWorkflow('broken', [{ name: 'x', module: 'core', action: 'no_such_action' }])
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect((bad as ValidationError).issues.join('\n')).toMatch(/no_such_action/);
  });

  it('allocates and releases resources, and manages sessions', async () => {
    const rm = new ResourceManagerClient(client, () => null);
    const a = await rm.allocateResources('user123', { cpu: { cores: 1 } });
    expect(a).toMatchObject({ holderId: 'user123' });
    await expect(rm.deallocateResources('user123')).resolves.toMatchObject({ released: 1 });
    const session = await client.request('session.create', { userId: 'u1', mode: 'parallel', maxParallelTasks: 2 });
    expect(session).toMatchObject({ userId: 'u1', mode: 'parallel', status: 'active' });
    await expect(client.request('session.close', { sessionId: session.sessionId })).resolves.toMatchObject({
      status: 'closed',
    });
  });
});
