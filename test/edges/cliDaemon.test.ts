/**
 * `codomyrmex bench --nats URL`: the bench's tasks run by a `codomyrmex daemon` child process on a real nats-server,
 * not by an engine in the CLI. Counts and shape are asserted, never speed. `modules list` and `actions` with --nats
 * show the daemon's modules (it loads a test module the CLI does not have); `task list` the daemon's tasks.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsBus } from '../../src/bus/nats.js';
import { packagePath } from '../../src/config/options.js';
import type { BenchReport } from '../../src/edges/cli/bench.js';
import { cli, startNatsDaemon, type NatsDaemon } from '../support/daemon.js';
import type { NatsServer } from '../support/nats.js';

let nd: NatsDaemon;
let server: NatsServer;
let root: string;
let bus: NatsBus;
let flags: string[];
const prefix = `benchd${process.pid}`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codomyrmex-benchd-'));
  await mkdir(join(root, 'daemon'));
  nd = await startNatsDaemon(join(root, 'daemon'), prefix, [
    '--db',
    join(root, 'daemon', 'state.db'),
    '--module-dir',
    packagePath('dist', 'test', 'fixtures', 'modules'),
  ]);
  ({ server, bus, flags } = nd);
});

afterAll(async () => {
  await nd?.stop();
  await rm(root, { recursive: true, force: true });
});

const completedOnDaemon = async (): Promise<number> => (await bus.request('task.stats', {})).byStatus.completed ?? 0;

describe('the CLI against a daemon: bench --nats, modules list, actions, task list, events', () => {
  it('runs every task on the daemon and reports tasks/s, latency and queue-wait percentiles as JSON', async () => {
    const before = await completedOnDaemon();
    const r = await cli(root, [
      'bench',
      'core.echo',
      '--tasks',
      '30',
      '--concurrency',
      '4',
      '--param',
      'value=1',
      '--json',
      ...flags,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as BenchReport;
    expect(report).toMatchObject({
      target: 'daemon',
      nats: server.url,
      action: 'core.echo',
      tasks: 30,
      concurrency: 4,
      threads: 1,
      store: 'sqlite',
      ratio: null,
    });
    expect(report.results.map((x) => [x.path, x.tasks, x.failed])).toEqual([['daemon', 30, 0]]);
    const [d] = report.results;
    expect(d?.tasksPerSec).toBeGreaterThan(0);
    expect(d?.latencyMs.p50).toBeLessThanOrEqual(d?.latencyMs.p95 ?? -1);
    expect(d?.latencyMs.p95).toBeLessThanOrEqual(d?.latencyMs.p99 ?? -1);
    expect(d?.queueWaitMs).toEqual({
      p50: expect.any(Number) as number,
      p95: expect.any(Number) as number,
      p99: expect.any(Number) as number,
    });
    // The daemon ran them: its own count went up by the bench's tasks.
    expect((await completedOnDaemon()) - before).toBe(30);
  }, 60_000);

  it('counts failed tasks, prints a table for people, and refuses a store of its own', async () => {
    const failing = await cli(root, [
      'bench',
      'core.fail',
      '--tasks',
      '5',
      '--concurrency',
      '2',
      '--param',
      'retryable=false',
      '--json',
      ...flags,
    ]);
    expect(failing.code).toBe(0);
    expect((JSON.parse(failing.stdout) as BenchReport).results.map((x) => [x.path, x.tasks, x.failed])).toEqual([
      ['daemon', 5, 5],
    ]);

    const human = await cli(root, ['bench', '--tasks', '10', '--concurrency', '2', ...flags]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`10 × core.noop, 2 in flight, daemon at ${server.url} (1 threads, store sqlite)`);
    expect(human.stdout).toMatch(/daemon\s+\d+/);
    expect(human.stdout).not.toContain('bare pool');

    const refused = await cli(root, ['bench', '--store', 'memory', '--json', ...flags]);
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout)).toMatchObject({
      error: { code: 'USAGE', message: expect.stringMatching(/^--store: with --nats/) as string },
    });
  }, 60_000);

  it('lists the daemon’s modules with modules list and actions', async () => {
    const remote = await cli(root, ['modules', 'list', 'probe', '--json', ...flags]);
    expect(remote.code).toBe(0);
    const actions = JSON.parse(remote.stdout) as {
      module: string;
      action: string;
      params: { properties?: Record<string, unknown> };
    }[];
    expect(actions.find((a) => a.action === 'record')?.params.properties).toHaveProperty('log');
    const names = await cli(root, ['actions', '--json', ...flags]);
    expect(
      (JSON.parse(names.stdout) as { module: string; action: string }[]).map((a) => `${a.module}.${a.action}`),
    ).toEqual(expect.arrayContaining(['probe.record', 'core.noop']));
    // Embedded, the CLI has no such module.
    const local = await cli(root, ['modules', 'list', 'probe', '--json']);
    expect(local.code).toBe(3);
  }, 60_000);

  it('lists the daemon’s tasks with task list, and refuses events (a local journal) with --nats', async () => {
    const listed = await cli(root, ['task', 'list', '--status', 'completed', '--limit', '500', '--json', ...flags]);
    expect(listed.code).toBe(0);
    const views = JSON.parse(listed.stdout) as { id: string; status: string }[];
    expect(views.filter((t) => t.id.startsWith('bench-')).length).toBeGreaterThanOrEqual(30);
    expect(new Set(views.map((t) => t.status))).toEqual(new Set(['completed']));
    const human = await cli(root, ['task', 'list', '--limit', '3', ...flags]);
    expect(human.stdout).toMatch(/^id\s+task\s+action\s+status\s+attempts\s+updated/);
    const events = await cli(root, ['events', '--json', ...flags]);
    expect(events.code).toBe(2);
    expect(JSON.parse(events.stdout)).toMatchObject({
      error: { code: 'USAGE', message: expect.stringMatching(/^events: --nats/) as string },
    });
  }, 60_000);
});
