/**
 * NATS triggers on a `codomyrmex daemon` child process and a real nats-server: a core-NATS subject starts a run per
 * JSON message (and rejects one that is not JSON, with a log line naming the subject); a JetStream trigger receives
 * messages published while the daemon is down and runs each once after it starts, and once only across restarts.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats.js';
import type { TriggerView } from '../../src/model/schedule.js';
import { cli, startDaemon, type DaemonProcess } from '../support/daemon.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';

let server: NatsServer;
let root: string;
let bus: NatsBus;
const prefix = `trig${process.pid}`;
const daemons: DaemonProcess[] = [];
let flags: string[];

function daemon(): DaemonProcess {
  const d = startDaemon(join(root, 'daemon'), [
    '--db',
    join(root, 'daemon', 'state.db'),
    '--nats',
    server.url,
    '--subject-prefix',
    prefix,
  ]);
  daemons.push(d);
  return d;
}

async function stop(d: DaemonProcess): Promise<void> {
  d.proc.kill('SIGTERM');
  expect(await d.exited).toBe(0);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codomyrmex-triggers-'));
  await mkdir(join(root, 'daemon'));
  server = await startNatsServer();
  bus = await NatsBus.connect({ servers: server.url, subjectPrefix: prefix });
  const jsm = await jetstreamManager(bus.connection);
  await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
  flags = ['--nats', server.url, '--subject-prefix', prefix];
});

afterAll(async () => {
  for (const d of daemons) if (d.proc.exitCode === null) d.proc.kill('SIGKILL');
  await bus?.close();
  await server?.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('NATS triggers on the daemon', () => {
  it('core NATS: a run per JSON message, with {{event.data}} and {{event.subject}}; a message that is not JSON is rejected and logged', async () => {
    const d = daemon();
    await d.servingNats();
    await bus.request('workflow.create', {
      definition: {
        name: 'ship',
        steps: [{ name: 'a', module: 'core', action: 'echo', parameters: { value: '{{params.order}}' } }],
      },
    });
    const created = await cli(root, [
      'trigger',
      'create',
      'pings',
      '--workflow',
      'ship',
      '--subject',
      'pings.*',
      '--param',
      'order={{event.data.id}}',
      '--param',
      'on={{event.subject}}',
      '--json',
      ...flags,
    ]);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      name: 'pings',
      kind: 'nats',
      target: 'pings.*',
      listening: true,
    });

    bus.connection.publish('pings.eu', JSON.stringify({ id: 42 }));
    const fired = await d.waitForLine(
      (l) => l.msg === 'trigger fired' && l['trigger'] === 'pings',
      'the trigger firing',
    );
    const runId = String(fired['runId']);
    const done = await bus.request('workflow.wait_for', { runId, timeoutMs: 20_000 });
    expect(done).toMatchObject({ done: true, result: { success: true, steps: { a: { result: 42 } } } });
    expect(await bus.request('workflow.get_run', { runId })).toMatchObject({
      triggerName: 'pings',
      params: { order: 42, on: 'pings.eu' },
    });

    bus.connection.publish('pings.us', 'not json');
    const rejected = await d.waitForLine((l) => l.msg === 'trigger message rejected', 'a rejection line');
    expect(rejected).toMatchObject({ trigger: 'pings', subject: 'pings.us' });
    expect(String(rejected['reason'])).toMatch(/not JSON/);

    const list = JSON.parse((await cli(root, ['trigger', 'list', '--json', ...flags])).stdout) as TriggerView[];
    expect(list.find((t) => t.name === 'pings')).toMatchObject({ fired: 1, rejected: 1 });
    expect((await cli(root, ['trigger', 'pause', 'pings', '--json', ...flags])).code).toBe(0);
    expect((await cli(root, ['trigger', 'delete', 'pings', '--json', ...flags])).code).toBe(0);
    expect((await cli(root, ['trigger', 'delete', 'pings', '--json', ...flags])).code).toBe(3);
    await stop(d);
  }, 120_000);

  it('JetStream: messages published while the daemon is down each run once after it starts, and never again', async () => {
    const first = daemon();
    await first.servingNats();
    await bus.request('trigger.create', {
      name: 'orders',
      workflow: 'ship',
      source: { nats: 'orders.created', stream: true },
      parameters: { order: '{{event.data.id}}' },
    });
    const [view] = (await bus.request('trigger.list', {})).filter((t) => t.name === 'orders');
    expect(view).toMatchObject({ kind: 'jetstream', listening: true, stream: 'ORDERS' });
    await stop(first);

    const js = jetstream(bus.connection);
    for (const id of [1, 2, 3]) await js.publish('orders.created', JSON.stringify({ id }));

    const second = daemon();
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const line = await second.waitForLine(
        (l) => l.msg === 'trigger fired' && l['trigger'] === 'orders' && !seen.has(String(l['runId'])),
        'a JetStream trigger firing',
      );
      seen.add(String(line['runId']));
    }
    for (const runId of seen)
      expect(await bus.request('workflow.wait_for', { runId, timeoutMs: 20_000 })).toMatchObject({
        done: true,
        result: { success: true },
      });
    await stop(second);

    // Restarted: the three were acknowledged, so only the new message runs.
    const third = daemon();
    await third.servingNats();
    await js.publish('orders.created', JSON.stringify({ id: 4 }));
    const fourth = await third.waitForLine(
      (l) => l.msg === 'trigger fired' && l['trigger'] === 'orders',
      'the fourth message firing',
    );
    await bus.request('workflow.wait_for', { runId: String(fourth['runId']), timeoutMs: 20_000 });
    const runs = await bus.request('workflow.list_runs', { trigger: 'orders' });
    expect(runs.map((r) => r.params['order']).sort()).toEqual([1, 2, 3, 4]);
    expect(third.lines.filter((l) => l.msg === 'trigger fired')).toHaveLength(1);
    await stop(third);
  }, 120_000);
});
