/**
 * The remote path in batches, on a real nats-server with a daemon and a worker process: what the scheduler starts in
 * one turn leaves in one JetStream message (several attempts each), the worker runs short ones several per thread
 * message and answers their results together, and still every task runs exactly once and completes, and a task
 * cancelled in a batch ends cancelled without taking its batch-mates with it.
 */
import { describe, expect, it } from 'vitest';
import type { Scene } from '../support/remote.js';
import { joined, serving, useRemoteScene } from '../support/remote.js';

const remote = useRemoteScene();
let s: Scene;

/** A counter's value in a Prometheus exposition. */
function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in the exposition`);
  return Number(line.slice(name.length + 1));
}

describe('remote attempts in batches', { timeout: 120_000 }, () => {
  it('sends the attempts of one turn in one message; every task runs once and completes; fewer messages than attempts', async () => {
    s = await remote.scene();
    const d = s.daemon();
    await serving(d);
    s.worker('wide', ['--concurrency', '16']);
    await joined(d, 'wide');
    const bus = await s.bus();
    const { ids: recorded } = await bus.request('task.add', {
      tasks: Array.from({ length: 100 }, (_, i) => ({
        module: 'probe',
        action: 'record',
        parameters: { log: s.log, value: i },
      })),
    });
    const { ids: noops } = await bus.request('task.add', {
      tasks: Array.from({ length: 400 }, () => ({ module: 'core', action: 'noop' })),
    });
    await bus.request('task.start_execution', {});
    const results = await Promise.all([...recorded, ...noops].map((taskId) => bus.request('task.wait', { taskId })));
    expect(results.filter((r) => r.status !== 'completed')).toEqual([]);
    expect(results.slice(0, 100).map((r) => r.result)).toEqual(recorded.map((_, i) => i));
    expect(new Set(results.map((r) => r.worker))).toEqual(new Set(['wide']));
    // Each recorded task ran exactly once.
    expect((await s.probeLines()).map((l) => l.taskId).sort()).toEqual([...recorded].sort());
    const text = await (await fetch(`${await d.http()}/metrics`)).text();
    const dispatched = metric(text, 'codomyrmex_worker_dispatched_total');
    const messages = metric(text, 'codomyrmex_worker_messages_total');
    expect(dispatched).toBe(500);
    expect(messages).toBeLessThan(dispatched / 2);
  });

  it('a task cancelled while its batch waits on the worker ends cancelled; its batch-mates complete', async () => {
    s = await remote.scene();
    const d = s.daemon();
    await serving(d);
    const w = s.worker('one', ['--concurrency', '8']);
    await joined(d, 'one');
    const bus = await s.bus();
    // Eight attempts in one message (channel actions each run alone on the worker's pool); the sixth runs long.
    const { ids } = await bus.request('task.add', {
      tasks: Array.from({ length: 8 }, (_, i) => ({
        module: 'probe',
        action: 'record',
        parameters: { log: s.log, ms: i === 5 ? 30_000 : 300, value: i },
      })),
    });
    // Answers once every task has ended.
    const all = bus.request('task.start_execution', {});
    const victim = ids[5] as string;
    await w.waitForLine((l) => l.msg === 'task started' && l['taskId'] === victim, 'the long one to start');
    expect(await bus.request('task.cancel', { taskId: victim })).toMatchObject({ cancelled: true });
    const results = await Promise.all(ids.map((taskId) => bus.request('task.wait', { taskId })));
    expect(results.find((r) => r.taskId === victim)?.status).toBe('cancelled');
    expect(results.filter((r) => r.taskId !== victim).map((r) => r.status)).toEqual(
      ids.slice(0, 7).map(() => 'completed'),
    );
    expect((await all).byStatus).toEqual({ completed: 7, cancelled: 1 });
    // One message carried them all.
    const text = await (await fetch(`${await d.http()}/metrics`)).text();
    expect(metric(text, 'codomyrmex_worker_messages_total')).toBe(1);
  });
});
