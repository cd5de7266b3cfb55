/**
 * The engine's own faults, each found in review: a failed start, a drain that rejects, a constructor that throws, a
 * cancelled task waiting inside Piscina, a resumed run's session slot, and timers on a fake clock.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { OrchestrationEngine } from '../../src/actors/engine/engine.js';
import { TaskScheduler } from '../../src/actors/tasks/scheduler.js';
import type { EngineOptions } from '../../src/index.js';
import { createOrchestrationEngine, EngineMetrics } from '../../src/index.js';
import { WorkerPool } from '../../src/workers/pool.js';
import { MAX_TIMER_MS, systemClock } from '../../src/model/clock.js';
import { tempDirs } from '../store/helpers.js';
import { FakeClock } from '../support/fakeClock.js';
import { nextEvent, recordEvents } from '../helpers.js';

const dirs = tempDirs();
const engines: OrchestrationEngine[] = [];
const track = (e: OrchestrationEngine): OrchestrationEngine => {
  engines.push(e);
  return e;
};
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.allSettled(engines.splice(0).map((e) => e.shutdown({ graceMs: 0 })));
});
afterAll(() => dirs.cleanup());

const sqlite = (dbPath: string, extra: EngineOptions = {}): EngineOptions => ({
  store: 'sqlite',
  dbPath,
  threads: 1,
  agingMs: 0,
  workflowDirs: [],
  ...extra,
});

describe('engine faults', () => {
  it('a component that throws while starting rejects ready() with the cause and releases the threads and the store lock', async () => {
    const dbPath = join(dirs.make(), 'state.db');
    const first = track(createOrchestrationEngine(sqlite(dbPath)));
    await first.tasks.addTask({ id: 'left', module: 'core', action: 'echo', parameters: { value: 1 } });
    await first.shutdown();
    const db = new Database(dbPath);
    db.prepare("UPDATE tasks SET spec = 'not json' WHERE id = 'left'").run();
    db.close();

    const broken = track(createOrchestrationEngine(sqlite(dbPath)));
    const started = recordEvents(broken);
    await expect(broken.ready()).rejects.toThrow();
    expect(broken.state).toBe('failed');
    expect(started.of('engine_started')).toHaveLength(0);
    expect(broken.pool.destroyed).toBe(true);
    // The lock went with it: another engine opens the same file (and fails the same way, not with STORE_LOCKED).
    const again = track(createOrchestrationEngine(sqlite(dbPath)));
    const err = await again.ready().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).not.toBe('STORE_LOCKED');
  });

  it('shutdown() ends even when the scheduler cannot drain, and says why', async () => {
    vi.spyOn(TaskScheduler.prototype, 'drain').mockRejectedValueOnce(new Error('drain exploded'));
    const engine = track(createOrchestrationEngine({ threads: 1, workflowDirs: [] }));
    await engine.ready();
    await expect(engine.shutdown()).rejects.toThrow('drain exploded');
    expect(engine.state).toBe('stopped');
    expect(engine.pool.destroyed).toBe(true);
  });

  it('a constructor step that throws leaves no threads running and no store lock', () => {
    const dbPath = join(dirs.make(), 'state.db');
    const destroy = vi.spyOn(WorkerPool.prototype, 'destroy');
    vi.spyOn(EngineMetrics.prototype, 'instrumentStore').mockImplementationOnce(() => {
      throw new Error('metrics broke');
    });
    expect(() => new OrchestrationEngine(sqlite(dbPath))).toThrow('metrics broke');
    expect(destroy).toHaveBeenCalledTimes(1);
    const next = track(createOrchestrationEngine(sqlite(dbPath)));
    return expect(next.ready()).resolves.toBeUndefined();
  });

  it('a task cancelled while it waits inside the pool never runs (more tasks in flight than threads)', async () => {
    const engine = track(createOrchestrationEngine({ threads: 1, maxConcurrency: 4, workflowDirs: [] }));
    const orch = engine.tasks;
    const blocker = orch.executeTask({ id: 'blocker', module: 'core', action: 'hang', parameters: { ms: 60_000 } });
    await nextEvent(engine, (e) => e.type === 'task_started' && e.data.taskId === 'blocker');
    await expect.poll(() => engine.pool.running()).toBe(1);
    // Three more go to the pool and wait in Piscina's queue behind the hung thread (queue time: their timeouts do
    // not count it); each is cancelled there.
    const started = Promise.all(
      [1, 2, 3].map((i) => nextEvent(engine, (e) => e.type === 'task_started' && e.data.taskId === `w${i}`)),
    );
    const results = [1, 2, 3].map((i) =>
      orch.executeTask({
        id: `w${i}`,
        module: 'core',
        action: 'hang',
        parameters: { ms: 60_000 },
        timeout: 0.05,
        maxRetries: 0,
      }),
    );
    await started;
    for (const i of [1, 2, 3]) await orch.cancelTask(`w${i}`);
    const waiting = await Promise.all(results);
    expect(waiting.map((r) => r.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    await orch.cancelTask('blocker');
    expect((await blocker).status).toBe('cancelled');
    // None of the three ever holds the thread: within the first second nothing runs, and a new task gets it.
    await expect.poll(() => engine.pool.running(), { timeout: 5000 }).toBe(0);
    const after = await orch.executeTask({ module: 'core', action: 'echo', parameters: { value: 'next' }, timeout: 5 });
    expect(after.result).toBe('next');
  });

  it('a workflow run resumed after a restart holds its session slot', async () => {
    const dbPath = join(dirs.make(), 'state.db');
    const a = track(createOrchestrationEngine(sqlite(dbPath, { threads: 2 })));
    await a.workflows.createWorkflow('nap', [
      { name: 'nap', module: 'core', action: 'sleep', parameters: { ms: 400 } },
    ]);
    const sessionId = await a.createSession({ userId: 'u', maxParallelWorkflows: 1 });
    const stepStarted = nextEvent(a, (e) => e.type === 'step_started');
    const first = await a.workflows.startWorkflow('nap', {}, { sessionId });
    await stepStarted;
    await a.shutdown({ graceMs: 0 });

    const b = track(createOrchestrationEngine(sqlite(dbPath, { threads: 2 })));
    const events = recordEvents(b);
    await b.ready();
    const second = await b.workflows.startWorkflow('nap', {}, { sessionId });
    const [r1, r2] = await Promise.all([b.workflows.waitForRun(first), b.workflows.waitForRun(second)]);
    expect([r1.success, r2.success]).toEqual([true, true]);
    const seqOf = (pred: (e: (typeof events.events)[number]) => boolean): number => events.events.find(pred)?.seq ?? -1;
    const firstDone = seqOf((e) => e.type === 'workflow_completed' && e.data.runId === first);
    const secondStep = seqOf((e) => e.type === 'step_started' && e.data.runId === second);
    expect(firstDone).toBeGreaterThan(0);
    expect(secondStep).toBeGreaterThan(firstDone);
  });
});

describe('timers on an injected clock', () => {
  it('an hour-long backoff and a 30-day timeout follow the clock, not the wall', async () => {
    const clock = new FakeClock();
    const engine = track(new OrchestrationEngine({ threads: 1, workflowDirs: [] }, {}, { clock }));
    const events = recordEvents(engine);
    const result = engine.tasks.executeTask({
      module: 'core',
      action: 'fail',
      parameters: { message: 'not yet' },
      maxRetries: 1,
      retry: { initialDelay: 3600, factor: 1, maxDelay: 3600, jitter: 0 },
    });
    await nextEvent(engine, (e) => e.type === 'task_retrying');
    expect(events.of('task_retrying')[0]?.data.delayMs).toBe(3_600_000);
    expect(events.of('task_started')).toHaveLength(1);
    clock.advance(3_599_999);
    await new Promise((r) => setImmediate(r));
    expect(events.of('task_started')).toHaveLength(1);
    clock.advance(1);
    const r = await result;
    expect(r.attempts).toBe(2);
    expect(r.status).toBe('failed');

    const sleeping = nextEvent(engine, (e) => e.type === 'task_started' && e.data.action === 'sleep');
    const month = engine.tasks.executeTask({
      module: 'core',
      action: 'sleep',
      parameters: { ms: 200 },
      timeout: 30 * 86_400,
    });
    await sleeping;
    clock.advance(29 * 86_400_000);
    expect((await month).status).toBe('completed');
  });

  it('the system clock chains timers past 2^31 ms instead of firing at once', () => {
    vi.useFakeTimers();
    try {
      const fired: number[] = [];
      systemClock.setTimeout(() => fired.push(1), MAX_TIMER_MS + 5000);
      vi.advanceTimersByTime(10);
      expect(fired).toEqual([]);
      vi.advanceTimersByTime(MAX_TIMER_MS);
      expect(fired).toEqual([]);
      vi.advanceTimersByTime(5000);
      expect(fired).toEqual([1]);
      const t = systemClock.setTimeout(() => fired.push(2), MAX_TIMER_MS * 2);
      vi.advanceTimersByTime(MAX_TIMER_MS + 1);
      systemClock.clearTimeout(t);
      vi.advanceTimersByTime(MAX_TIMER_MS * 2);
      expect(fired).toEqual([1]);
    } finally {
      vi.useRealTimers();
    }
  });
});
