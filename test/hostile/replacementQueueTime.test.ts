/**
 * Issue 20 item 10: the time an attempt waits for a replacement thread (its predecessor was terminated by a timeout
 * and the new one is still loading its modules) is queue time: the attempt's timeout counts only from when a thread
 * takes it. Real threads; the fixture module makes every thread take 800 ms to load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { testEngine } from '../helpers.js';

let engine: OrchestrationEngine;
beforeAll(async () => {
  engine = testEngine({
    threads: 1,
    moduleDirs: [packagePath('dist', 'test', 'fixtures', 'slowBoot')],
    workerBootTimeoutMs: 30_000,
  });
  await engine.ready();
}, 60_000);
afterAll(() => engine.shutdown({ graceMs: 0 }));

describe('a timeout while a thread is being replaced', () => {
  it('does not count the wait for the new thread: a 20 ms task with a 300 ms timeout completes after an 800 ms boot', async () => {
    const started = engine.pool.stats().threadsStarted;
    // One thread: the hung task holds it until its timeout terminates it; the next task then waits for the
    // replacement, which takes 800 ms to load (longer than the next task's whole timeout).
    const hung = engine.tasks.executeTask({
      module: 'core',
      action: 'hang',
      parameters: { ms: 60_000 },
      timeout: 0.1,
      maxRetries: 0,
    });
    const next = engine.tasks.executeTask({
      module: 'core',
      action: 'sleep',
      parameters: { ms: 20, value: 'done' },
      timeout: 0.3,
      maxRetries: 0,
    });
    expect(await hung).toMatchObject({ status: 'timed_out' });
    const r = await next;
    expect(r).toMatchObject({ status: 'completed', result: 'done', attempts: 1 });
    expect(engine.pool.stats().threadsStarted).toBeGreaterThan(started);
    // The time it waited is in its duration, measured from when it was dispatched: at least the new thread's boot.
    expect(r.durationMs).toBeGreaterThanOrEqual(800);
  }, 60_000);

  it('still times out an attempt that runs past its timeout on the new thread', async () => {
    const r = await engine.tasks.executeTask({
      module: 'core',
      action: 'hang',
      parameters: { ms: 60_000 },
      timeout: 0.2,
      maxRetries: 0,
    });
    expect(r).toMatchObject({ status: 'timed_out' });
    expect(r.error?.message).toMatch(/timed out after 0.2s/);
  }, 60_000);
});
