/**
 * Issue 20 against a real daemon (child process) on a real nats-server: a deep result reached through the built-in
 * `http.request` (a 12 KB JSON body) must fail its task naming the limit instead of wedging the daemon's only thread.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats.js';
import { LIMITS } from '../../src/model/limits.js';
import type { TaskInput, TaskResult } from '../../src/model/task.js';
import { startDaemon, type DaemonProcess } from '../support/daemon.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';

let server: NatsServer;
let root: string;
let daemon: DaemonProcess;
let bus: NatsBus;
let http: Server;
let url: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codomyrmex-daemon-payloads-'));
  server = await startNatsServer();
  // 3000 levels of arrays: about 6 KB of JSON, which JSON.parse reads without trouble.
  const deep = `${'['.repeat(3000)}1${']'.repeat(3000)}`;
  http = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(deep);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/deep`;
  const prefix = `dp${process.pid}`;
  daemon = startDaemon(root, ['--db', join(root, 'state.db'), '--nats', server.url, '--subject-prefix', prefix]);
  await daemon.servingNats();
  bus = await NatsBus.connect({ servers: server.url, subjectPrefix: prefix, requestTimeoutMs: 30_000 });
}, 60_000);

afterAll(async () => {
  await bus?.close().catch(() => undefined);
  if (daemon && daemon.proc.exitCode === null && daemon.proc.signalCode === null) daemon.proc.kill('SIGKILL');
  await daemon?.exited;
  http?.close();
  await server?.dispose();
  await rm(root, { recursive: true, force: true });
});

/** Submits a task and waits (bounded) for its end: a wedged thread shows as a wait that never ends. */
async function run(task: TaskInput): Promise<TaskResult> {
  const { taskId } = await bus.request('task.submit', { task });
  const outcome = await bus.request('task.wait_for', { taskId, timeoutMs: 20_000 });
  if (!outcome.done) throw new Error(`task ${taskId} did not end within 20 s`);
  return outcome.result;
}

describe('deep values at a daemon over NATS', () => {
  it('a deep HTTP JSON body fails its task once, naming the limit; the daemon keeps running tasks', async () => {
    // The daemon has one thread: two wedged tasks used to leave nothing able to run.
    for (let i = 0; i < 2; i++) {
      const r = await run({ module: 'http', action: 'request', parameters: { url }, maxRetries: 2 });
      expect(r).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'NON_RETRYABLE' } });
      expect(r.error?.message).toContain(`nested deeper than ${LIMITS.maxResultDepth} levels (limit maxResultDepth)`);
    }
    const after = await run({ module: 'core', action: 'echo', parameters: { value: 'alive' } });
    expect(after).toMatchObject({ status: 'completed', result: 'alive' });
  });
});

describe('__proto__ keys at a daemon over NATS (issue 20 item 5)', () => {
  it('refuses a task whose parameters hold a __proto__ key, naming the field, instead of storing {}', async () => {
    const raw =
      '{"task": {"module": "core", "action": "echo", "parameters": {"value": 1, "deep": [{"__proto__": {"x": 1}}]}}}';
    const err = await bus.request('task.submit', JSON.parse(raw) as { task: TaskInput }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'payload.task.parameters.deep[0].__proto__: a key named "__proto__" is refused (it would be dropped or become a prototype); rename it',
    );
    expect((err as { code?: string }).code).toBe('VALIDATION');
  });
});
