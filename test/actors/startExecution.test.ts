import { afterEach, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { testEngine } from '../helpers.js';

describe('startExecution', () => {
  let engine: OrchestrationEngine;
  afterEach(() => engine.shutdown({ graceMs: 0 }));

  it('answers with every open task in the order it was added, while other callers wait on some of them', async () => {
    engine = testEngine({ threads: 2 });
    await engine.ready();
    const ids = Array.from({ length: 2000 }, (_, i) => `t${i}`);
    // Mixed outcomes; a dependency makes one task end skipped without ever running.
    await engine.tasks.addTasks([
      ...ids.map((id, i) =>
        i % 500 === 7
          ? { id, module: 'core', action: 'fail', parameters: { message: 'no' }, maxRetries: 0 }
          : { id, module: 'core', action: 'noop' },
      ),
      { id: 'skipped', module: 'core', action: 'noop', dependencies: ['t7'] },
    ]);
    // Waiters that came before: each still hears its own task (the lists startExecution shares are never mutated).
    const early = [engine.tasks.waitForTask('t3'), engine.tasks.waitForTask('t7'), engine.tasks.waitForTask('t3')];
    const reply = engine.tasks.startExecution();
    const late = engine.tasks.waitForTask('t1999');
    const summary = await reply;
    expect(summary.total).toBe(2001);
    expect(summary.results.map((r) => r.taskId)).toEqual([...ids, 'skipped']);
    expect(summary.byStatus).toEqual({ completed: 1996, failed: 4, skipped: 1 });
    const [a, b, c] = await Promise.all(early);
    expect([a?.taskId, a?.status, b?.taskId, b?.status, c?.taskId]).toEqual(['t3', 'completed', 't7', 'failed', 't3']);
    expect((await late).taskId).toBe('t1999');
    // Nothing open: answers at once with nothing.
    expect(await engine.tasks.startExecution()).toEqual({ total: 0, byStatus: {}, results: [] });
  });
});
