/**
 * `codomyrmex daemon` as a child process on a real nats-server, commanded over NATS: runs and their events, bad
 * payloads, the CLI through the daemon, readiness while NATS is down, NATS restarted during a run, the SIGTERM
 * drain, and a SIGKILL mid-run resumed from SQLite.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { filter, firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats.js';
import type { BusEvent } from '../../src/bus/protocol.js';
import { ShuttingDownError } from '../../src/errors.js';
import { followRun, runWorkflow } from '../../src/edges/nats/client.js';
import { cli, startCliProcess, startDaemon, type DaemonProcess } from '../support/daemon.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';
import { sleepThenEcho } from '../helpers.js';

let server: NatsServer;
let root: string;
const open: DaemonProcess[] = [];
const buses: NatsBus[] = [];
let n = 0;

/** A daemon in its own folder with its own subject prefix (or the ones given, to restart on the same state). */
function daemon(
  url: string,
  where?: { cwd: string; prefix: string },
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): DaemonProcess & { cwd: string; prefix: string } {
  const cwd = where?.cwd ?? join(root, `d${++n}`);
  const prefix = where?.prefix ?? `dmn${process.pid}x${n}`;
  const d = startDaemon(
    root,
    ['--db', join(cwd, 'state.db'), '--nats', url, '--subject-prefix', prefix, ...extra],
    env,
  );
  open.push(d);
  return Object.assign(d, { cwd, prefix });
}

async function client(url: string, prefix: string, requestTimeoutMs?: number): Promise<NatsBus> {
  const bus = await NatsBus.connect({ servers: url, subjectPrefix: prefix, requestTimeoutMs });
  buses.push(bus);
  return bus;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codomyrmex-daemon-'));
  server = await startNatsServer();
});
afterAll(async () => {
  for (const b of buses) await b.close().catch(() => undefined);
  for (const d of open) if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
  await Promise.all(open.map((d) => d.exited));
  await server.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('codomyrmex daemon over NATS', () => {
  let main: ReturnType<typeof daemon>;
  let bus: NatsBus;
  beforeAll(async () => {
    main = daemon(server.url);
    await main.servingNats();
    bus = await client(server.url, main.prefix);
  });

  it('creates and runs a workflow over NATS, its events arriving in order', async () => {
    await bus.request('workflow.create', { definition: sleepThenEcho('pair', 50) });
    const seen: BusEvent[] = [];
    const sub = bus.events$().subscribe((e) => seen.push(e));
    // The end event may land a moment after the result: wait for it, not for a guess.
    const ended = firstValueFrom(
      bus
        .events$('workflow_completed')
        .pipe(filter((e) => (e.data as { workflowName: string }).workflowName === 'pair')),
    );
    await bus.ready();
    const result = await runWorkflow(bus, 'pair');
    await ended;
    sub.unsubscribe();
    expect(result).toMatchObject({ success: true, status: 'succeeded', steps: { second: { result: 'slept' } } });
    const mine = seen.filter(
      (e) => (e.data as { runId?: string }).runId === result.runId && /^(workflow|step)_/.test(e.type),
    );
    const order = mine.map(
      (e) => `${e.type}${'step' in (e.data as object) ? `:${(e.data as { step: string }).step}` : ''}`,
    );
    expect(order).toEqual([
      'workflow_started',
      'step_started:first',
      'step_completed:first',
      'step_started:second',
      'step_completed:second',
      'workflow_completed',
    ]);
  });

  it('answers bad payloads, unknown verbs and malformed JSON with error replies', async () => {
    const nc = await connect({ servers: server.url });
    try {
      const ask = async (
        verb: string,
        body: string,
      ): Promise<{ ok: boolean; error?: { code: string; issues: string[]; message: string } }> =>
        JSON.parse(
          new TextDecoder().decode((await nc.request(`${main.prefix}.cmd.${verb}`, body, { timeout: 5000 })).data),
        ) as never;
      await expect(ask('task.get', '{not json')).resolves.toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
      await expect(ask('task.get', '{"taskId": 5}')).resolves.toMatchObject({
        ok: false,
        error: { code: 'VALIDATION', issues: [expect.stringMatching(/^payload\.taskId/)] },
      });
      const unknown = await ask('task.gett', '{}');
      expect(unknown).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      expect(unknown.error?.message).toContain('did you mean "task.get"');
      await expect(ask('workflow.start', '{"name": "no-such-workflow"}')).resolves.toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
      await expect(ask('task.get', '{"taskId": "nope"}')).resolves.toEqual({ ok: true, result: null });
    } finally {
      await nc.close();
    }
  });

  it('serves the CLI with --nats: same output and exit codes, a run longer than the request timeout', async () => {
    await bus.request('workflow.create', { definition: sleepThenEcho('slow-cli', 1200) });
    await bus.request('workflow.create', {
      definition: {
        name: 'broken',
        steps: [{ name: 'boom', module: 'core', action: 'fail', parameters: { times: 9 }, maxRetries: 0 }],
      },
    });
    const flags = ['--nats', server.url, '--subject-prefix', main.prefix];
    const list = await cli(root, ['workflow', 'list', '--json', ...flags]);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((w) => w.name)).toEqual(
      expect.arrayContaining(['pair', 'slow-cli', 'broken']),
    );
    const ran = await cli(root, ['workflow', 'run', 'slow-cli', '--request-timeout', '400', ...flags]);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/workflow slow-cli v1 run \S+: succeeded in [\d.]+ m?s/);
    const failed = await cli(root, ['workflow', 'run', 'broken', '--json', ...flags]);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ success: false, status: 'failed' });
    const show = await cli(root, ['workflow', 'show', 'slow-cli', ...flags]);
    expect(show.stdout).toContain('critical path: first -> second');
    const task = await cli(root, ['task', 'run', 'core.echo', '-p', '{"value": 7}', '--json', ...flags]);
    expect(task.code).toBe(0);
    expect(JSON.parse(task.stdout)).toMatchObject({ status: 'completed', result: 7 });
    const health = await cli(root, ['orchestration', 'health', '--json', ...flags]);
    expect(JSON.parse(health.stdout)).toMatchObject({ components: { nats: { status: 'healthy' } } });
    const status = await cli(root, ['orchestration', 'status', '--json', ...flags]);
    expect(JSON.parse(status.stdout)).toMatchObject({ nats: { status: 'connected', subjectPrefix: main.prefix } });
    // More commands through the daemon: the runs it has, one run's steps, its resources and projects.
    const runs = await cli(root, ['workflow', 'runs', '--json', ...flags]);
    expect(runs.code).toBe(0);
    const listed = JSON.parse(runs.stdout) as { runId: string; workflowName: string }[];
    const slow = listed.find((r) => r.workflowName === 'slow-cli');
    expect(slow).toBeDefined();
    const shown = await cli(root, ['run', 'show', slow?.runId ?? '', '--json', ...flags]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ runId: slow?.runId, status: 'succeeded' });
    const resources = await cli(root, ['resources', 'list', '--json', ...flags]);
    expect((JSON.parse(resources.stdout) as { id: string }[]).map((r) => r.id)).toEqual(
      expect.arrayContaining(['cpu', 'memory']),
    );
    const plan = await cli(root, ['workflow', 'plan', 'slow-cli', '--json', ...flags]);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ valid: true, criticalPath: ['first', 'second'] });
    const missing = await cli(root, ['workflow', 'run', 'nope', ...flags]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^codomyrmex: .*nope/);
    const noDaemon = await cli(root, ['workflow', 'list', '--nats', server.url, '--subject-prefix', 'nobody-here']);
    // Nothing serves the prefix: no daemon answers there (exit 4), and the message says where it asked.
    expect(noDaemon.code).toBe(4);
    expect(noDaemon.stderr).toMatch(/no daemon answers on prefix nobody-here at nats:/);
  }, 90_000);
});

describe('codomyrmex daemon when NATS fails', () => {
  let nats2: NatsServer;
  beforeAll(async () => {
    nats2 = await startNatsServer();
  });
  afterAll(async () => {
    await nats2.dispose();
  });

  it('starts while NATS is down (not ready), connects when it comes up, and survives a NATS restart mid-run', async () => {
    await nats2.stop();
    const d = daemon(nats2.url);
    const http = await d.http();
    const down = (await (await fetch(`${http}/readyz`)).json()) as {
      status: string;
      checks: Record<string, { ok: boolean }>;
    };
    expect(down).toMatchObject({ status: 'not_ready', checks: { nats: { ok: false }, engine: { ok: true } } });
    await d.waitForLine((l) => l.msg === 'NATS not reachable; retrying', 'a retry line');
    await nats2.start();
    await d.servingNats();
    expect((await fetch(`${http}/readyz`)).status).toBe(200);

    const bus = await client(nats2.url, d.prefix, 2000);
    await bus.request('workflow.create', { definition: sleepThenEcho('through-restart', 1500) });
    const started = firstValueFrom(bus.events$('step_started'));
    await bus.ready();
    const { runId } = await bus.request('workflow.start', { name: 'through-restart' });
    await started;
    await nats2.stop();
    await d.waitForLine((l) => l.msg === 'NATS connection lost; reconnecting (health degraded)', 'the lost line');
    await nats2.start();
    const result = await followRun(bus, runId, { waitMs: 500 });
    expect(result).toMatchObject({ runId, success: true, steps: { second: { result: 'slept' } } });
    await d.waitForLine((l) => l.msg === 'NATS connection back', 'the back line');
    // The start, acknowledged once, made one run.
    expect(await bus.request('workflow.list_runs', { workflowName: 'through-restart' })).toHaveLength(1);
  });
});

describe('codomyrmex daemon with NATS credentials from the environment', () => {
  let secured: NatsServer;
  beforeAll(async () => {
    secured = await startNatsServer({ config: 'authorization { token: "s3cret-token" }\n' });
  });
  afterAll(async () => {
    await secured.dispose();
  });

  it('connects with CODOMYRMEX_NATS_TOKEN, serves a CLI that has it too, and stays not ready with a wrong one', async () => {
    const good = daemon(secured.url, undefined, [], { CODOMYRMEX_NATS_TOKEN: 's3cret-token' });
    await good.servingNats();
    const r = await cli(
      root,
      [
        'task',
        'run',
        'core.echo',
        '-p',
        '{"value": "authed"}',
        '--json',
        '--nats',
        secured.url,
        '--subject-prefix',
        good.prefix,
      ],
      { CODOMYRMEX_NATS_TOKEN: 's3cret-token' },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'authed' });
    const bad = daemon(secured.url, undefined, [], { CODOMYRMEX_NATS_TOKEN: 'wrong' });
    const http = await bad.http();
    const retry = await bad.waitForLine((l) => l.msg === 'NATS not reachable; retrying', 'a retry line');
    expect(String(retry['err'])).toMatch(/auth/i);
    expect((await fetch(`${http}/readyz`)).status).toBe(503);
    for (const d of [good, bad]) d.proc.kill('SIGTERM');
    expect(await Promise.all([good.exited, bad.exited])).toEqual([0, 0]);
  });

  it('runs a task on a `codomyrmex worker` that connects with CODOMYRMEX_NATS_TOKEN too', async () => {
    const env = { CODOMYRMEX_NATS_TOKEN: 's3cret-token' };
    const d = daemon(secured.url, undefined, ['--no-local-workers'], env);
    await d.servingNats();
    const on = ['--nats', secured.url, '--subject-prefix', d.prefix];
    const w = startCliProcess(root, ['worker', ...on, '--name', 'authed-worker', '--log-level', 'debug'], env);
    open.push(w);
    await w.waitForLine((l) => l.msg === 'worker ready', 'the worker ready');
    const r = await cli(root, ['task', 'run', 'core.echo', '-p', '{"value": "remote"}', '--json', ...on], env);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'remote' });
    expect(w.lines.some((l) => l.msg === 'task started')).toBe(true);
    for (const p of [w, d]) p.proc.kill('SIGTERM');
    expect(await Promise.all([w.exited, d.exited])).toEqual([0, 0]);
  });
});

describe('codomyrmex daemon shutdown and crash', () => {
  it('drains on SIGTERM: refuses new work, lets the running task finish, exits 0', async () => {
    const d = daemon(server.url, undefined, ['--grace', '20s']);
    await d.servingNats();
    const bus = await client(server.url, d.prefix);
    const started = firstValueFrom(bus.events$('task_started'));
    await bus.ready();
    const { taskId } = await bus.request('task.submit', {
      task: { name: 'in-flight', module: 'core', action: 'sleep', parameters: { ms: 1000, value: 'done' } },
    });
    await started;
    d.proc.kill('SIGTERM');
    await d.waitForLine((l) => l.msg === 'daemon draining', 'draining');
    await expect(bus.request('task.submit', { task: { module: 'core', action: 'echo' } })).rejects.toBeInstanceOf(
      ShuttingDownError,
    );
    expect(await d.exited).toBe(0);
    expect(d.lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['daemon draining', 'NATS closed', 'daemon stopped']),
    );
    // Restarted on the same database: the task finished during the drain, and is stored so.
    const again = daemon(server.url, d);
    await again.servingNats();
    await expect(bus.request('task.get', { taskId })).resolves.toMatchObject({ id: taskId, status: 'completed' });
    await expect(bus.request('task.wait_for', { taskId, timeoutMs: 0 })).resolves.toMatchObject({
      done: true,
      result: { result: 'done' },
    });
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('exits at once (1) on a second signal during the drain', async () => {
    const d = daemon(server.url, undefined, ['--grace', '60s']);
    await d.servingNats();
    const bus = await client(server.url, d.prefix);
    const started = firstValueFrom(bus.events$('task_started'));
    await bus.ready();
    await bus.request('task.submit', { task: { module: 'core', action: 'sleep', parameters: { ms: 60_000 } } });
    await started;
    d.proc.kill('SIGINT');
    await d.waitForLine((l) => l.msg === 'daemon draining', 'draining');
    d.proc.kill('SIGINT');
    expect(await d.exited).toBe(1);
    expect(d.lines.map((l) => l.msg)).toContain('second signal: exiting now, without waiting for the drain');
  });

  it('resumes a run from SQLite after a SIGKILL mid-run', async () => {
    const d = daemon(server.url);
    await d.servingNats();
    const bus = await client(server.url, d.prefix);
    await bus.request('workflow.create', { definition: sleepThenEcho('crashy', 1500) });
    const started = firstValueFrom(bus.events$('step_started'));
    await bus.ready();
    const { runId } = await bus.request('workflow.start', { name: 'crashy' });
    await started;
    d.proc.kill('SIGKILL');
    expect(await d.exited).toBe('SIGKILL');
    const again = daemon(server.url, d);
    await again.servingNats();
    const recovery = await again.waitForLine(
      (l) => l.msg === 'recovered from the store' && l['component'] === 'workflowManager',
      'the recovery line',
    );
    expect(
      recovery,
      JSON.stringify(
        [...d.lines, ...again.lines].filter((l) => l['component'] === 'workflowManager' || l.msg.startsWith('daemon')),
      ),
    ).toMatchObject({ resumed: 1, ids: [runId] });
    const result = await followRun(bus, runId, { waitMs: 1000 });
    expect(result).toMatchObject({ runId, success: true, steps: { second: { result: 'slept' } } });
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});
