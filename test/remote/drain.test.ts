/**
 * Graceful stops with remote workers, all real processes: a daemon drained (SIGTERM) while a worker runs a step
 * leaves the attempt to its worker and the run to resume, without calling it failed, and the next daemon applies the
 * result once; a worker given SIGTERM while no daemon is there finishes its attempt, keeps the unanswered result in
 * the stream for the next daemon and exits at once instead of sitting out its grace.
 */
import { describe, expect, it } from 'vitest';
import type { Scene } from '../support/remote.js';
import { joined, serving, startedOn, useRemoteScene } from '../support/remote.js';

const remote = useRemoteScene();
let s: Scene;

describe('draining with remote workers', { timeout: 90_000 }, () => {
  it('a daemon drained while a worker runs a step leaves the attempt running there and the run resuming; the next daemon applies that result once', async () => {
    s = await remote.scene();
    const first = s.daemon(['--no-local-workers', '--grace', '200ms']);
    await serving(first);
    const w = s.worker('steady');
    await joined(first, 'steady');
    const bus = await s.bus();
    const definition = {
      name: 'long-step',
      steps: [
        { name: 'slow', module: 'probe', action: 'record', parameters: { log: s.log, ms: 2500, value: 'slow done' } },
      ],
    };
    const { runId } = await bus.request('workflow.start_complex', { definition });
    await startedOn(w, `${runId}.slow`);
    first.proc.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // Not called failed (nor cancelled): the run stays running in the store, to resume.
    const ended = first.lines.filter(
      (l) => l.msg === 'workflow ended without success' || l.msg === 'workflow completed',
    );
    expect(ended).toEqual([]);
    // The worker was not told to kill it: it finishes, and keeps sending its result until a daemon answers.
    await w.waitForLine(
      (l) => l.msg === 'task ended' && l['taskId'] === `${runId}.slow` && l['outcome'] === 'ok',
      'the step to end on the worker',
    );
    expect(w.lines.some((l) => l.msg === 'task killed by the daemon')).toBe(false);

    const second = s.daemon();
    await serving(second);
    const r = await bus.request('workflow.wait_run', { runId });
    expect(r).toMatchObject({ status: 'succeeded', steps: { slow: { result: 'slow done', worker: 'steady' } } });
    expect((await s.probeLines()).filter((l) => l.taskId === `${runId}.slow`)).toHaveLength(1);
  });

  it('a worker given SIGTERM while the daemon is down finishes its attempt, keeps the result for the next daemon, and exits without sitting out its grace', async () => {
    s = await remote.scene();
    const first = s.daemon();
    await serving(first);
    // A grace longer than the test's timeout: a worker that sat it out would fail the test.
    const w = s.worker('leaving', ['--grace', '600s']);
    await joined(first, 'leaving');
    const bus = await s.bus();
    const { taskId } = await bus.request('task.submit', {
      task: { module: 'probe', action: 'record', parameters: { log: s.log, ms: 1500, value: 'kept' } },
    });
    await startedOn(w, taskId);
    first.proc.kill('SIGKILL');
    await first.exited;
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.lines.some((l) => l.msg === 'result kept for the next daemon' && l['taskId'] === taskId)).toBe(true);

    const second = s.daemon();
    await serving(second);
    s.worker('back');
    await joined(second, 'back');
    // The kept result completes the task when it is dispatched again, instead of running it again.
    expect(await bus.request('task.wait', { taskId })).toMatchObject({
      status: 'completed',
      result: 'kept',
      worker: 'leaving',
    });
    expect((await s.probeLines()).filter((l) => l.taskId === taskId)).toHaveLength(1);
  });
});
