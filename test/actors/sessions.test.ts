import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OrchestrationEngine, TaskInput, TaskResult } from '../../src/index.js';
import { Resource, ResourceType, ResourceUnavailableError, ValidationError } from '../../src/index.js';
import { nextEvent, recordEvents, startOrder, testEngine } from '../helpers.js';

/** True when any two results' run intervals overlap. */
function anyOverlap(results: Pick<TaskResult, 'startedAt' | 'endedAt'>[]): boolean {
  const sorted = [...results].sort((a, b) => a.startedAt! - b.startedAt!);
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.startedAt! < sorted[i - 1]!.endedAt!) return true;
  return false;
}

describe('resources and sessions', () => {
  let engine: OrchestrationEngine;
  beforeEach(async () => {
    engine = testEngine({ threads: 2, concurrentTasksPerWorker: 4 });
    await engine.resources.addResource(
      new Resource({
        id: 'gpu',
        name: 'GPU',
        type: ResourceType.GPU,
        capacity: { units: 1 },
        limits: { maxConcurrentUsers: 1 },
      }),
    );
  });
  afterEach(() => engine.shutdown());

  const gpuHeld = async (): Promise<number> =>
    (await engine.resources.getUsage()).find((u) => u.id === 'gpu')!.allocated;

  it("runs the seed's ResourceManager example on the host's CPU and memory", async () => {
    const rm = engine.getResourceManager();
    const usage = await rm.getUsage();
    expect(usage.map((u) => u.id)).toEqual(['cpu', 'memory', 'gpu']);
    const cpu = usage[0]!;
    const allocated = await rm.allocateResources('user123', { cpu: { cores: 1 }, memory: { gb: 1 } });
    expect(allocated).toMatchObject({ holderId: 'user123', amounts: { cpu: 1, memory: 1024 } });
    expect((await rm.getAllocations('user123')).length).toBe(1);
    expect((await rm.getUsage())[0]!.allocated).toBe(1);
    expect(await rm.deallocateResources('user123')).toMatchObject({ released: 1 });
    expect(await rm.deallocateResources('user123')).toMatchObject({
      released: 0,
      message: '"user123" holds nothing; nothing to release',
    });
    await expect(rm.allocateResources('x', { cpu: { cores: cpu.capacity + 1 } })).rejects.toBeInstanceOf(
      ResourceUnavailableError,
    );
    await expect(rm.removeResource('gpu')).resolves.toBe(true);
  });

  it('admits tasks that declare resources only when their holds can be taken, and releases them after', async () => {
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        engine.tasks.executeTask({
          module: 'core',
          action: 'sleep',
          parameters: { ms: 60 },
          resources: { gpu: { units: 1 } },
        }),
      ),
    );
    expect(results.every((r) => r.status === 'completed')).toBe(true);
    expect(anyOverlap(results)).toBe(false);
    expect(await gpuHeld()).toBe(0);
  });

  it('fails at once a task whose requirement can never fit, and refuses an unknown resource', async () => {
    const r = await engine.tasks.executeTask({ module: 'core', action: 'noop', resources: { gpu: { units: 2 } } });
    expect(r).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'RESOURCE_UNAVAILABLE' } });
    expect(r.error?.message).toMatch(/2 units requested, but "gpu" has 1 units in all/);
    await expect(
      engine.tasks.addTask({ module: 'core', action: 'noop', resources: { tpu: { units: 1 } } }),
    ).rejects.toThrow(/task "core.noop".resources.tpu: unknown resource/);
  });

  it('releases holds whatever way the task ends: failure, timeout, cancel, worker crash', async () => {
    const rec = recordEvents(engine);
    const res = { gpu: { units: 1 } };
    const ends = await Promise.all([
      engine.tasks.executeTask({ module: 'core', action: 'fail', maxRetries: 0, resources: res }),
      engine.tasks.executeTask({
        module: 'core',
        action: 'hang',
        parameters: { ms: 60_000 },
        timeout: 0.2,
        resources: res,
      }),
      engine.tasks.executeTask({
        module: 'core',
        action: 'fail',
        parameters: { crash: true },
        maxRetries: 0,
        resources: res,
      }),
    ]);
    expect(ends.map((r) => r.status).sort()).toEqual(['failed', 'failed', 'timed_out']);
    const started = nextEvent(engine, (e) => e.type === 'task_started' && e.data.taskId === 'to-cancel');
    const cancelled = engine.tasks.executeTask({
      id: 'to-cancel',
      module: 'core',
      action: 'sleep',
      parameters: { ms: 60_000 },
      resources: res,
    });
    await started;
    await engine.tasks.cancelTask('to-cancel');
    expect((await cancelled).status).toBe('cancelled');
    // A hold is released when its thread has really stopped (terminated), which can take a moment under load.
    await expect.poll(gpuHeld, { timeout: 10_000 }).toBe(0);
    rec.stop();
    const allocated = rec.of('resource_allocated').map((e) => e.data.allocationId);
    const released = rec.of('resource_released').map((e) => e.data.allocationId);
    expect(allocated).toHaveLength(4);
    expect(released.sort()).toEqual(allocated.sort());
  });

  it('sequential sessions never overlap two tasks and run them in the order added', async () => {
    const sessionId = await engine.createSession({ userId: 'u', mode: 'sequential', maxParallelTasks: 4 });
    const rec = recordEvents(engine);
    await engine.tasks.addTasks(
      ['a', 'b', 'c', 'd'].map((name, i) => ({
        name,
        module: 'core',
        action: 'sleep',
        parameters: { ms: 20 },
        priority: i === 3 ? 'critical' : 'low',
        sessionId,
      })),
    );
    const { results } = await engine.tasks.startExecution();
    expect(anyOverlap(results)).toBe(false);
    expect(startOrder(rec.events)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('parallel sessions ignore priority (FIFO); priority sessions order by it', async () => {
    const plan = [
      ['low1', 'low'],
      ['crit', 'critical'],
      ['norm', 'normal'],
      ['high', 'high'],
    ] as const;
    const orderIn = async (mode: 'parallel' | 'priority'): Promise<string[]> => {
      const sessionId = await engine.createSession({ userId: mode, mode, maxParallelTasks: 1 });
      const rec = recordEvents(engine);
      await engine.tasks.addTasks(
        plan.map(([name, priority]) => ({
          name: `${mode}-${name}`,
          priority,
          module: 'core',
          action: 'noop',
          sessionId,
        })),
      );
      await engine.tasks.startExecution();
      rec.stop();
      return startOrder(rec.events).map((n) => n.slice(mode.length + 1));
    };
    expect(await orderIn('parallel')).toEqual(['low1', 'crit', 'norm', 'high']);
    expect(await orderIn('priority')).toEqual(['crit', 'high', 'norm', 'low1']);
  });

  it('parallel sessions run up to maxParallelTasks at once', async () => {
    const sessionId = await engine.createSession({ userId: 'u', mode: 'parallel', maxParallelTasks: 2 });
    let running = 0;
    let peak = 0;
    engine.registerEventHandler('task_started', () => void (peak = Math.max(peak, ++running)));
    engine.registerEventHandler('task_completed', () => void running--);
    await engine.tasks.addTasks(
      Array.from({ length: 6 }, () => ({ module: 'core', action: 'sleep', parameters: { ms: 30 }, sessionId })),
    );
    await engine.tasks.startExecution();
    expect(peak).toBe(2);
  });

  it('resource_aware sessions park a task while its resource is held, and explain who holds it', async () => {
    await engine.resources.allocateResources('alice', { gpu: { units: 1 } });
    const sessionId = await engine.createSession({ userId: 'u' });
    const done = engine.tasks.executeTask({
      id: 'needs-gpu',
      module: 'core',
      action: 'echo',
      parameters: { value: 'ran' },
      resources: { gpu: { units: 1 } },
      sessionId,
    });
    await expect.poll(async () => (await engine.explainTask('needs-gpu')).waitingOn?.kind).toBe('resources');
    const why = await engine.explainTask('needs-gpu');
    expect(why.summary).toMatch(/waits for resources: "gpu" allows 1 holder\(s\) at once, held by alice/);
    await engine.resources.deallocateResources('alice');
    expect((await done).result).toBe('ran');
  });

  it('explains dependencies, session limits and backoff', async () => {
    const sessionId = await engine.createSession({ userId: 'u', mode: 'priority', maxParallelTasks: 1 });
    await engine.tasks.addTasks([
      { id: 'first', name: 'first', module: 'core', action: 'sleep', parameters: { ms: 300 }, sessionId },
      { id: 'second', name: 'second', module: 'core', action: 'noop', sessionId },
      { id: 'after', name: 'after', module: 'core', action: 'noop', dependencies: ['first'], sessionId },
    ]);
    expect((await engine.explainTask('second')).waitingOn).toEqual({ kind: 'paused' });
    const started = nextEvent(engine, (e) => e.type === 'task_started' && e.data.taskId === 'first');
    const all = engine.tasks.startExecution();
    await started;
    expect(await engine.explainTask('second')).toMatchObject({
      waitingOn: { kind: 'session_limit', sessionId, running: 1, limit: 1 },
    });
    expect((await engine.explainTask('after')).summary).toBe(
      'task "after" waits for 1 dependency to complete: "first" (running)',
    );
    await all;
    const retrying = nextEvent(engine, (e) => e.type === 'task_retrying');
    const flaky = engine.tasks.executeTask({
      id: 'flaky',
      module: 'core',
      action: 'fail',
      parameters: { times: 1 },
      maxRetries: 1,
      retry: { initialDelay: 0.3, jitter: 0 },
    });
    await retrying;
    expect(await engine.explainTask('flaky')).toMatchObject({
      status: 'retrying',
      waitingOn: { kind: 'backoff', attempt: 2 },
    });
    expect((await flaky).status).toBe('completed');
  });

  it('holds a session’s resources for its life; closing cancels what runs in it and releases them', async () => {
    const rec = recordEvents(engine);
    const sessionId = await engine.createSession({
      userId: 'bob',
      mode: 'resource_aware',
      resourceRequirements: { gpu: { units: 1 } },
    });
    expect(await gpuHeld()).toBe(1);
    await expect(
      engine.createSession({ userId: 'carol', resourceRequirements: { gpu: { units: 1 } } }),
    ).rejects.toBeInstanceOf(ResourceUnavailableError);
    const started = nextEvent(engine, (e) => e.type === 'task_started');
    const running = engine.tasks.executeTask({
      module: 'core',
      action: 'sleep',
      parameters: { ms: 60_000 },
      sessionId,
    });
    await started;
    const closed = await engine.closeSession(sessionId, 'done for today');
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'done for today' });
    expect((await running).status).toBe('cancelled');
    expect(await gpuHeld()).toBe(0);
    await expect(engine.tasks.addTask({ module: 'core', action: 'noop', sessionId })).rejects.toThrow(
      /sessionId: no open session/,
    );
    rec.stop();
    expect(rec.of('session_created')[0]?.data).toMatchObject({ sessionId, userId: 'bob', mode: 'resource_aware' });
    expect(rec.of('session_closed')[0]?.data).toMatchObject({ sessionId, reason: 'done for today' });
    expect((await engine.listSessions('active')).some((s) => s.sessionId === sessionId)).toBe(false);
  });

  it('session timeouts cancel its runs; maxParallelWorkflows makes runs take turns', async () => {
    await engine.workflows.createWorkflow('nap', [
      { name: 'nap', module: 'core', action: 'sleep', parameters: { ms: 80 } },
    ]);
    const turns = await engine.createSession({ userId: 'u', maxParallelWorkflows: 1 });
    const runs = await Promise.all([1, 2, 3].map(() => engine.executeWorkflow('nap', { sessionId: turns })));
    expect(runs.every((r) => r.success)).toBe(true);
    expect(anyOverlap(runs.map((r) => r.steps['nap']!))).toBe(false);

    await engine.workflows.createWorkflow('long', [
      { name: 'long', module: 'core', action: 'sleep', parameters: { ms: 60_000 } },
    ]);
    const brief = await engine.createSession({ userId: 'u', timeoutSeconds: 0.3 });
    const result = await engine.executeWorkflow('long', { sessionId: brief });
    expect(result.status).toBe('cancelled');
    expect(result.steps['long']?.error?.message).toMatch(/session timed out after 0.3s/);
    expect((await engine.getSession(brief))?.status).toBe('closed');
  });

  it('refuses bad session options with the field named', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ userId: 'u', mode: 'turbo' }, /session.mode: must be one of sequential, parallel, priority, resource_aware/],
      [{ userId: 'u', maxParallelTasks: 0 }, /session.maxParallelTasks: must be at least 1/],
      [{ mode: 'parallel' }, /session.userId: Required/],
      [{ userId: 'u', resourceRequirements: { gpu: { units: -1 } } }, /resources.gpu.units: must be a positive number/],
    ];
    for (const [options, msg] of bad) {
      const err = await engine.createSession(options as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(msg);
    }
    expect(await engine.listSessions()).toEqual([]);
    expect(await gpuHeld()).toBe(0);
  });
});

describe('resource holds across random task endings (property, real worker threads)', () => {
  it('allocated never exceeds capacity, no hold outlives its task, every hold is released exactly once', async () => {
    const engine = testEngine({ threads: 2, concurrentTasksPerWorker: 4 });
    try {
      await engine.resources.addResource({ id: 'slots', type: 'custom', capacity: { units: 3 } });
      const ending = fc.constantFrom('ok', 'fail', 'timeout', 'crash', 'cancel', 'never');
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(ending, fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 8 }),
          async (plan) => {
            run++;
            const rec = recordEvents(engine);
            let held = 0;
            let peak = 0;
            const live = new Map<string, number>();
            let doubleRelease = 0;
            const sub = engine.bus.events$().subscribe((e) => {
              if (e.type === 'resource_allocated' && e.data.holderId.startsWith('task:')) {
                const units = e.data.resources['slots']?.['units'] ?? 0;
                held += units;
                peak = Math.max(peak, held);
                live.set(e.data.allocationId, units);
              }
              if (e.type === 'resource_released' && e.data.holderId.startsWith('task:')) {
                const units = live.get(e.data.allocationId);
                if (units === undefined) doubleRelease++;
                else held -= units;
                live.delete(e.data.allocationId);
              }
            });
            const tasks: TaskInput[] = plan.map(([end, units], i) => {
              const base = {
                id: `p${run}-${i}`,
                module: 'core',
                maxRetries: 0,
                resources: { slots: { units: end === 'never' ? 4 : units } },
              };
              switch (end) {
                case 'fail':
                  return { ...base, action: 'fail' };
                case 'timeout':
                  return { ...base, action: 'hang', parameters: { ms: 60_000 }, timeout: 0.05 };
                case 'crash':
                  return { ...base, action: 'fail', parameters: { crash: true } };
                case 'cancel':
                  return { ...base, action: 'sleep', parameters: { ms: 60_000 } };
                default:
                  return { ...base, action: 'sleep', parameters: { ms: 5 } };
              }
            });
            const cancelLater = tasks.filter((_, i) => plan[i]![0] === 'cancel').map((t) => t.id!);
            const stopCancel = engine.registerEventHandler('task_started', (_, d) => {
              if (cancelLater.includes(d.taskId)) void engine.tasks.cancelTask(d.taskId);
            });
            await engine.tasks.addTasks(tasks);
            const { results } = await engine.tasks.startExecution();
            stopCancel();
            await expect.poll(() => live.size, { timeout: 10_000 }).toBe(0);
            sub.unsubscribe();
            rec.stop();
            expect(peak).toBeLessThanOrEqual(3);
            expect(doubleRelease).toBe(0);
            expect(results.every((r) => ['completed', 'failed', 'timed_out', 'cancelled'].includes(r.status))).toBe(
              true,
            );
            const usage = (await engine.resources.getUsage()).find((u) => u.id === 'slots')!;
            expect(usage.allocated).toBe(0);
            expect(usage.holders).toEqual([]);
          },
        ),
        { numRuns: 15 },
      );
    } finally {
      await engine.shutdown();
    }
  });
});
