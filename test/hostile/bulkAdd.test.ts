/**
 * Issue 16 item 6: a large addTasks is added, queued and committed in slices that yield to the event loop, and it
 * stays all or none: one transaction however many parts it is sent to the SQLite writer thread in, nothing of it
 * in the database or the queue when that transaction fails, and other calls made meanwhile still work. Also: the
 * memory store evicts without walking a Map iterator.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ADD_SLICE } from '../../src/actors/tasks/scheduler.js';
import { StoreError } from '../../src/errors.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { PART_ROWS, splitBatch } from '../../src/store/parts.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { BatchEncoder } from '../../src/store/sqliteWrites.js';
import { RECORD_KINDS, emptyBatch } from '../../src/store/store.js';
import type { StoredTask, WriteBatch } from '../../src/store/store.js';
import { WriterThread } from '../../src/store/writerThread.js';
import { nextEvent, testEngine } from '../helpers.js';
import { noopTask } from '../store/helpers.js';
import { noops } from './support.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function tempDb(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'codomyrmex-hostile-bulk-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'state.db');
}

function engineOn(options: Parameters<typeof testEngine>[0]): OrchestrationEngine {
  const engine = testEngine({ threads: 1, ...options });
  cleanup.push(() => engine.shutdown());
  return engine;
}

/** Counts event-loop turns (setImmediate) from `start()` on, until `stop()`. */
function turns(): { start: () => void; stop: () => number } {
  let n = 0;
  let on = false;
  const tick = (): void => {
    if (!on) return;
    n++;
    setImmediate(tick);
  };
  return {
    start: () => {
      if (on) return;
      on = true;
      setImmediate(tick);
    },
    stop: () => {
      on = false;
      return n;
    },
  };
}

/** Rows of the call in the database, read on a connection of the test's own. */
function rowsLike(dbPath: string, prefix: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) FROM tasks WHERE id LIKE ?').pluck().get(`${prefix}-%`) as number;
  } finally {
    db.close();
  }
}

describe('a large addTasks', () => {
  it('keeps the event loop turning while its tasks are added and queued, after intake', async () => {
    const engine = engineOn({ store: 'memory' });
    const n = ADD_SLICE * 10;
    const loop = turns();
    // The first task of the call announced: intake is over, its tasks are being added and queued.
    const sub = engine.bus.events$('task_added').subscribe((e) => {
      if ((e.data as { taskId: string }).taskId === 'big-0') loop.start();
    });
    cleanup.push(async () => sub.unsubscribe());
    const ids = await engine.tasks.addTasks(noops(n, 'big'));
    const seen = loop.stop();
    expect(ids).toHaveLength(n);
    // Added in one go (as before), no turn passed between the first announcement and the answer.
    expect(seen).toBeGreaterThanOrEqual(n / ADD_SLICE - 1);
    expect((await engine.tasks.getTask(`big-${n - 1}`))?.status).toBe('ready');
  });

  it('lets an executeTask issued while it is being added complete, and answers once all of it is committed (SQLite, strict)', async () => {
    const dbPath = await tempDb();
    const engine = engineOn({ store: 'sqlite', dbPath, durability: 'strict' });
    await engine.ready();
    const n = ADD_SLICE * 10;
    let concurrent: Promise<unknown> | null = null;
    const sub = engine.bus.events$('task_added').subscribe((e) => {
      if ((e.data as { taskId: string }).taskId === 'big-0')
        concurrent = engine.tasks.executeTask({
          id: 'meanwhile',
          module: 'core',
          action: 'echo',
          parameters: { value: 7 },
        });
    });
    cleanup.push(async () => sub.unsubscribe());
    const ids = await engine.tasks.addTasks(noops(n, 'big'));
    expect(ids).toHaveLength(n);
    // Strict: answered once committed, all of it.
    expect(rowsLike(dbPath, 'big')).toBe(n);
    expect(concurrent).not.toBeNull();
    await expect(concurrent).resolves.toMatchObject({ taskId: 'meanwhile', status: 'completed', result: 7 });
  });

  it('queues the call whole: a high-priority task at its end starts before the low ones at its start', async () => {
    const engine = engineOn({ store: 'memory', maxConcurrency: 1 });
    await engine.tasks.executeTask({ module: 'core', action: 'noop' }); // execution on
    const first = nextEvent(
      engine,
      (e) => e.type === 'task_started' && String((e.data as { taskId: string }).taskId).startsWith('ord-'),
    );
    const inputs = [
      ...noops(ADD_SLICE * 2, 'ord', 'low'),
      { id: 'ord-high', module: 'core', action: 'noop', priority: 'high' },
    ];
    await engine.tasks.addTasks(inputs as never);
    expect(((await first).data as { taskId: string }).taskId).toBe('ord-high');
  });

  it('lets the engine shut down while it is being added (no call left waiting)', async () => {
    const engine = testEngine({ threads: 1, store: 'memory' });
    const added = nextEvent(
      engine,
      (e) => e.type === 'task_added' && (e.data as { taskId: string }).taskId === 'shut-0',
    );
    const call = engine.tasks.addTasks(noops(ADD_SLICE * 5, 'shut')).then(
      (ids) => ids.length,
      (err: unknown) => err,
    );
    await added;
    await engine.shutdown();
    expect(await call).toBe(ADD_SLICE * 5);
  });
});

describe('a large addTasks whose commit fails in a part past the middle', () => {
  /** A real SQLite failure inside the transaction: a trigger refusing one row of the call. */
  function refuseRow(dbPath: string, id: string): () => void {
    const db = new Database(dbPath);
    db.exec(
      `CREATE TRIGGER refuse_one BEFORE INSERT ON tasks WHEN NEW.id = '${id}' BEGIN SELECT RAISE(ABORT, 'injected fault at ${id}'); END`,
    );
    db.close();
    return () => {
      const again = new Database(dbPath);
      again.exec('DROP TRIGGER refuse_one');
      again.close();
    };
  }

  const N = PART_ROWS * 10;
  const AT = `bad-${Math.floor(N * 0.75)}`;

  it('strict: the caller gets the error; none of the call is in the database, in memory or in the queue; later calls work', async () => {
    const dbPath = await tempDb();
    const engine = engineOn({ store: 'sqlite', dbPath, durability: 'strict' });
    await engine.ready();
    refuseRow(dbPath, AT);
    const recovered = nextEvent(engine, (e) => e.type === 'store_recovered');
    const err = await engine.tasks.addTasks(noops(N, 'bad')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toContain(`injected fault at ${AT}`);
    expect(rowsLike(dbPath, 'bad')).toBe(0);
    expect(await engine.tasks.getTask('bad-0')).toBeNull();
    expect(await engine.tasks.getTask(`bad-${N - 1}`)).toBeNull();
    const stats = await engine.bus.request('task.stats', {});
    expect(stats.queued).toBe(0);
    expect(stats.byStatus.ready ?? 0).toBe(0);
    // The next commit (the retry probe) succeeds: the engine takes work again, and the ids are free again.
    await recovered;
    await expect(engine.tasks.addTasks(noops(3, 'bad'))).resolves.toEqual(['bad-0', 'bad-1', 'bad-2']);
    expect(rowsLike(dbPath, 'bad')).toBe(3);
  });

  it('relaxed: nothing of the call is written while the fault lasts, all of it once it is gone', async () => {
    const dbPath = await tempDb();
    const engine = engineOn({ store: 'sqlite', dbPath, durability: 'relaxed' });
    await engine.ready();
    const drop = refuseRow(dbPath, AT);
    const failed = nextEvent(engine, (e) => e.type === 'store_failed');
    // Relaxed: answered before the commit; the commit then fails, whole.
    await expect(engine.tasks.addTasks(noops(N, 'bad'))).resolves.toHaveLength(N);
    await failed;
    expect(rowsLike(dbPath, 'bad')).toBe(0);
    const recovered = nextEvent(engine, (e) => e.type === 'store_recovered');
    drop();
    await recovered;
    expect(rowsLike(dbPath, 'bad')).toBe(N);
  });
});

describe('the writer thread', () => {
  const task = (id: string): StoredTask => noopTask(id, 'pending');

  it('writes nothing when parts sent before it was replaced are missing', async () => {
    const dbPath = await tempDb();
    const store = SqliteStore.open({ path: dbPath, writerThread: false });
    cleanup.push(async () => store.close());
    const thread = new WriterThread({
      path: dbPath,
      durability: 'relaxed',
      busyTimeoutMs: 5000,
      walAutocheckpointPages: 1000,
      journal: { maxEvents: 0, maxAgeMs: 0 },
      recordKinds: RECORD_KINDS,
    });
    cleanup.push(() => thread.close());
    const encoder = new BatchEncoder(0, false);
    thread.sendPart(1, encoder.encode({ ...emptyBatch(), tasks: [task('p-0')] }));
    thread.kill(); // the part dies with the thread; the last part goes to a new one
    await expect(thread.writeParts(1, 1, encoder.encode({ ...emptyBatch(), tasks: [task('p-1')] }))).rejects.toThrow();
    expect(store.getTaskStatus('p-0')).toBeUndefined();
    expect(store.getTaskStatus('p-1')).toBeUndefined();
    // Parts that all arrive are written together.
    thread.sendPart(2, encoder.encode({ ...emptyBatch(), tasks: [task('q-0')] }));
    await thread.writeParts(2, 1, encoder.encode({ ...emptyBatch(), tasks: [task('q-1')] }));
    expect(store.getTaskStatuses(['q-0', 'q-1']).size).toBe(2);
  });

  it('gets every row of a large batch in parts of PART_ROWS, the meta with the last part', () => {
    const batch: WriteBatch = {
      ...emptyBatch(),
      tasks: Array.from({ length: PART_ROWS * 2 + 1 }, (_, i) => task(`s-${i}`)),
      meta: { k: 'v' },
    };
    const parts = splitBatch(batch);
    expect(parts.map((p) => p.tasks.length)).toEqual([PART_ROWS, PART_ROWS, 1]);
    expect(parts.flatMap((p) => p.tasks)).toEqual(batch.tasks);
    expect(parts.map((p) => Object.keys(p.meta).length)).toEqual([0, 0, 1]);
  });
});
