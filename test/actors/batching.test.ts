import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OrchestrationEngine, TaskInput } from '../../src/index.js';
import { testEngine } from '../helpers.js';
import type { BatchCounts } from '../../src/model/taskView.js';

const SPIN_DIR = fileURLToPath(new URL('../../dist/test/fixtures/batching', import.meta.url));

const spin = (
  id: string,
  params: { ms?: number; log?: string; crash?: boolean } = {},
  extra: Partial<TaskInput> = {},
): TaskInput => ({ id, module: 'spin', action: 'busy', parameters: params, ...extra });

/** Runs of each task, from the log the action appends to. */
function runsByTask(log: string): Map<string, number> {
  const runs = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return runs;
  }
  for (const line of text.split('\n')) {
    const id = line.split(' ')[0];
    if (id) runs.set(id, (runs.get(id) ?? 0) + 1);
  }
  return runs;
}

describe('batched dispatch to worker threads (real threads)', () => {
  let engine: OrchestrationEngine;
  let dir: string;
  let log: string;
  let seq = 0;
  let base: BatchCounts;
  /** Batching counts since the warm-up. */
  const since = async (): Promise<BatchCounts> => {
    const now = (await engine.tasks.stats()).batching;
    return {
      batches: now.batches - base.batches,
      tasks: now.tasks - base.tasks,
      handedBack: now.handedBack - base.handedBack,
      threadLost: now.threadLost - base.threadLost,
    };
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cmx-batch-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    engine = testEngine({ threads: 2, concurrentTasksPerWorker: 1, moduleDirs: [SPIN_DIR] });
    await engine.ready();
    log = join(dir, `runs-${++seq}.log`);
    writeFileSync(log, '');
    // The action is batched only once it is known to be short (its runs, as its threads report them, average under
    // SHORT_MS). On a loaded machine a cold thread's first runs are slow and it takes more runs to learn: warm until
    // a batch forms (at most 50 rounds); the counts the tests compare are taken after the warm-up.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 6; i++) await engine.tasks.executeTask(spin(`warm-${seq}-${round}-${i}`));
      await engine.tasks.addTasks(Array.from({ length: 8 }, (_, i) => spin(`warm-${seq}-${round}-b${i}`)));
      await engine.tasks.startExecution();
      if ((await engine.tasks.stats()).batching.batches > 0) break;
    }
    base = (await engine.tasks.stats()).batching;
  });
  afterEach(() => engine.shutdown({ graceMs: 0 }));

  it('sends short tasks in batches, one message for many, and still gives each task its own result', async () => {
    const before = engine.pool.stats().completed;
    const ids = Array.from({ length: 3000 }, (_, i) => `b${i}`);
    await engine.tasks.addTasks(ids.map((id) => spin(id)));
    const summary = await engine.tasks.startExecution();
    expect(summary.byStatus.completed).toBe(3000);
    const stats = await engine.tasks.stats();
    expect(stats.batching.batches).toBeGreaterThan(0);
    expect(stats.batching.tasks / stats.batching.batches).toBeGreaterThan(4);
    // Fewer Piscina tasks than attempts: batches carried several each.
    expect(engine.pool.stats().completed - before).toBeLessThan(3000 / 4);
    const byId = new Map(summary.results.map((r) => [r.taskId, r]));
    for (const id of ids)
      expect(byId.get(id), id).toMatchObject({ taskId: id, status: 'completed', attempts: 1, result: { taskId: id } });
    // Prometheus sees the same counts.
    const text = await engine.metrics!.expose();
    expect(text).toContain(`codomyrmex_task_batches_total ${stats.batching.batches}`);
    expect(text).toContain(`codomyrmex_task_batched_total{outcome="sent"} ${stats.batching.tasks}`);
  });

  it('sends a lone task alone (a batch forms only from what already waits)', async () => {
    const before = (await engine.tasks.stats()).batching.batches;
    const r = await engine.tasks.executeTask(spin('lone'));
    expect(r.success).toBe(true);
    expect((await engine.tasks.stats()).batching.batches).toBe(before);
  });

  it('hands back the tasks a batch could not start within its budget; each runs once, uncounted', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `h${i}`);
    await engine.tasks.addTasks(ids.map((id, i) => spin(id, { log, ms: i === 1 ? 40 : 0 })));
    const summary = await engine.tasks.startExecution();
    expect(summary.byStatus.completed).toBe(40);
    expect((await since()).handedBack).toBeGreaterThan(0);
    const runs = runsByTask(log);
    for (const id of ids) expect(runs.get(id), id).toBe(1);
    for (const r of summary.results) expect(r.attempts).toBe(1);
  });

  it('a batched task that times out loses its thread alone: its batch-mates queue again and complete', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `t${i}`);
    await engine.tasks.addTasks(
      ids.map((id, i) =>
        i === 1 ? spin(id, { log, ms: 60_000 }, { timeout: 0.3, maxRetries: 0 }) : spin(id, { log }),
      ),
    );
    const summary = await engine.tasks.startExecution();
    const byId = new Map(summary.results.map((r) => [r.taskId, r]));
    expect(byId.get('t1')?.status).toBe('timed_out');
    for (const id of ids) {
      if (id === 't1') continue;
      expect(byId.get(id), id).toMatchObject({ status: 'completed', attempts: 1 });
    }
    expect((await since()).threadLost).toBeGreaterThan(0);
    // At least once: a batch-mate that had finished before the thread was terminated may have run again.
    const runs = runsByTask(log);
    for (const id of ids) expect(runs.get(id) ?? 0, id).toBeGreaterThanOrEqual(1);
    for (const id of ids) expect(runs.get(id) ?? 0, id).toBeLessThanOrEqual(2);
  });

  it('a task that crashes its batch thread then runs alone and fails by itself; the others complete', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `c${i}`);
    await engine.tasks.addTasks(ids.map((id, i) => spin(id, { log, crash: i === 3 }, { maxRetries: 0 })));
    const summary = await engine.tasks.startExecution();
    const byId = new Map(summary.results.map((r) => [r.taskId, r]));
    expect(byId.get('c3')).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'WORKER_CRASHED' } });
    for (const id of ids) if (id !== 'c3') expect(byId.get(id), id).toMatchObject({ status: 'completed', attempts: 1 });
    expect((await since()).threadLost).toBeGreaterThan(0);
    // The crashing task ran twice: once in its batch, once alone.
    expect(runsByTask(log).get('c3')).toBe(2);
  });

  it('does not batch when the limit is set below the pool capacity (started tasks then never exceed it)', async () => {
    await engine.tasks.setConcurrency(1);
    const before = (await engine.tasks.stats()).batching.batches;
    await engine.tasks.addTasks(Array.from({ length: 50 }, (_, i) => spin(`s${i}`)));
    await engine.tasks.startExecution();
    expect((await engine.tasks.stats()).batching.batches).toBe(before);
  });
});
