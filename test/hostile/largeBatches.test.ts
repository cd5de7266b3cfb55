/**
 * Issue 16 item 6: a large addTasks checks its inputs in slices that yield to the event loop (still all or none),
 * and the memory store's eviction of its oldest tasks takes constant time.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { ADD_SLICE } from '../../src/actors/tasks/scheduler.js';
import { MemoryStore } from '../../src/store/memory.js';
import { emptyBatch } from '../../src/store/store.js';
import type { StoredTask } from '../../src/store/store.js';
import { testEngine } from '../helpers.js';
import { noopTask } from '../store/helpers.js';
import { growth, noops } from './support.js';

const engine = testEngine({ threads: 1 });
afterAll(() => engine.shutdown());

describe('large addTasks calls', () => {
  it('let other work run while they are checked, and add every task', async () => {
    const n = ADD_SLICE * 5;
    let turns = 0;
    let stop = false;
    const tick = (): void => {
      if (stop) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const ids = await engine.tasks.addTasks(noops(n, 'big'));
    stop = true;
    expect(ids).toHaveLength(n);
    // At least one turn of the event loop per slice checked (blocking: none until the call returned).
    expect(turns).toBeGreaterThanOrEqual(4);
    expect((await engine.tasks.getTask(`big-${n - 1}`))?.status).toBe('ready');
  });

  it('stay all or none: one bad input in the last slice adds nothing', async () => {
    const inputs: unknown[] = noops(ADD_SLICE * 3, 'none');
    inputs.push({ module: 'core', action: 'no_such_action' });
    const err = await engine.tasks.addTasks(inputs as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain('task "core.no_such_action".module/action: unknown action');
    expect(await engine.tasks.getTask('none-0')).toBeNull();
  });

  it('refuse an id another call took while this one was being checked', async () => {
    const big = engine.tasks.addTasks(noops(ADD_SLICE * 3, 'race'));
    await engine.tasks.addTask({ id: `race-${ADD_SLICE * 3 - 1}`, module: 'core', action: 'noop' });
    await expect(big).rejects.toThrow(`a task with id "race-${ADD_SLICE * 3 - 1}" already exists`);
  });
});

describe('the memory store', () => {
  const task = (id: string): StoredTask => noopTask(id, 'completed');

  it('evicts its oldest tasks past maxTasks, first in first out', () => {
    const store = new MemoryStore({ maxTasks: 3 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) store.commit({ ...emptyBatch(), tasks: [task(id)] });
    expect(store.listTasks().map((t) => t.spec.id)).toEqual(['c', 'd', 'e']);
    store.commit({ ...emptyBatch(), tasks: [task('c')] }); // an update does not make it newer
    store.commit({ ...emptyBatch(), tasks: [task('f')] });
    expect(store.listTasks().map((t) => t.spec.id)).toEqual(['d', 'e', 'f']);
  });

  it('evicts in constant time: writing n tasks past the bound grows linearly, not with what was evicted', () => {
    const ratio = growth(
      (n) => Array.from({ length: n }, (_, i) => task(`t${n}-${i}`)),
      (tasks) => {
        const store = new MemoryStore({ maxTasks: 10_000 });
        for (let i = 0; i < tasks.length; i += 100) store.commit({ ...emptyBatch(), tasks: tasks.slice(i, i + 100) });
      },
      20_000,
      60_000,
    );
    // Linear: about 3x (x3 allowed for a loaded machine). Map.keys().next() eviction was about 10x and growing.
    expect(ratio).toBeLessThan(3 * 3);
  });

  it('evicts in constant time: one delete per evicted task and no Map iterator walked (the old eviction walked deleted slots)', () => {
    const store = new MemoryStore({ maxTasks: 1000 });
    for (let i = 0; i < 5000; i++) store.commit({ ...emptyBatch(), tasks: [task(`w-${i}`)] });
    const spies = [
      vi.spyOn(Map.prototype, 'keys'),
      vi.spyOn(Map.prototype, 'values'),
      vi.spyOn(Map.prototype, 'entries'),
      vi.spyOn(Map.prototype, 'forEach'),
    ];
    const deletes = vi.spyOn(Map.prototype, 'delete');
    try {
      for (let i = 0; i < 200; i++)
        store.commit({ ...emptyBatch(), tasks: Array.from({ length: 50 }, (_, j) => task(`c-${i}-${j}`)) });
      expect(spies.map((s) => s.mock.calls.length)).toEqual([0, 0, 0, 0]);
      expect(deletes.mock.calls.length).toBe(200 * 50);
    } finally {
      for (const s of [...spies, deletes]) s.mockRestore();
    }
    expect(store.getTask('c-199-49')).toBeDefined();
    expect(store.getTask('c-179-49')).toBeUndefined(); // the oldest went first
    expect(store.listTasks()).toHaveLength(1000);
  });
});
