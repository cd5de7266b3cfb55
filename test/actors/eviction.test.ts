/**
 * Finished tasks leave memory (past `retainFinished` / `retainFinishedTaskBytes`) once a commit has written them,
 * when that commit lands: results written after a burst do not wait for another task to finish to be evicted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPoolRunner } from '../../src/workers/local.js';
import { TaskScheduler } from '../../src/actors/tasks/scheduler.js';
import { GroupCommitter, InMemoryBus, ModuleRegistry } from '../../src/index.js';
import { systemClock } from '../../src/model/clock.js';
import { WorkerPool } from '../../src/workers/pool.js';
import { AsyncStore } from '../store/flakyStore.js';

let pool: WorkerPool;
beforeAll(() => {
  pool = new WorkerPool({ threads: 1, concurrentTasksPerWorker: 1, moduleDirs: [] });
});
afterAll(() => pool.destroy());

/** A scheduler on one thread whose store holds every commit until the test releases it. */
function heldScheduler(options: { retainFinished: number; retainFinishedBytes?: number; unwrittenMax?: number }): {
  store: AsyncStore;
  scheduler: TaskScheduler;
} {
  const store = new AsyncStore();
  const scheduler = new TaskScheduler({
    bus: new InMemoryBus(),
    runner: new LocalPoolRunner(pool, systemClock),
    store,
    commits: new GroupCommitter(store),
    registry: new ModuleRegistry(),
    options: { maxConcurrency: 1, agingMs: 0, abortGraceMs: 50, ...options },
  });
  return { store, scheduler };
}

describe('finished-task eviction', () => {
  it('runs when a commit lands, not only when the next task finishes', async () => {
    const { store, scheduler } = heldScheduler({ retainFinished: 2, retainFinishedBytes: 1024 });
    const inMemory = () => scheduler.list({ status: 'completed' }).length;
    // The writer holds every commit: the finished tasks stay in memory, unwritten.
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        scheduler.execute({ module: 'core', action: 'echo', parameters: { value: 'x'.repeat(400 + i) } }),
      ),
    );
    expect(results.every((r) => r.status === 'completed')).toBe(true);
    expect(inMemory()).toBe(6);
    // The commits land; no task finishes after them.
    while (store.inFlight > 0) {
      store.release();
      // The commit's answer settles on a later turn (and may send the next commit).
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(store.commits).toBeGreaterThan(0);
    expect(inMemory()).toBeLessThanOrEqual(2);
    // Evicted ones are read from the store.
    expect(scheduler.get(results[0]!.taskId)).toMatchObject({ status: 'completed' });
    await scheduler.drain(0);
    scheduler.dispose();
  });
});

describe('finished-task eviction, off the finish', () => {
  it('leaves a written record in memory when a later task finishes, and drops it when the commit of those lands', async () => {
    const { store, scheduler } = heldScheduler({ retainFinished: 1 });
    const inMemory = () => scheduler.list({ status: 'completed' }).length;
    const land = async () => {
      while (store.inFlight > 0) {
        store.release();
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const first = await scheduler.execute({ module: 'core', action: 'noop' });
    await store.inFlightSoon();
    await land();
    expect(inMemory()).toBe(1);
    // The first is written; the next two finish while their commit is held: the finishes evict nothing.
    await scheduler.execute({ module: 'core', action: 'noop' });
    await scheduler.execute({ module: 'core', action: 'noop' });
    expect(inMemory()).toBe(3);
    await store.inFlightSoon();
    await land();
    expect(inMemory()).toBe(1);
    expect(scheduler.get(first.taskId)).toMatchObject({ status: 'completed' });
    await scheduler.drain(0);
    scheduler.dispose();
  });
});

describe('a store that falls behind', () => {
  it('paces addTasks: a call waits while more changed tasks than unwrittenMax are unwritten, and goes on once they are', async () => {
    const { store, scheduler } = heldScheduler({ retainFinished: 100, unwrittenMax: 4 });
    // Five tasks run to their end; the writer holds every commit, so their finished records stay unwritten.
    const first = await Promise.all(
      Array.from({ length: 5 }, () => scheduler.execute({ module: 'core', action: 'noop' })),
    );
    expect(first.every((r) => r.status === 'completed')).toBe(true);
    await store.inFlightSoon();
    let added = false;
    const second = scheduler.addMany([{ module: 'core', action: 'noop' }]).then((ids) => {
      added = true;
      return ids;
    });
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(added).toBe(false);
    expect(scheduler.list({}).length).toBe(5);
    // The writer catches up: the call goes on.
    while (!added) {
      store.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await second).length).toBe(1);
    expect(scheduler.list({}).length).toBe(6);
    while (store.inFlight > 0) {
      store.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await scheduler.drain(0);
    scheduler.dispose();
  });
});
