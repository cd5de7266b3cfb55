/**
 * What a daemon's user does from the CLI, against a `codomyrmex daemon` child process on a real nats-server: define,
 * validate and plan workflows on the daemon, run a workflow file there, attach to a run in progress with `run watch`
 * and detach with Ctrl-C; and the errors met on the way (the store's lock, no daemon on a prefix).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsBus } from '../../src/bus/nats.js';
import { packagePath } from '../../src/config/options.js';
import type { WorkflowPlan } from '../../src/edges/mcp/plan.js';
import type { WorkflowResult } from '../../src/model/workflow.js';
import { CLI, cli, startNatsDaemon, type NatsDaemon } from '../support/daemon.js';
import type { NatsServer } from '../support/nats.js';

let nd: NatsDaemon;
let server: NatsServer;
let root: string;
let daemonDir: string;
let bus: NatsBus;
let flags: string[];
const prefix = `dctl${process.pid}`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codomyrmex-dctl-'));
  daemonDir = join(root, 'daemon');
  await mkdir(daemonDir);
  nd = await startNatsDaemon(daemonDir, prefix, ['--module-dir', packagePath('dist', 'test', 'fixtures', 'modules')]);
  ({ server, bus, flags } = nd);
});

afterAll(async () => {
  await nd?.stop();
  await rm(root, { recursive: true, force: true });
});

/** A CLI child process whose stdout can be waited on, and interrupted like a terminal's Ctrl-C. */
function watch(args: string[]) {
  const proc = spawn(process.execPath, [CLI, '--threads', '1', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { text: RegExp; resolve: () => void }[] = [];
  proc.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of [...waiters]) {
      if (!w.text.test(stdout)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    exited,
    out: () => stdout,
    err: () => stderr,
    printed: (text: RegExp) =>
      new Promise<void>((resolve, reject) => {
        if (text.test(stdout)) return resolve();
        waiters.push({ text, resolve });
        void exited.then((code) => reject(new Error(`exited ${code} before printing ${text}: ${stdout} ${stderr}`)));
      }),
  };
}

describe('the CLI defines and runs workflows on a daemon (--nats)', () => {
  it('workflow create --file and --template store the definition in the daemon, checked against its modules', async () => {
    await writeFile(
      join(root, 'probe.yaml'),
      `name: ignored\nsteps:\n  - { name: trace, module: probe, action: record, parameters: { log: ${JSON.stringify(join(root, 'probe.log'))} } }\n`,
    );
    const created = await cli(root, ['workflow', 'create', 'traced', '--file', 'probe.yaml', '--json', ...flags]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'traced', version: '1', steps: 1, daemon: server.url });
    expect(await bus.request('workflow.get', { name: 'traced' })).toMatchObject({
      name: 'traced',
      steps: [{ module: 'probe', action: 'record' }],
    });

    // The same name again is refused (exit 5); --force stores the next version.
    const again = await cli(root, ['workflow', 'create', 'traced', '--file', 'probe.yaml', ...flags]);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(
      /workflow "traced" already exists on the daemon \(version 1\); pick another name, or pass --force/,
    );
    await writeFile(
      join(root, 'probe2.yaml'),
      (await readFile(join(root, 'probe.yaml'), 'utf8')).replace('name: trace,', 'name: trace2,'),
    );
    const forced = await cli(root, ['workflow', 'create', 'traced', '--file', 'probe2.yaml', '--force', ...flags]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`created workflow "traced" v2 (1 steps) on the daemon at ${server.url}`);

    // A copy of a template the daemon has, with report paths of its own.
    const copied = await cli(root, ['workflow', 'create', 'my-analysis', '--template', 'ai-analysis', ...flags]);
    expect(copied.code).toBe(0);
    expect((await bus.request('workflow.get', { name: 'my-analysis' }))?.params).toMatchObject({
      chart: '.codomyrmex/reports/my-analysis.svg',
      report: '.codomyrmex/reports/my-analysis',
    });

    // An invalid definition is refused by the daemon with its problems listed, exit 2; nothing is stored.
    await writeFile(
      join(root, 'bad.yaml'),
      'name: bad\nsteps:\n  - { name: a, module: core, action: noop, dependencies: [b] }\n',
    );
    const bad = await cli(root, ['workflow', 'create', 'bad', '--file', 'bad.yaml', ...flags]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/step "a" depends on unknown step "b"/);
    expect(await bus.request('workflow.get', { name: 'bad' })).toBeNull();
  }, 60_000);

  it('workflow validate and plan answer for the daemon: its modules, its stored workflows', async () => {
    const remote = await cli(root, ['workflow', 'validate', 'probe.yaml', '--json', ...flags]);
    expect(remote.code).toBe(0);
    expect(JSON.parse(remote.stdout)).toMatchObject({ valid: true, levels: [['trace']] });
    // Embedded, this folder has no probe module: the same file is invalid.
    const local = await cli(root, ['workflow', 'validate', 'probe.yaml', '--json']);
    expect(local.code).toBe(2);
    expect((JSON.parse(local.stdout) as WorkflowPlan).errors.join('\n')).toMatch(/probe/);

    const plan = await cli(root, ['workflow', 'plan', 'traced', '--json', ...flags]);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ valid: true, workflowName: 'traced', criticalPath: ['trace2'] });
    const missing = await cli(root, ['workflow', 'plan', 'nope', ...flags]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no workflow named "nope"; see "codomyrmex workflow list"/);
  }, 60_000);

  it('exec FILE --nats runs a complex workflow on the daemon', async () => {
    await writeFile(
      join(root, 'complex.json'),
      JSON.stringify({
        name: 'checks',
        steps: [
          { name: 'lint', module: 'core', action: 'echo', parameters: { value: 'ok' } },
          { name: 'report', module: 'core', action: 'echo', parameters: { value: '{{lint.output}}' } },
        ],
        dependencies: { report: ['lint'] },
      }),
    );
    const ran = await cli(root, ['exec', 'complex.json', '--json', ...flags]);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    const result = JSON.parse(ran.stdout) as WorkflowResult;
    expect(result).toMatchObject({ status: 'succeeded', workflowName: 'checks', steps: { report: { result: 'ok' } } });
    // The daemon ran it: the run is in its state.
    expect(await bus.request('workflow.get_run', { runId: result.runId })).toMatchObject({ status: 'succeeded' });
  }, 60_000);

  it('in the daemon’s folder without --nats, a command reaches the daemon holding the store; workflow create --template needs no store', async () => {
    const reached = await cli(daemonDir, ['workflow', 'list', '--json']);
    expect(reached.code).toBe(0);
    expect((JSON.parse(reached.stdout) as { name: string }[]).map((w) => w.name)).toContain('traced');
    const created = await cli(daemonDir, ['workflow', 'create', 'local-copy', '--template', 'ai-analysis']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(await readFile(join(daemonDir, '.codomyrmex', 'workflows', 'local-copy.yaml'), 'utf8')).toMatch(
      /report: \.codomyrmex\/reports\/local-copy\n/,
    );
  }, 60_000);

  it('NATS up but no daemon on the prefix: exit 4, naming the prefix and the URL', async () => {
    const none = await cli(root, [
      'workflow',
      'list',
      '--nats',
      server.url,
      '--subject-prefix',
      'nobody-here',
      '--json',
    ]);
    expect(none.code).toBe(4);
    expect(JSON.parse(none.stdout)).toMatchObject({
      error: {
        code: 'BUS_UNAVAILABLE',
        message: expect.stringMatching(
          new RegExp(`^no daemon answers on prefix nobody-here at ${server.url}`),
        ) as string,
      },
    });
    for (const args of [
      ['task', 'list'],
      ['workers', 'list'],
      ['orchestration', 'status'],
    ]) {
      const r = await cli(root, [...args, '--nats', server.url, '--subject-prefix', 'nobody-here']);
      expect(r.code, args.join(' ')).toBe(4);
      expect(r.stderr).toMatch(/no daemon answers on prefix nobody-here at nats:/);
    }
  }, 60_000);
});

describe('run watch on a daemon’s run in progress', () => {
  it('shows each step’s current state on attach; Ctrl-C detaches (exit 130) and the run goes on; --cancel-on-interrupt cancels', async () => {
    await bus.request('workflow.create', {
      definition: {
        name: 'long',
        steps: [
          { name: 'first', module: 'core', action: 'echo', parameters: { value: 1 } },
          { name: 'middle', module: 'core', action: 'sleep', parameters: { ms: 60_000 }, dependencies: ['first'] },
          { name: 'last', module: 'core', action: 'echo', parameters: { value: 2 }, dependencies: ['middle'] },
        ],
      },
    });
    const middleStarted = new Promise<void>((resolve) => {
      const sub = bus.events$('step_started').subscribe((e) => {
        if ((e.data as { step?: string }).step === 'middle') {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    await bus.ready();
    const { runId } = await bus.request('workflow.start', { name: 'long' });
    await middleStarted;

    const w = watch(['run', 'watch', runId, ...flags]);
    await w.printed(/^last waiting$/m);
    expect(w.out()).toMatch(/^first completed in \d+ ms$/m);
    expect(w.out()).toMatch(/^middle running for [\d.]+ m?s$/m);
    w.proc.kill('SIGINT');
    expect(await w.exited).toBe(130);
    expect(w.err()).toContain(`detached from run ${runId}; it goes on`);
    expect((await bus.request('workflow.get_run', { runId }))?.status).toBe('running');

    const c = watch(['run', 'watch', runId, '--cancel-on-interrupt', ...flags]);
    await c.printed(/^last waiting$/m);
    c.proc.kill('SIGINT');
    expect(await c.exited).toBe(130);
    expect(c.out()).toMatch(new RegExp(`workflow long v1 run ${runId}: cancelled`));
    expect((await bus.request('workflow.get_run', { runId }))?.status).toBe('cancelled');
  }, 60_000);
});

describe('task list on a daemon', () => {
  it('pages through the daemon’s stored tasks, newest first, those from before its restart too', async () => {
    const ids: string[] = [];
    for (const value of [41, 42]) {
      const r = await cli(root, ['task', 'run', 'core.echo', '--param', `value=${value}`, '--json', ...flags]);
      expect(r.code).toBe(0);
      ids.push((JSON.parse(r.stdout) as { taskId: string }).taskId);
    }
    expect(await nd.restart()).toBe(0);

    const newest = await cli(root, ['task', 'list', '--limit', '2', '--json', ...flags]);
    expect(newest.code).toBe(0);
    expect((JSON.parse(newest.stdout) as { id: string }[]).map((t) => t.id)).toEqual([ids[1], ids[0]]);
    const next = await cli(root, ['task', 'list', '--limit', '1', '--offset', '1', ...flags]);
    expect(next.code).toBe(0);
    expect(next.stdout).toContain(ids[0]);
    expect(next.stdout).not.toContain(ids[1]);
    expect(next.stdout).toContain('2-2, newest first; older ones: --offset 2');
  }, 60_000);
});
