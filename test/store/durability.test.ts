/**
 * What `durability` promises a caller, on the real engine and scheduler: strict answers only once the change is
 * committed and never starts a task whose row is not; relaxed answers at once; a failed write is never
 * acknowledged and takes back what it could not write.
 */
import { LocalPoolRunner } from '../../src/workers/local.js';
import { systemClock } from '../../src/model/clock.js';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BusEvent, OrchestrationEngine, Store, StoreError } from '../../src/index.js';
import { createOrchestrationEngine, ErrorCode, GroupCommitter, InMemoryBus, ModuleRegistry } from '../../src/index.js';
import { TaskScheduler } from '../../src/actors/tasks/scheduler.js';
import { WorkerPool } from '../../src/workers/pool.js';
import { AsyncStore, FlakyStore } from './flakyStore.js';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
const engines: OrchestrationEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.shutdown({ graceMs: 0 })));
});
afterAll(() => dirs.cleanup());

/** A one-slot scheduler on `pool` that answers a caller only once its change is committed (`ackOnCommit`). */
function strictScheduler(pool: WorkerPool, store: Store, bus: InMemoryBus, commits: GroupCommitter): TaskScheduler {
  return new TaskScheduler({
    bus,
    runner: new LocalPoolRunner(pool, systemClock),
    store,
    commits,
    registry: new ModuleRegistry(),
    options: { maxConcurrency: 1, agingMs: 0, abortGraceMs: 50, retainFinished: 100, ackOnCommit: true },
  });
}

function sqliteEngine(durability: 'strict' | 'relaxed'): OrchestrationEngine {
  const e = createOrchestrationEngine({
    store: 'sqlite',
    dbPath: join(dirs.make('durability'), 'state.db'),
    durability,
    threads: 1,
  });
  engines.push(e);
  return e;
}

describe('durability: strict', () => {
  it('answers addTask after the row is committed, and executeTask after the result is', async () => {
    const engine = sqliteEngine('strict');
    const orch = engine.getTaskOrchestrator();
    const id = await orch.addTask({ module: 'core', action: 'noop' });
    // Checked synchronously after the answer: no later commit could have helped.
    expect(engine.store.getTaskStatus(id)).toBe('ready');
    const r = await orch.executeTask({ module: 'core', action: 'echo', parameters: { value: 'v' } });
    expect(engine.store.getTask(r.taskId)).toMatchObject({ status: 'completed', result: { result: 'v', attempts: 1 } });
    const w = orch.waitForTask(id);
    await orch.startExecution();
    await w;
    expect(engine.store.getTaskStatus(id)).toBe('completed');
  });

  it('never starts a task before its row is committed', async () => {
    const engine = sqliteEngine('strict');
    const seen: (string | undefined)[] = [];
    engine.registerEventHandler('task_started', (_e, data) => void seen.push(engine.store.getTaskStatus(data.taskId)));
    const orch = engine.getTaskOrchestrator();
    await Promise.all(
      [1, 2, 3].map((i) => orch.executeTask({ module: 'core', action: 'echo', parameters: { value: i } })),
    );
    expect(seen).toEqual(['ready', 'ready', 'ready']);
  });

  it("never starts a workflow step's task before its row is committed (the scheduler's trusted step entry)", async () => {
    const engine = sqliteEngine('strict');
    const seen: (string | undefined)[] = [];
    engine.registerEventHandler('task_started', (_e, data) => void seen.push(engine.store.getTaskStatus(data.taskId)));
    await engine.workflows.createWorkflow('steps', [
      { name: 'a', module: 'core', action: 'echo', parameters: { value: 1 } },
      { name: 'b', module: 'core', action: 'echo', parameters: { value: '{{a.output}}' }, dependencies: ['a'] },
      { name: 'c', module: 'core', action: 'noop', dependencies: ['b'] },
    ]);
    const r = await engine.workflows.executeWorkflow('steps');
    expect(r.status).toBe('succeeded');
    expect(seen).toEqual(['ready', 'ready', 'ready']);
    // Answered once durable: each step's result is in the store.
    for (const step of ['a', 'b', 'c']) expect(engine.store.getTaskStatus(`${r.runId}.${step}`)).toBe('completed');
  });
});

describe('durability: relaxed', () => {
  it('answers at once and commits by the end of the turn; flush() is the barrier', async () => {
    const engine = sqliteEngine('relaxed');
    const orch = engine.getTaskOrchestrator();
    const id = await orch.addTask({ module: 'core', action: 'noop' });
    expect(engine.store.getTaskStatus(id)).toBeUndefined();
    await engine.flush();
    expect(engine.store.getTaskStatus(id)).toBe('ready');
  });
});

describe('strict, with a batch window', () => {
  let pool: WorkerPool;
  beforeAll(() => {
    pool = new WorkerPool({ threads: 1, concurrentTasksPerWorker: 1, moduleDirs: [] });
  });
  afterAll(() => pool.destroy());

  it('answers a lone task on an idle writer without waiting for the window: its row, then its result, each committed at once', async () => {
    // Commits wait for the test to release them (an off-thread writer); the window is longer than the test may
    // run, so a commit that waited for it would never be sent and the test would time out.
    const store = new AsyncStore();
    const bus = new InMemoryBus();
    const started: string[] = [];
    bus.events$('task_started').subscribe((e) => started.push(e.data.taskId));
    const commits = new GroupCommitter(store, { delayMs: 60_000, unawaitedDelayMs: 60_000 });
    const scheduler = strictScheduler(pool, store, bus, commits);
    let answered = false;
    const result = scheduler
      .execute({ id: 'lone', module: 'core', action: 'echo', parameters: { value: 1 } })
      .finally(() => (answered = true));
    await store.inFlightSoon();
    // Its row, before it starts: nobody is answered on that commit, so it is not synced.
    expect(store.sent[0]).toMatchObject({ deferSync: true, tasks: [{ status: 'ready' }] });
    expect(started).toEqual([]);
    store.release();
    // It ran, and its result went to the store as soon as it ended (its running state rides along).
    await store.inFlightSoon();
    expect(started).toEqual(['lone']);
    expect(store.sent[1]?.deferSync).toBeUndefined();
    expect(store.sent[1]?.tasks.map((t) => t.status)).toEqual(['completed']);
    expect(answered).toBe(false);
    store.release();
    await expect(result).resolves.toMatchObject({ status: 'completed', result: 1 });
    expect(store.sent).toHaveLength(2);
    await scheduler.drain(0);
    await commits.close();
  });
});

describe('a write that fails (strict)', () => {
  let pool: WorkerPool;
  beforeAll(() => {
    pool = new WorkerPool({ threads: 1, concurrentTasksPerWorker: 1, moduleDirs: [] });
  });
  afterAll(() => pool.destroy());

  interface Setup {
    store: FlakyStore;
    scheduler: TaskScheduler;
    bus: InMemoryBus;
    events: BusEvent[];
    faults: (string | null)[];
    /** Resolves when the committer next reports the store healthy. */
    healthy: () => Promise<void>;
  }

  function setup(): Setup {
    const store = new FlakyStore();
    const bus = new InMemoryBus();
    const events: BusEvent[] = [];
    bus.events$().subscribe((e) => events.push(e));
    const faults: (string | null)[] = [];
    let wake: (() => void) | null = null;
    const healthy = (): Promise<void> => new Promise((resolve) => (wake = resolve));
    const onFault = (e: StoreError | null): void => {
      faults.push(e ? e.code : null);
      if (e === null) wake?.();
    };
    const commits = new GroupCommitter(store, { retryMs: 5, onFault });
    const scheduler = strictScheduler(pool, store, bus, commits);
    return { store, scheduler, bus, events, faults, healthy };
  }

  /** The disk heals: the committer's next retry writes, it reports the store healthy, and new work is accepted. */
  const healed = async ({ scheduler, store, healthy }: Setup): Promise<void> => {
    const back = healthy();
    store.failing = false;
    await back;
    scheduler.add([{ module: 'core', action: 'noop' }]);
  };

  it('takes back tasks it could not write: their callers get the error, they never start, new work is refused until it heals', async () => {
    const s = setup();
    const { store, scheduler, events, faults } = s;
    store.failing = true;
    const ids = scheduler.add([
      { id: 'a', module: 'core', action: 'noop' },
      { id: 'b', module: 'core', action: 'noop', dependencies: ['a'] },
    ]);
    const reply = scheduler.acked({ ids });
    const executed = scheduler.execute({ id: 'c', module: 'core', action: 'echo', parameters: { value: 1 } });
    const err = (await Promise.allSettled([reply, executed])).map((r) =>
      r.status === 'rejected' ? (r.reason as StoreError) : null,
    );
    for (const e of err) {
      expect(e?.code).toBe(ErrorCode.STORE_WRITE_FAILED);
      expect(e?.message).toMatch(/\/flaky\/state\.db: database or disk is full/);
    }
    // Memory did not move ahead of the disk: the tasks are gone, none started.
    for (const id of ['a', 'b', 'c']) expect(scheduler.get(id)).toBeNull();
    expect(scheduler.stats().byStatus).toMatchObject({ pending: 0, ready: 0 });
    expect(events.some((e) => e.type === 'task_started')).toBe(false);
    expect(faults).toEqual([ErrorCode.STORE_WRITE_FAILED]);
    expect(() => scheduler.add([{ module: 'core', action: 'noop' }])).toThrow(/disk is full.*nothing was added/);

    await healed(s);
    expect(faults).toEqual([ErrorCode.STORE_WRITE_FAILED, null]);
    const r = await scheduler.execute({ id: 'c', module: 'core', action: 'echo', parameters: { value: 2 } });
    expect(r).toMatchObject({ status: 'completed', result: 2 });
    expect(store.getTaskStatus('c')).toBe('completed');
    await scheduler.drain(0);
  });

  it('does not acknowledge a result it could not write; pauses dispatch; writes the result once the disk heals', async () => {
    const s = setup();
    const { store, scheduler, bus, events } = s;
    const started = firstValueFrom(bus.events$('task_started'));
    const result = scheduler.execute({
      id: 'slow',
      module: 'core',
      action: 'sleep',
      parameters: { ms: 150, value: 'ok' },
    });
    scheduler.add([{ id: 'queued', module: 'core', action: 'noop' }]);
    await started;
    // Everything so far (slow running, queued ready) is on disk before the disk fills.
    await scheduler.acked(undefined);
    // The disk fills while "slow" runs; the next write (an add) finds out.
    store.failing = true;
    await expect(scheduler.acked(scheduler.add([{ id: 'x', module: 'core', action: 'noop' }]))).rejects.toMatchObject({
      code: ErrorCode.STORE_WRITE_FAILED,
    });
    // "slow" ends in memory, but its result cannot be written: its caller is not told it completed.
    await expect(result).rejects.toMatchObject({ code: ErrorCode.STORE_WRITE_FAILED });
    // And the queued task does not start while the store cannot record it: not by the committer's next two
    // retries (each a later turn of the event loop, after anything the failure set going has run).
    await store.nextWrite();
    await store.nextWrite();
    expect(events.filter((e) => e.type === 'task_started')).toHaveLength(1);
    expect(store.getTaskStatus('slow')).toBe('running');
    expect(store.getTaskStatus('queued')).toBe('ready');

    await healed(s);
    await expect(scheduler.wait('queued')).resolves.toMatchObject({ status: 'completed' });
    expect(store.getTask('slow')).toMatchObject({ status: 'completed', result: { result: 'ok' } });
    await scheduler.drain(0);
  });
});
