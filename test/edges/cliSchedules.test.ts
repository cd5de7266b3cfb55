/**
 * `codomyrmex schedule ...` as a user types it: through a `codomyrmex daemon` child process on a real nats-server
 * (`--nats`), and one-shot on a SQLite file. Output is checked as JSON (and once as text); never speed.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsBus } from '../../src/bus/nats.js';
import type { BackfillReply, ScheduleView } from '../../src/model/schedule.js';
import { cli, startNatsDaemon, type NatsDaemon } from '../support/daemon.js';

let nd: NatsDaemon;
let root: string;
let bus: NatsBus;
let flags: string[];
const prefix = `sched${process.pid}`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codomyrmex-cli-sched-'));
  await mkdir(join(root, 'daemon'));
  nd = await startNatsDaemon(join(root, 'daemon'), prefix, ['--db', join(root, 'daemon', 'state.db')]);
  ({ bus, flags } = nd);
  await bus.request('workflow.create', {
    definition: { name: 'hello', steps: [{ name: 'a', module: 'core', action: 'echo', parameters: { value: 1 } }] },
  });
});

afterAll(async () => {
  await nd?.stop();
  await rm(root, { recursive: true, force: true });
});

const json = <T>(r: { code: number; stdout: string; stderr: string }): T => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
};

describe('codomyrmex schedule', () => {
  it('creates, shows, pauses, resumes, triggers, backfills and deletes through the daemon', async () => {
    const created = json<ScheduleView>(
      await cli(root, [
        'schedule',
        'create',
        'nightly',
        '--workflow',
        'hello',
        '--cron',
        '30 2 * * *',
        '--tz',
        'Europe/Paris',
        '--overlap',
        'buffer_one',
        '--param',
        'day=3',
        '--json',
        ...flags,
      ]),
    );
    expect(created).toMatchObject({
      name: 'nightly',
      workflow: 'hello',
      cron: '30 2 * * *',
      timezone: 'Europe/Paris',
      overlap: 'buffer_one',
      parameters: { day: 3 },
      paused: false,
    });
    expect(created.nextFireTimes).toHaveLength(5);

    const shown = await cli(root, ['schedule', 'show', 'nightly', ...flags]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/next fire times \(Europe\/Paris and local\)/);
    expect(shown.stdout).toMatch(/02:30 Europe\/Paris {3}\(local /);

    expect(json<ScheduleView[]>(await cli(root, ['schedule', 'list', '--json', ...flags])).map((s) => s.name)).toEqual([
      'nightly',
    ]);
    expect(json<ScheduleView>(await cli(root, ['schedule', 'pause', 'nightly', '--json', ...flags])).paused).toBe(true);
    expect(json<ScheduleView>(await cli(root, ['schedule', 'resume', 'nightly', '--json', ...flags])).paused).toBe(
      false,
    );

    const { runId } = json<{ runId: string }>(await cli(root, ['schedule', 'trigger', 'nightly', '--json', ...flags]));
    const ended = await bus.request('workflow.wait_for', { runId, timeoutMs: 20_000 });
    expect(ended).toMatchObject({ done: true, result: { success: true } });
    expect(await bus.request('workflow.get_run', { runId })).toMatchObject({
      scheduleName: 'nightly',
      params: { day: 3 },
    });

    const backfill = json<BackfillReply>(
      await cli(root, [
        'schedule',
        'backfill',
        'nightly',
        '--from',
        '2026-01-01T00:00:00Z',
        '--to',
        '2026-01-03T00:00:00Z',
        '--json',
        ...flags,
      ]),
    );
    expect(backfill).toEqual({ name: 'nightly', slots: 2, queued: 2, alreadyRun: 0 });

    expect(
      json<{ deleted: boolean }>(await cli(root, ['schedule', 'delete', 'nightly', '--json', ...flags])).deleted,
    ).toBe(true);
    const again = await cli(root, ['schedule', 'delete', 'nightly', '--json', ...flags]);
    expect(again.code).toBe(3);
    expect(JSON.parse(again.stdout)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  }, 120_000);

  it('refuses bad input with exit 2, naming the field', async () => {
    const bad = await cli(root, [
      'schedule',
      'create',
      'bad',
      '--workflow',
      'hello',
      '--cron',
      '61 * * * *',
      '--json',
      ...flags,
    ]);
    expect(bad.code).toBe(2);
    expect((JSON.parse(bad.stdout) as { error: { message: string } }).error.message).toMatch(
      /schedule\.cron: .*minute/,
    );
    const both = await cli(root, [
      'schedule',
      'create',
      'bad',
      '--workflow',
      'hello',
      '--cron',
      '* * * * *',
      '--every',
      '5m',
      '--json',
      ...flags,
    ]);
    expect(both.code).toBe(2);
    expect(both.stdout).toMatch(/not both/);
    const unknown = await cli(root, [
      'schedule',
      'create',
      'bad',
      '--workflow',
      'nope',
      '--every',
      '5m',
      '--json',
      ...flags,
    ]);
    expect(unknown.code).toBe(3);
  }, 120_000);

  it('one-shot, on the SQLite file: stores and lists schedules (a long-lived engine fires them)', async () => {
    const db = ['--db', join(root, 'oneshot.db')];
    const created = await cli(root, [
      'schedule',
      'create',
      'weekly',
      '--workflow',
      'ai-analysis',
      '--every',
      '7d',
      '--json',
      ...db,
    ]);
    expect(json<ScheduleView>(created).everyMs).toBe(7 * 86_400_000);
    expect(json<ScheduleView[]>(await cli(root, ['schedule', 'list', '--json', ...db])).map((s) => s.name)).toEqual([
      'weekly',
    ]);
  }, 120_000);
});
