/**
 * Recovery without a crash: an engine on a SQLite file shuts down with work unfinished, and the next engine on
 * that file picks it up. (Crashes proper: crash.test.ts.)
 */
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BusEvent, EngineOptions, OrchestrationEngine } from '../../src/index.js';
import { createOrchestrationEngine, ShuttingDownError } from '../../src/index.js';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
const engines: OrchestrationEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.shutdown({ graceMs: 0 })));
});
afterAll(() => dirs.cleanup());

function engineOn(dbPath: string, options: EngineOptions = {}): { engine: OrchestrationEngine; events: BusEvent[] } {
  const engine = createOrchestrationEngine({ store: 'sqlite', dbPath, threads: 2, agingMs: 0, ...options });
  engines.push(engine);
  const events: BusEvent[] = [];
  engine.bus.events$().subscribe((e) => events.push(e));
  return { engine, events };
}

function nextEvent(events: BusEvent[], pred: (e: BusEvent) => boolean): Promise<BusEvent> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const e = events.find(pred);
      if (e) {
        clearInterval(timer);
        resolve(e);
      }
    }, 2);
  });
}

const recoveryOf = (events: BusEvent[]): Extract<BusEvent, { type: 'recovery' }>['data'] | undefined =>
  events.find(
    (e): e is Extract<BusEvent, { type: 'recovery' }> =>
      e.type === 'recovery' && e.data.component === 'taskOrchestrator',
  )?.data;

describe('recovery after a shutdown', () => {
  it('keeps queued tasks for the next engine, which waits for startExecution as before', async () => {
    const db = join(dirs.make('recovery'), 'state.db');
    const a = engineOn(db);
    const orch = a.engine.getTaskOrchestrator();
    const first = await orch.addTask({ id: 'one', module: 'core', action: 'echo', parameters: { value: 1 } });
    await orch.addTasks([
      { id: 'two', module: 'core', action: 'echo', parameters: { value: 2 }, dependencies: [first] },
    ]);
    await a.engine.shutdown();

    const b = engineOn(db);
    await b.engine.ready();
    expect(recoveryOf(b.events)).toMatchObject({
      resumed: 2,
      byStatus: { ready: 1, pending: 1 },
      ids: ['one', 'two'],
      rerun: [],
      executing: false,
    });
    const orchB = b.engine.getTaskOrchestrator();
    expect(await orchB.getTask('two')).toMatchObject({ status: 'pending' });
    const summary = await orchB.startExecution();
    expect(summary.results.map((r) => [r.taskId, r.status, r.result])).toEqual([
      ['one', 'completed', 1],
      ['two', 'completed', 2],
    ]);
  });

  it('runs a task interrupted by shutdown again, its attempt counted, and tells its caller it was left for later', async () => {
    const db = join(dirs.make('recovery'), 'state.db');
    const a = engineOn(db);
    const running = a.engine.getTaskOrchestrator().executeTask({
      id: 'long',
      module: 'core',
      action: 'sleep',
      parameters: { ms: 30_000, value: 'done' },
      idempotencyKey: 'k',
    });
    const outcome = running.then(
      () => null,
      (err: unknown) => err,
    );
    await nextEvent(a.events, (e) => e.type === 'task_started');
    await a.engine.shutdown({ graceMs: 0 });
    const err = await outcome;
    expect(err).toBeInstanceOf(ShuttingDownError);
    expect((err as Error).message).toMatch(
      /stays running in .*state\.db and resumes when an engine opens that store again/,
    );

    const b = engineOn(db);
    await b.engine.ready();
    expect(recoveryOf(b.events)).toMatchObject({ resumed: 1, rerun: ['long'], executing: true });
    const view = await b.engine.getTaskOrchestrator().getTask('long');
    // Requeued (dispatching was on) with the interrupted attempt counted; it runs as attempt 2.
    expect(view?.attempts).toBeGreaterThanOrEqual(1);
    const started = await nextEvent(b.events, (e) => e.type === 'task_started');
    expect(started.data).toMatchObject({ taskId: 'long', attempt: 2 });
    await b.engine.getTaskOrchestrator().cancelTask('long');
  });

  it('restores a retrying task with its backoff, then retries it', async () => {
    const db = join(dirs.make('recovery'), 'state.db');
    const a = engineOn(db);
    const t = {
      id: 'flaky',
      module: 'core',
      action: 'fail',
      parameters: { times: 1 },
      maxRetries: 2,
      retry: { initialDelay: 0.3, jitter: 0 },
    };
    void a.engine
      .getTaskOrchestrator()
      .executeTask(t)
      .catch(() => undefined);
    const retrying = await nextEvent(a.events, (e) => e.type === 'task_retrying');
    const retryAt = (retrying.data as { retryAt: number }).retryAt;
    await a.engine.shutdown({ graceMs: 0 });

    const b = engineOn(db);
    const result = await b.engine.getTaskOrchestrator().waitForTask('flaky');
    expect(recoveryOf(b.events)).toMatchObject({ byStatus: { retrying: 1 } });
    expect(result).toMatchObject({ status: 'completed', attempts: 2, result: { attempt: 2 } });
    const started = b.events.find((e) => e.type === 'task_started');
    expect(started!.timestamp).toBeGreaterThanOrEqual(retryAt - 5);
  });

  it('keeps finished tasks finished, with their results, and readable by id', async () => {
    const db = join(dirs.make('recovery'), 'state.db');
    const a = engineOn(db);
    const r = await a.engine
      .getTaskOrchestrator()
      .executeTask({ id: 'done', module: 'core', action: 'echo', parameters: { value: { x: [1, 2] } } });
    await a.engine.shutdown();
    const b = engineOn(db);
    const orch = b.engine.getTaskOrchestrator();
    expect(await orch.waitForTask('done')).toEqual(r);
    expect(await orch.getTask('done')).toMatchObject({ status: 'completed', result: r });
    expect(recoveryOf(b.events)).toMatchObject({ resumed: 0 });
    // Its id stays taken.
    await expect(orch.addTask({ id: 'done', module: 'core', action: 'noop' })).rejects.toThrow(/already exists/);
  });

  it('journals every event, readable after a restart', async () => {
    const db = join(dirs.make('recovery'), 'state.db');
    const a = engineOn(db);
    await a.engine.getTaskOrchestrator().executeTask({ id: 'j', module: 'core', action: 'noop' });
    await a.engine.shutdown();
    const b = engineOn(db);
    await b.engine.ready();
    // B's own start is journaled by its first commit (on the writer thread): wait for it.
    await b.engine.flush();
    const entries = b.engine.store.readEvents({ limit: 100 });
    // Each engine's start journals one recovery event per component that recovers (resources, tasks, workflows, projects).
    const types = entries.map((e) => e.type);
    // (B's own engine_started may or may not be in that commit yet.)
    expect(types.slice(4, 15)).toEqual([
      'engine_started',
      'task_added',
      'task_queued',
      'task_started',
      'task_completed',
      'engine_stopping',
      'engine_stopped',
      'recovery',
      'recovery',
      'recovery',
      'recovery',
    ]);
    const components = entries
      .filter((e) => e.type === 'recovery')
      .map((e) => (e.data as { component: string }).component);
    expect(components).toEqual([
      'resourceManager',
      'taskOrchestrator',
      'workflowManager',
      'projectManager',
      'resourceManager',
      'taskOrchestrator',
      'workflowManager',
      'projectManager',
    ]);
    const mine = b.engine.store.readEvents({ types: ['task_completed'] });
    expect(mine[0]?.data).toMatchObject({ taskId: 'j', success: true });
  });
});
