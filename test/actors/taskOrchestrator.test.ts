import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine, TaskOrchestratorClient } from '../../src/index.js';
import { CycleError, ShuttingDownError, Task, TaskPriority, ValidationError } from '../../src/index.js';
import { nextEvent, recordEvents, startOrder, testEngine } from '../helpers.js';

describe('TaskOrchestrator', () => {
  let engine: OrchestrationEngine;
  let orch: TaskOrchestratorClient;
  beforeAll(() => {
    engine = testEngine({ threads: 2 });
    orch = engine.getTaskOrchestrator();
  });
  afterAll(() => engine.shutdown());

  it('runs the seed example: a high-priority setup task, then a task that depends on it', async () => {
    const task1 = new Task({
      name: 'setup',
      module: 'core',
      action: 'echo',
      parameters: { value: 'ready' },
      priority: TaskPriority.HIGH,
    });
    const task2 = new Task({
      name: 'analyze',
      module: 'core',
      action: 'echo',
      dependencies: [task1.id],
      priority: TaskPriority.NORMAL,
    });
    await orch.addTask(task1);
    await orch.addTask(task2);
    const summary = await orch.startExecution();
    expect(summary.byStatus).toEqual({ completed: 2 });
    const [r1, r2] = summary.results;
    expect(r1?.result).toBe('ready');
    expect(r2!.startedAt!).toBeGreaterThanOrEqual(r1!.endedAt!);
    const result = await orch.executeTask(
      new Task({ name: 'analyze_code', module: 'core', action: 'echo', parameters: { path: '.' } }),
    );
    expect(result.success).toBe(true);
    expect(result.result).toEqual({ path: '.' });
    expect(result.attempts).toBe(1);
    // Who ran it: the engine's own threads.
    expect(result.worker).toBe('local');
  });

  it('publishes every transition of a task, in order', async () => {
    const rec = recordEvents(engine);
    const t = new Task({ name: 'evented', module: 'core', action: 'noop' });
    await orch.executeTask(t);
    rec.stop();
    const mine = rec.events.filter((e) => 'taskId' in e.data && e.data.taskId === t.id);
    expect(mine.map((e) => e.type)).toEqual(['task_added', 'task_queued', 'task_started', 'task_completed']);
    expect(
      mine
        .filter((e) => e.type === 'task_started' || e.type === 'task_completed')
        .map((e) => (e.data as { worker?: unknown }).worker),
    ).toEqual(['local', 'local']);
    const seqs = mine.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it('retries a failing action with growing delays, then succeeds', async () => {
    const rec = recordEvents(engine);
    const t = new Task({
      name: 'flaky',
      module: 'core',
      action: 'fail',
      parameters: { times: 3 },
      maxRetries: 3,
      retry: { initialDelay: 0.02, factor: 2, jitter: 0 },
    });
    const result = await orch.executeTask(t);
    rec.stop();
    expect(result.status).toBe('completed');
    expect(result.attempts).toBe(4);
    const retrying = rec.of('task_retrying').filter((e) => e.data.name === 'flaky');
    expect(retrying.map((e) => e.data.delayMs)).toEqual([20, 40, 80]);
    const starts = rec
      .of('task_started')
      .filter((e) => e.data.name === 'flaky')
      .map((e) => e.timestamp);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(10 * 2 ** i);
  });

  it('fails after maxRetries + 1 attempts', async () => {
    const result = await orch.executeTask({
      name: 'always',
      module: 'core',
      action: 'fail',
      maxRetries: 2,
      retry: { initialDelay: 0.001, jitter: 0 },
    });
    expect(result.status).toBe('failed');
    expect(result.attempts).toBe(3);
    expect(result.error).toMatchObject({ code: 'ACTION_FAILED', message: 'failed on purpose' });
  });

  it('fails a non-retryable error at once', async () => {
    const result = await orch.executeTask({
      module: 'core',
      action: 'fail',
      parameters: { retryable: false, message: 'bad input' },
      maxRetries: 5,
    });
    expect(result.status).toBe('failed');
    expect(result.attempts).toBe(1);
    expect(result.error).toMatchObject({ name: 'NonRetryableError', code: 'NON_RETRYABLE', message: 'bad input' });
  });

  it('kills a hung action at its timeout, and the pool keeps serving', async () => {
    const t0 = Date.now();
    const result = await orch.executeTask({
      name: 'stuck',
      module: 'core',
      action: 'hang',
      parameters: { ms: 60_000 },
      timeout: 0.3,
    });
    expect(result.status).toBe('timed_out');
    expect(result.error?.code).toBe('TASK_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(10_000);
    const after = await Promise.all(
      [1, 2, 3].map((i) => orch.executeTask({ module: 'core', action: 'echo', parameters: { value: i } })),
    );
    expect(after.map((r) => r.result)).toEqual([1, 2, 3]);
  });

  it('keeps killing hung tasks after many thread replacements (the running table frees dead threads)', async () => {
    // Each timeout terminates a thread; far more replacements than the running table has blocks.
    for (let i = 0; i < 8; i++) {
      const r = await orch.executeTask({
        module: 'core',
        action: 'hang',
        parameters: { ms: 60_000 },
        timeout: 0.05,
        maxRetries: 0,
      });
      expect(r.status).toBe('timed_out');
    }
    // A task can time out before its (new) thread has started it: then it never runs. Either way no hung action
    // keeps a thread.
    expect(engine.pool.stats().threadsTerminated).toBeGreaterThanOrEqual(1);
    await expect.poll(() => engine.pool.running(), { timeout: 10_000 }).toBe(0);
    expect((await orch.executeTask({ module: 'core', action: 'echo', parameters: { value: 'alive' } })).result).toBe(
      'alive',
    );
  });

  it('fails only the task whose worker thread crashed, retrying it on a fresh thread', async () => {
    const crashed = await orch.executeTask({
      module: 'core',
      action: 'fail',
      parameters: { crash: true },
      maxRetries: 0,
    });
    expect(crashed.status).toBe('failed');
    expect(crashed.error?.code).toBe('WORKER_CRASHED');
    const recovered = await orch.executeTask({
      module: 'core',
      action: 'fail',
      parameters: { crash: true, times: 1 },
      maxRetries: 1,
      retry: { initialDelay: 0.001 },
    });
    expect(recovered).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('reports progress and logs from a worker over the task channel', async () => {
    const rec = recordEvents(engine);
    const result = await orch.executeTask({ module: 'core', action: 'progress', parameters: { steps: 4 } });
    rec.stop();
    expect(result.result).toEqual({ steps: 4 });
    expect(rec.of('task_progress').map((e) => e.data.value)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(rec.of('task_log')[0]?.data).toMatchObject({ level: 'info', message: 'reported 4 steps' });
  });

  it('refuses bad tasks with a ValidationError naming the field, and queues nothing', async () => {
    const before = (await orch.listTasks()).length;
    const bad: [object, RegExp][] = [
      [{ module: 'nope', action: 'x' }, /unknown module "nope"/],
      [{ module: 'core', action: 'ehco' }, /did you mean "core\.echo"/],
      [{ module: 'core', action: 'sleep', parameters: { ms: -5 } }, /parameters\.ms/],
      [{ module: 'core', action: 'noop', timeout: -1 }, /task\.timeout: must be a positive number of seconds/],
      [{ module: 'core', action: 'noop', maxRetries: 1.5 }, /task\.maxRetries/],
      [{ module: 'core', action: 'noop', dependencies: ['ghost'] }, /dependencies\[0\]: unknown task id "ghost"/],
      [{ module: 'core', action: 'noop', colour: 'red' }, /unknown field\(s\) "colour"/],
    ];
    for (const [input, message] of bad) {
      const err = await orch.addTask(input as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(message);
    }
    const dup = new Task({ module: 'core', action: 'noop' });
    await orch.executeTask(dup);
    await expect(orch.addTask(dup)).rejects.toThrow(/already exists/);
    expect((await orch.listTasks()).length).toBe(before + 1);
  });

  it('refuses a dependency cycle naming it, and adds none of the batch', async () => {
    const before = (await orch.listTasks()).length;
    const err = await orch
      .addTasks([
        { id: 'cyc-a', name: 'a', module: 'core', action: 'noop', dependencies: ['cyc-b'] },
        { id: 'cyc-b', name: 'b', module: 'core', action: 'noop', dependencies: ['cyc-a'] },
        { id: 'cyc-c', name: 'c', module: 'core', action: 'noop' },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CycleError);
    expect((err as Error).message).toBe('task dependency cycle: a -> b -> a');
    expect((await orch.listTasks()).length).toBe(before);
    expect(await orch.getTask('cyc-c')).toBeNull();
  });

  it('lists tasks by status and reads one back', async () => {
    const t = new Task({ name: 'listed', module: 'core', action: 'noop' });
    await orch.executeTask(t);
    const completed = await orch.listTasks({ status: 'completed' });
    expect(completed.some((v) => v.id === t.id)).toBe(true);
    expect(completed.every((v) => v.status === 'completed')).toBe(true);
    expect(await orch.getTask(t.id)).toMatchObject({ id: t.id, status: 'completed', attempts: 1 });
  });
});

describe('TaskOrchestrator scheduling', () => {
  it('starts ready tasks by priority, FIFO within a priority', async () => {
    const engine = testEngine({ threads: 1, maxConcurrency: 1 });
    try {
      const orch = engine.getTaskOrchestrator();
      const rec = recordEvents(engine);
      const plan: [string, TaskPriority][] = [
        ['n1', 'normal'],
        ['b1', 'background'],
        ['h1', 'high'],
        ['n2', 'normal'],
        ['c1', 'critical'],
        ['l1', 'low'],
        ['h2', 'high'],
        ['n3', 'normal'],
      ];
      await orch.addTasks(plan.map(([name, priority]) => ({ name, priority, module: 'core', action: 'noop' })));
      await orch.startExecution();
      expect(startOrder(rec.events)).toEqual(['c1', 'h1', 'h2', 'n1', 'n2', 'n3', 'l1', 'b1']);
    } finally {
      await engine.shutdown();
    }
  });

  it('never runs more tasks at once than maxConcurrency', async () => {
    const engine = testEngine({ threads: 2, concurrentTasksPerWorker: 4, maxConcurrency: 3 });
    try {
      const orch = engine.getTaskOrchestrator();
      let running = 0;
      let peak = 0;
      engine.registerEventHandler('task_started', () => void (peak = Math.max(peak, ++running)));
      engine.registerEventHandler('task_completed', () => void running--);
      await orch.addTasks(
        Array.from({ length: 12 }, () => ({ module: 'core', action: 'sleep', parameters: { ms: 20 } })),
      );
      const summary = await orch.startExecution();
      expect(summary.byStatus).toEqual({ completed: 12 });
      expect(peak).toBe(3);
    } finally {
      await engine.shutdown();
    }
  });

  it('skips the dependents of a failed task, transitively, and runs independent ones', async () => {
    const engine = testEngine();
    try {
      const orch = engine.getTaskOrchestrator();
      await orch.addTasks([
        { id: 'root', module: 'core', action: 'fail', maxRetries: 0 },
        { id: 'child', module: 'core', action: 'noop', dependencies: ['root'] },
        { id: 'grandchild', module: 'core', action: 'noop', dependencies: ['child'] },
        { id: 'other', module: 'core', action: 'noop' },
      ]);
      const { results } = await orch.startExecution();
      const status = Object.fromEntries(results.map((r) => [r.taskId, r.status]));
      expect(status).toEqual({ root: 'failed', child: 'skipped', grandchild: 'skipped', other: 'completed' });
      expect(results.find((r) => r.taskId === 'grandchild')?.error).toMatchObject({
        code: 'DEPENDENCY_FAILED',
        message: expect.stringMatching(/\(child\) ended skipped/) as string,
      });
      // A task added later on a failed dependency is skipped at once.
      await orch.addTask({ id: 'late', module: 'core', action: 'noop', dependencies: ['root'] });
      expect(await orch.waitForTask('late')).toMatchObject({ status: 'skipped' });
    } finally {
      await engine.shutdown();
    }
  });

  it('cancels a queued task before it starts and a running one by terminating its thread', async () => {
    const engine = testEngine({ threads: 1, maxConcurrency: 1 });
    try {
      const orch = engine.getTaskOrchestrator();
      const rec = recordEvents(engine);
      await orch.addTasks([
        { id: 'long', module: 'core', action: 'hang', parameters: { ms: 60_000 } },
        { id: 'queued', module: 'core', action: 'noop' },
        { id: 'dependent', module: 'core', action: 'noop', dependencies: ['long'] },
      ]);
      const started = nextEvent(engine, (e) => e.type === 'task_started' && e.data.taskId === 'long');
      const done = orch.startExecution();
      await started;
      expect(await orch.cancelTask('queued')).toMatchObject({ cancelled: true, status: 'cancelled' });
      expect(await orch.cancelTask('long', 'no longer needed')).toMatchObject({ cancelled: true, status: 'cancelled' });
      const { results } = await done;
      const byId = Object.fromEntries(results.map((r) => [r.taskId, r]));
      expect(byId['long']?.error?.message).toMatch(/cancelled while running: no longer needed/);
      expect(byId['queued']?.status).toBe('cancelled');
      expect(byId['dependent']?.status).toBe('skipped');
      expect(rec.of('task_started').map((e) => e.data.taskId)).toEqual(['long']);
      expect(await orch.cancelTask('long')).toMatchObject({ cancelled: false, status: 'cancelled' });
      // The terminated thread is replaced.
      expect((await orch.executeTask({ module: 'core', action: 'echo', parameters: { value: 1 } })).result).toBe(1);
    } finally {
      await engine.shutdown();
    }
  });

  it('shutdown lets running tasks finish, cancels queued ones, and is idempotent', async () => {
    const engine = testEngine({ threads: 1, maxConcurrency: 1 });
    const orch = engine.getTaskOrchestrator();
    await orch.addTasks([
      { id: 'running', module: 'core', action: 'sleep', parameters: { ms: 150, value: 'done' } },
      { id: 'waiting', module: 'core', action: 'noop' },
    ]);
    const started = nextEvent(engine, (e) => e.type === 'task_started');
    const results = orch.startExecution();
    await started;
    const first = engine.shutdown({ graceMs: 10_000 });
    const second = engine.shutdown();
    expect(second).toBe(first);
    expect(engine.state).toBe('draining');
    await first;
    const byId = Object.fromEntries((await results).results.map((r) => [r.taskId, r]));
    expect(byId['running']).toMatchObject({ status: 'completed', result: 'done' });
    expect(byId['waiting']).toMatchObject({
      status: 'cancelled',
      error: { message: expect.stringMatching(/shut down/) as string },
    });
    expect(engine.state).toBe('stopped');
    expect(engine.pool.destroyed).toBe(true);
    await expect(orch.addTask({ module: 'core', action: 'noop' })).rejects.toThrow(/closed/);
  });

  it('shutdown cancels a running task that outlives the grace period', async () => {
    const engine = testEngine({ threads: 1 });
    const orch = engine.getTaskOrchestrator();
    const started = nextEvent(engine, (e) => e.type === 'task_started');
    const result = orch.executeTask({ module: 'core', action: 'hang', parameters: { ms: 60_000 } });
    await started;
    await engine.shutdown({ graceMs: 50 });
    expect(await result).toMatchObject({ status: 'cancelled' });
  });

  it('refuses new tasks while draining', async () => {
    const engine = testEngine({ threads: 1 });
    const orch = engine.getTaskOrchestrator();
    await engine.ready();
    const started = nextEvent(engine, (e) => e.type === 'task_started');
    const running = orch.executeTask({ module: 'core', action: 'sleep', parameters: { ms: 100 } });
    await started;
    const stopping = engine.shutdown();
    await expect(orch.addTask({ module: 'core', action: 'noop' })).rejects.toBeInstanceOf(ShuttingDownError);
    await stopping;
    expect((await running).status).toBe('completed');
  });
});
