/**
 * Issue 16 item 15: the SQLite store keeps finished history within a retention policy (by count and age), on by
 * default for the process engine, CLI and daemon, off for `createOrchestrationEngine()`; unfinished work is never
 * deleted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileOptions } from '../../src/config/compile.js';
import { DEFAULT_STORE_RETENTION } from '../../src/config/options.js';
import { testEngine } from '../helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codomyrmex-hostile-retention-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const count = (dbPath: string, sql: string): number => {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare(sql).pluck().get() as number;
  } finally {
    db.close();
  }
};

describe('store retention', () => {
  it('is on by default where the store defaults to sqlite (process engine, CLI, daemon), off for createOrchestrationEngine', () => {
    expect(compileOptions({}, {}, { store: 'sqlite' }).storeRetention).toEqual(DEFAULT_STORE_RETENTION);
    expect(compileOptions({ store: 'sqlite' }, {}).storeRetention).toEqual({
      tasks: 0,
      taskAgeMs: 0,
      runs: 0,
      runAgeMs: 0,
    });
    expect(compileOptions({ storeRetention: false }, {}, { store: 'sqlite' }).storeRetention.tasks).toBe(0);
    expect(compileOptions({ storeRetention: { tasks: 5 } }, {}).storeRetention).toEqual({
      ...DEFAULT_STORE_RETENTION,
      tasks: 5,
    });
    expect(() => compileOptions({ storeRetention: { tasks: -1 } })).toThrow(/options\.storeRetention/);
  });

  it('deletes finished tasks and runs past the count, keeps unfinished ones, and the engine reads what is left', async () => {
    const dbPath = join(dir, 'count.db');
    const first = testEngine({ threads: 1, store: 'sqlite', dbPath, durability: 'relaxed' });
    await first.workflows.createWorkflow('w', [{ name: 'a', module: 'core', action: 'noop' }]);
    for (let i = 0; i < 12; i++) await first.workflows.executeWorkflow('w');
    await first.tasks.addTasks(
      Array.from({ length: 300 }, (_, i) => ({ id: `t${i}`, module: 'core', action: 'noop' })),
    );
    await first.tasks.startExecution();
    await first.shutdown();
    expect(count(dbPath, 'SELECT count(*) FROM tasks')).toBe(312);
    expect(count(dbPath, 'SELECT count(*) FROM workflow_runs')).toBe(12);

    // The second engine never starts execution: its task stays pending, which retention never deletes.
    const second = testEngine({
      threads: 1,
      store: 'sqlite',
      dbPath,
      durability: 'relaxed',
      storeRetention: { tasks: 50, runs: 5 },
    });
    await second.ready();
    await second.tasks.addTask({ id: 'pending-forever', module: 'core', action: 'noop', priority: 'background' });
    await second.flush();
    expect(
      count(
        dbPath,
        "SELECT count(*) FROM tasks WHERE status IN ('completed','failed','cancelled','skipped','timed_out')",
      ),
    ).toBeLessThanOrEqual(50);
    expect(count(dbPath, 'SELECT count(*) FROM workflow_runs')).toBe(5);
    expect(count(dbPath, "SELECT count(*) FROM tasks WHERE id = 'pending-forever'")).toBe(1);
    expect((await second.tasks.getTask('t299'))?.status).toBe('completed');
    expect(await second.tasks.getTask('t0')).toBeNull();
    await second.shutdown();
  });
});
