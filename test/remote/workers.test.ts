/**
 * Remote workers on a real nats-server (JetStream): the daemon and every `codomyrmex worker` are real child
 * processes. Tasks wait (and say why) while no worker can take them; two workers share a stream; tags and modules
 * route; a worker SIGKILLed mid-task leaves its task to the other; cancellation reaches a remote task; a result
 * for a task the daemon does not know is refused.
 */
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { encode, remoteSubjects } from '../../src/workers/jetstream/protocol.js';
import { decodeAs } from '../../src/workers/jetstream/schemas.js';
import type { WorkerView } from '../../src/workers/jetstream/protocol.js';
import { cli } from '../support/daemon.js';
import type { Scene } from '../support/remote.js';
import { joined, ranOn, serving, startedOn, until, useRemoteScene, workerReady } from '../support/remote.js';

const remote = useRemoteScene();
let s: Scene;

const probe = (ms: number, extra: Record<string, unknown> = {}) => ({
  module: 'probe',
  action: 'record',
  parameters: { log: s.log, ms },
  ...extra,
});

describe('remote workers', { timeout: 60_000 }, () => {
  it('--no-local-workers with no worker: tasks wait and explainTask says why; not ready; a worker that joins runs them', async () => {
    s = await remote.scene();
    const d = s.daemon();
    await serving(d);
    const bus = await s.bus();
    const { taskId } = await bus.request('task.submit', {
      task: { module: 'core', action: 'echo', parameters: { value: 7 } },
    });
    const why = await bus.request('task.explain', { taskId });
    expect(why.status).toBe('ready');
    expect(why.waitingOn).toMatchObject({ kind: 'worker' });
    expect(why.summary).toContain('no remote worker is connected');
    const ready = await fetch(`${await d.http()}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain('no remote worker is connected');

    const w = s.worker('solo');
    await joined(d, 'solo');
    const result = await bus.request('task.wait', { taskId });
    expect(result).toMatchObject({ status: 'completed', result: 7 });
    expect(ranOn(w, taskId)).toBe(true);
    expect((await fetch(`${await d.http()}/readyz`)).status).toBe(200);

    const listed = await cli(s.root, ['--nats', s.url, '--subject-prefix', s.prefix, '--json', 'workers', 'list']);
    expect(listed.code).toBe(0);
    const { workers } = JSON.parse(listed.stdout) as { workers: WorkerView[] };
    expect(workers).toHaveLength(1);
    expect(workers[0]).toMatchObject({ name: 'solo', state: 'live', threads: 1, inFlight: 0 });
    expect(workers[0]?.modules).toContain('probe');
    const metrics = await (await fetch(`${await d.http()}/metrics`)).text();
    expect(metrics).toContain('codomyrmex_workers{state="live"} 1');
    expect(metrics).toContain('codomyrmex_worker_in_flight{worker="solo"} 0');
    const status = (await bus.request('engine.status', {})) as { workers?: { local: boolean; workers: WorkerView[] } };
    expect(status.workers).toMatchObject({ local: false, workers: [{ name: 'solo', state: 'live' }] });
  });

  it('two workers share one stream: every task runs once, both take some, and each result, event and count names its worker', async () => {
    s = await remote.scene();
    const d = s.daemon();
    await serving(d);
    const a = s.worker('a');
    const b = s.worker('b');
    await Promise.all([joined(d, 'a'), joined(d, 'b')]);
    const bus = await s.bus();
    const startedBy = new Map<string, string>();
    const completedBy = new Map<string, string>();
    const subs = [
      bus.events$('task_started').subscribe((e) => {
        const data = e.data;
        startedBy.set(data.taskId, data.worker);
      }),
      bus.events$('task_completed').subscribe((e) => {
        const data = e.data;
        completedBy.set(data.taskId, data.worker);
      }),
    ];
    await bus.ready();
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await bus.request('task.submit', { task: probe(150) })).taskId);
    const results = await Promise.all(ids.map((taskId) => bus.request('task.wait', { taskId })));
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 'completed'));
    const lines = await s.probeLines();
    expect(lines.map((l) => l.taskId).sort()).toEqual([...ids].sort());
    expect(ids.some((id) => ranOn(a, id))).toBe(true);
    expect(ids.some((id) => ranOn(b, id))).toBe(true);
    // Who ran what: the result, the start and end events name the worker whose log shows the task.
    for (const r of results) {
      const ranBy = ranOn(a, r.taskId) ? 'a' : 'b';
      expect(r.worker).toBe(ranBy);
      expect(completedBy.get(r.taskId)).toBe(ranBy);
      // task_started names the worker the attempt was sent to: under load, the other worker of the group may take
      // the message first (the end event and the result then name the one that ran it).
      expect(['a', 'b']).toContain(startedBy.get(r.taskId));
    }
    for (const sub of subs) sub.unsubscribe();
    const perWorker = {
      a: results.filter((r) => r.worker === 'a').length,
      b: results.filter((r) => r.worker === 'b').length,
    };
    const listed = await cli(s.root, ['--nats', s.url, '--subject-prefix', s.prefix, '--json', 'workers', 'list']);
    const { workers } = JSON.parse(listed.stdout) as { workers: WorkerView[] };
    for (const name of ['a', 'b'] as const)
      expect(workers.find((w) => w.name === name)).toMatchObject({ tasksCompleted: perWorker[name], tasksFailed: 0 });
    const metrics = await (await fetch(`${await d.http()}/metrics`)).text();
    expect(metrics).toContain(`codomyrmex_worker_tasks_total{worker="a",outcome="completed"} ${perWorker.a}`);
    expect(metrics).toContain(`codomyrmex_worker_tasks_total{worker="b",outcome="completed"} ${perWorker.b}`);
    // One thread each: a worker never had two of them running at once.
    for (const w of [a, b]) {
      let running = 0;
      for (const l of w.lines) {
        if (l.msg === 'task started') running++;
        if (l.msg === 'task ended') running--;
        expect(running).toBeLessThanOrEqual(1);
      }
    }
  });

  it('routes by tag and by module; a task no worker can serve waits and says so', async () => {
    s = await remote.scene();
    const d = s.daemon();
    await serving(d);
    const gpu = s.worker('gpu', ['--tags', 'gpu,big-mem']);
    // No --module-dir: this one has only the built-in modules, so never the probe module.
    const bare = s.worker('bare', [], 2, false);
    {
      await Promise.all([joined(d, 'gpu'), joined(d, 'bare')]);
      const bus = await s.bus();
      const tagged = (
        await bus.request('task.submit', {
          task: { module: 'core', action: 'echo', parameters: { value: 'g' }, placement: { tags: ['gpu'] } },
        })
      ).taskId;
      const probes: string[] = [];
      for (let i = 0; i < 3; i++) probes.push((await bus.request('task.submit', { task: probe(0) })).taskId);
      const tpu = (
        await bus.request('task.submit', {
          task: { module: 'core', action: 'echo', parameters: {}, placement: { tags: ['tpu'] } },
        })
      ).taskId;
      for (const id of [tagged, ...probes])
        expect((await bus.request('task.wait', { taskId: id })).status).toBe('completed');
      for (const id of [tagged, ...probes]) {
        expect(ranOn(gpu, id)).toBe(true);
        expect(ranOn(bare, id)).toBe(false);
      }
      const why = await bus.request('task.explain', { taskId: tpu });
      expect(why.waitingOn).toMatchObject({ kind: 'worker' });
      expect(why.summary).toContain('has the tags tpu');
      expect(why.summary).toContain('gpu: big-mem,gpu');
      await bus.request('task.cancel', { taskId: tpu });
      // Untagged built-in work goes to either: the bare worker (two free threads) takes some.
      const plain = (
        await bus.request('task.submit', { task: { module: 'core', action: 'echo', parameters: { value: 1 } } })
      ).taskId;
      expect((await bus.request('task.wait', { taskId: plain })).status).toBe('completed');
      expect(ranOn(bare, plain)).toBe(true);
      // A bad tag is refused at submission, naming the field.
      await expect(
        bus.request('task.submit', { task: { module: 'core', action: 'echo', placement: { tags: ['no spaces'] } } }),
      ).rejects.toThrow(/placement\.tags/);
    }
  });

  it('a worker SIGKILLed mid-task leaves the task to the other worker, with the attempt counted', async () => {
    s = await remote.scene();
    const d = s.daemon();
    await serving(d);
    const a = s.worker('a');
    const b = s.worker('b');
    await Promise.all([joined(d, 'a'), joined(d, 'b')]);
    const bus = await s.bus();
    // The first attempt sleeps a minute; a later one returns at once.
    const { taskId } = await bus.request('task.submit', {
      task: probe(60_000, { idempotencyKey: 'once', parameters: { log: s.log, ms: 60_000, value: 'done' } }),
    });
    const first = await Promise.race([startedOn(a, taskId).then(() => a), startedOn(b, taskId).then(() => b)]);
    const other = first === a ? b : a;
    await until(async () => (await s.probeLines()).length === 1, 'the first attempt to start');
    first.proc.kill('SIGKILL');
    const result = await bus.request('task.wait', { taskId });
    expect(result).toMatchObject({ status: 'completed', result: 'done', attempts: 2 });
    expect(ranOn(other, taskId)).toBe(true);
    const lines = await s.probeLines();
    expect(lines.map((l) => [l.attempt, l.idempotencyKey])).toEqual([
      [1, 'once'],
      [2, 'once'],
    ]);
    await d.waitForLine(
      (l) => l.msg === 'worker lost (no heartbeat); its attempts run again elsewhere',
      'the lost line',
    );
  });

  it('a worker SIGKILLed while the daemon still trusts it: JetStream redelivers the task to the other worker after the ack wait', async () => {
    s = await remote.scene();
    // The daemon would call the worker lost only after 30 s: the ack wait (1 s) comes first.
    const d = s.daemon(['--no-local-workers', '--worker-lost-after', '30s']);
    await serving(d);
    const a = s.worker('a', ['--ack-wait', '1s']);
    const b = s.worker('b', ['--ack-wait', '1s']);
    await Promise.all([joined(d, 'a'), joined(d, 'b')]);
    const bus = await s.bus();
    const { taskId } = await bus.request('task.submit', {
      task: probe(60_000, { parameters: { log: s.log, ms: 60_000, value: 'again' } }),
    });
    const first = await Promise.race([startedOn(a, taskId).then(() => a), startedOn(b, taskId).then(() => b)]);
    const other = first === a ? b : a;
    await until(async () => (await s.probeLines()).length === 1, 'the first delivery to start');
    first.proc.kill('SIGKILL');
    expect(await bus.request('task.wait', { taskId })).toMatchObject({ status: 'completed', result: 'again' });
    const again = await other.waitForLine((l) => l.msg === 'task started' && l['taskId'] === taskId, 'the redelivery');
    expect(again).toMatchObject({ deliveries: 2, attempt: 2 });
    // The action saw the redelivery as its second attempt.
    expect((await s.probeLines()).map((l) => l.attempt)).toEqual([1, 2]);
    await d.waitForLine(
      (l) => l.msg === 'task redelivered to another worker' && l['taskId'] === taskId,
      'the redelivery line',
    );
    expect(await (await fetch(`${await d.http()}/metrics`)).text()).toContain('codomyrmex_worker_redeliveries_total 1');
  });

  it('cancelling a remote task stops it on its worker', async () => {
    s = await remote.scene();
    const d = s.daemon();
    await serving(d);
    const w = s.worker('w');
    await joined(d, 'w');
    const bus = await s.bus();
    const { taskId } = await bus.request('task.submit', { task: probe(60_000) });
    await startedOn(w, taskId);
    await until(async () => (await s.probeLines()).length === 1, 'the attempt to start');
    await bus.request('task.cancel', { taskId, reason: 'enough' });
    expect(await bus.request('task.wait', { taskId })).toMatchObject({ status: 'cancelled' });
    await w.waitForLine(
      (l) => l.msg === 'task aborted by the daemon' && String(l['dispatch']).includes(taskId),
      'the abort line',
    );
    await w.waitForLine((l) => l.msg === 'task ended' && l['taskId'] === taskId, 'the end of the task on the worker');
    // The thread is free again: the next task runs on it.
    const next = await bus.request('task.submit', {
      task: { module: 'core', action: 'echo', parameters: { value: 1 } },
    });
    expect(await bus.request('task.wait', { taskId: next.taskId })).toMatchObject({ status: 'completed' });
  });

  it('a result for a task the daemon does not know is refused and logged', async () => {
    s = await remote.scene();
    const d = s.daemon();
    await serving(d);
    const nc = await connect({ servers: s.url });
    try {
      const reply = await nc.request(
        remoteSubjects(s.prefix).result,
        encode({ dispatch: 'someone:nope:1', worker: 'x', taskId: 'nope', outcome: { type: 'ok', output: 1 } }),
        { timeout: 5000 },
      );
      expect(decodeAs('ack', reply.data)).toEqual({ accepted: false, reason: 'unknown' });
    } finally {
      await nc.close();
    }
    await d.waitForLine(
      (l) => l.msg === 'result for a task the daemon does not know: refused' && l['taskId'] === 'nope',
      'the refusal line',
    );
    await until(
      async () =>
        (await (await fetch(`${await d.http()}/metrics`)).text()).includes('codomyrmex_worker_unknown_results_total 1'),
      'the counter',
    );
  });

  it('a worker that cannot be reached: the daemon decides by its own timeout, and the late result is discarded and counted', async () => {
    s = await remote.scene();
    const d = s.daemon(['--no-local-workers', '--worker-lost-after', '20s']);
    await serving(d);
    const w = s.worker('frozen');
    await joined(d, 'frozen');
    await workerReady(w);
    const bus = await s.bus();
    const { taskId } = await bus.request('task.submit', { task: probe(3000, { timeout: 1, maxRetries: 0 }) });
    await startedOn(w, taskId);
    await until(async () => (await s.probeLines()).length === 1, 'the attempt to start');
    w.proc.kill('SIGSTOP');
    try {
      expect(await bus.request('task.wait', { taskId })).toMatchObject({ status: 'timed_out' });
    } finally {
      w.proc.kill('SIGCONT');
    }
    await d.waitForLine(
      (l) => /late result discarded|result after the daemon stopped/.test(l.msg) && l['taskId'] === taskId,
      'the late-result line',
    );
    await until(
      async () =>
        /codomyrmex_worker_late_results_total [1-9]/.test(await (await fetch(`${await d.http()}/metrics`)).text()),
      'the late counter',
    );
  });
});
