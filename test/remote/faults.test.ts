/**
 * Remote workers through faults, all real processes: the daemon SIGKILLed while a worker runs its task (the
 * worker's result is applied once when the daemon is back, the task never dispatched again), and nats-server
 * restarted on its JetStream store in the middle of a run (every task ends completed; each ran at least once).
 *
 * The first test checks the protocol fact that replaced the restarted daemon's 400 ms hello grace: the
 * holder's heartbeat names the result it holds, and the task is not dispatched again (another live worker never
 * runs it; it ran once). On main it fails on that fact (no `holding` in the heartbeat), not on a second run: main's
 * grace hid the race whenever the holder answered the hello within 400 ms, and whether a second worker's heartbeat
 * and the scheduler's dispatch beat the holder's answer depends on how one socket read splits messages, which a test
 * cannot force. So the second worker joins once the holder has (the race itself is not staged).
 */
import { describe, expect, it } from 'vitest';
import type { Scene } from '../support/remote.js';
import { joined, ranOn, serving, startedOn, until, useRemoteScene } from '../support/remote.js';

const remote = useRemoteScene();
let s: Scene;

describe('remote workers through faults', { timeout: 90_000 }, () => {
  it('the daemon SIGKILLed while a worker runs its task: the next one hears the held result named in the heartbeat, waits for it, and the task ran once', async () => {
    s = await remote.scene();
    const first = s.daemon();
    await serving(first);
    const holder = s.worker('holder');
    await joined(first, 'holder');
    const bus = await s.bus();
    const { taskId } = await bus.request('task.submit', {
      task: { module: 'probe', action: 'record', parameters: { log: s.log, ms: 1500, value: 'finished' } },
    });
    await startedOn(holder, taskId);
    first.proc.kill('SIGKILL');
    await first.exited;
    // The worker finishes while no daemon is there, and keeps its result (and its message) until one answers.
    await holder.waitForLine(
      (l) => l.msg === 'the daemon did not answer a result; sending it again' && l['taskId'] === taskId,
      'the retry line',
    );
    const second = s.daemon();
    await serving(second);
    // The holder's first heartbeat to this daemon names the result it holds.
    expect((await joined(second, 'holder'))['holding']).toBe(1);
    const other = s.worker('other');
    await joined(second, 'other');
    expect(await bus.request('task.wait', { taskId })).toMatchObject({ status: 'completed', result: 'finished' });
    // It ran once: the restarted daemon took the earlier run's result instead of running it again, on either worker.
    expect((await s.probeLines()).filter((l) => l.taskId === taskId)).toHaveLength(1);
    expect(ranOn(other, taskId)).toBe(false);
    expect(holder.lines.filter((l) => l.msg === 'task started' && l['taskId'] === taskId)).toHaveLength(1);
  });

  it('nats-server restarted on its JetStream store mid-run: every task completes, each ran at least once', async () => {
    s = await remote.scene();
    const d = s.daemon();
    await serving(d);
    s.worker('a');
    s.worker('b');
    await Promise.all([joined(d, 'a'), joined(d, 'b')]);
    const bus = await s.bus();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push(
        (
          await bus.request('task.submit', {
            task: { module: 'probe', action: 'record', parameters: { log: s.log, ms: 400, value: i } },
          })
        ).taskId,
      );
    await until(async () => (await s.probeLines()).length >= 2, 'two tasks to start');
    await remote.server().stop();
    await remote.server().start();
    const results = await Promise.all(ids.map((taskId) => bus.request('task.wait', { taskId })));
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 'completed'));
    expect(results.map((r) => r.result)).toEqual(ids.map((_, i) => i));
    const ran = new Set((await s.probeLines()).map((l) => l.taskId));
    for (const id of ids) expect(ran.has(id)).toBe(true);
  });
});
