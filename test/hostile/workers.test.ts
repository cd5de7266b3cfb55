/**
 * Issue 16 item 12 (the worker half): a result that cannot be cloned back is the action's error (not "worker
 * crashed", not retried), and a module that throws at import inside workers, or never finishes loading there, fails
 * the engine's start with its own error instead of failing (or hanging) every task.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { ValidationError } from '../../src/errors.js';
import { LIMITS } from '../../src/model/limits.js';
import { inspectResult } from '../../src/model/results.js';
import { recordEvents, testEngine } from '../helpers.js';

const fixtures = (name: string): string => packagePath('dist', 'test', 'fixtures', name);

let engine: OrchestrationEngine;
beforeAll(async () => {
  engine = testEngine({ threads: 1, moduleDirs: [fixtures('hostileResults')] });
  await engine.ready();
});
afterAll(() => engine.shutdown());

describe('results that cannot be sent back', () => {
  it('a function result fails the task as the action error, once, and the thread lives on', async () => {
    const events = recordEvents(engine);
    const before = (await engine.healthCheck()).components['pool']?.detail;
    const r = await engine.tasks.executeTask({
      module: 'results',
      action: 'fn',
      maxRetries: 3,
      retry: { initialDelay: 0.001, maxDelay: 0.001 },
    });
    events.stop();
    expect(r).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: {
        code: 'NON_RETRYABLE',
        message:
          'results.fn returned a value it cannot: result: a function cannot be sent back from the worker thread (objects with methods neither); return plain data',
      },
    });
    expect(events.of('task_retrying')).toHaveLength(0);
    expect((await engine.healthCheck()).components['pool']?.detail).toMatch(/0 restarted/);
    expect(before).toMatch(/0 restarted/);
  });

  it('names where in the result the method is', async () => {
    const r = await engine.tasks.executeTask({ module: 'results', action: 'nestedFn', maxRetries: 0 });
    expect(r.error?.message).toContain('result.inner.run: a function cannot be sent back');
  });

  it('inspectResult sizes results (binary as base64) and walks cycles once', () => {
    const cyc: Record<string, unknown> = { a: 'xx' };
    cyc['me'] = cyc;
    expect(inspectResult(cyc).problem).toBeNull();
    const bin = inspectResult({ data: new Uint8Array(3000) });
    expect(bin.binary).toBe(true);
    expect(bin.bytes).toBeGreaterThan(4000);
    expect(inspectResult('x'.repeat(100), 50).problem).toMatch(/^result: larger than 50 bytes \(limit maxResultBytes/);
    // A deep result does not overflow the stack: it stops at the depth limit.
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(inspectResult(deep).problem).toBe(
      `result: nested deeper than ${LIMITS.maxResultDepth} levels (limit maxResultDepth); return flatter data`,
    );
    let fine: unknown = 1;
    for (let i = 0; i < LIMITS.maxResultDepth; i++) fine = { a: fine };
    expect(inspectResult(fine).problem).toBeNull();
  });
});

describe('results a thread cannot send back (issue 20: items 2 and 7)', () => {
  const fast = { initialDelay: 0.001, maxDelay: 0.001 };
  for (const depth of [2000, 100_000]) {
    it(`a result ${depth} levels deep fails once, non-retryable, naming the limit; the thread lives on`, async () => {
      const r = await engine.tasks.executeTask({
        module: 'results',
        action: 'deep',
        parameters: { depth },
        maxRetries: 3,
        retry: fast,
      });
      expect(r).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: {
          code: 'NON_RETRYABLE',
          message: `results.deep returned a value it cannot: result: nested deeper than ${LIMITS.maxResultDepth} levels (limit maxResultDepth); return flatter data`,
        },
      });
      expect((await engine.healthCheck()).components['pool']?.detail).toMatch(/0 restarted/);
      const ok = await engine.tasks.executeTask({ module: 'results', action: 'deep', parameters: { depth: 500 } });
      expect(ok.status).toBe('completed');
    });
  }

  it('a Proxy result is the action error, not a crashed worker', async () => {
    const r = await engine.tasks.executeTask({ module: 'results', action: 'proxy', maxRetries: 3, retry: fast });
    expect(r).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: {
        code: 'NON_RETRYABLE',
        message:
          'results.proxy returned a value it cannot: result: a Proxy cannot be sent back from the worker thread; return plain data',
      },
    });
  });

  it('a getter that throws in parameters is refused at submission, naming the field', async () => {
    const parameters = {
      ok: 1,
      nested: {
        get secret(): string {
          throw new Error('no access');
        },
      },
    };
    const err = await engine.tasks.executeTask({ module: 'core', action: 'echo', parameters }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain(
      'task.parameters.nested.secret: reading it threw (no access), so it cannot be stored; pass plain data',
    );
  });

  it('a thread whose reply was lost is replaced when its task times out: capacity is never lost', async () => {
    // One thread: two lost replies used to leave nothing able to run ("pool is saturated").
    const one = testEngine({ threads: 1, moduleDirs: [fixtures('hostileResults')] });
    try {
      await one.ready();
      for (let i = 0; i < 2; i++) {
        const r = await one.tasks.executeTask({
          module: 'results',
          action: 'shapeShifter',
          timeout: 0.2,
          maxRetries: 0,
        });
        expect(r.status).toBe('timed_out');
      }
      const after = await one.tasks.executeTask({
        module: 'core',
        action: 'echo',
        parameters: { value: 'still running' },
        timeout: 30,
      });
      expect(after).toMatchObject({ status: 'completed', result: 'still running' });
      expect((await one.healthCheck()).components['pool']?.detail).not.toMatch(/ 0 restarted/);
    } finally {
      await one.shutdown();
    }
  });
});

describe('modules that fail inside workers', () => {
  it('a module that throws at import in a worker fails the start with its own error', async () => {
    const e = testEngine({ threads: 1, moduleDirs: [fixtures('hostileImportThrows')] });
    const err = await e.ready().catch((x: unknown) => x);
    expect((err as Error).message).toMatch(
      /^moduleDirs: a worker thread could not load the modules: module file .*broken\.js: failed to load: broken module: the GPU driver is missing on this thread$/,
    );
    expect(e.state).toBe('failed');
    await e.shutdown();
  });

  it('a module that never finishes loading in a worker fails the start after workerBootTimeoutMs', async () => {
    const e = testEngine({ threads: 1, moduleDirs: [fixtures('hostileImportHangs')], workerBootTimeoutMs: 500 });
    const err = await e.ready().catch((x: unknown) => x);
    expect((err as Error).message).toBe(
      "moduleDirs: a worker thread could not load the modules: the worker threads did not finish loading their modules within 500 ms (option workerBootTimeoutMs); a module's top-level code never finishes inside a worker thread",
    );
    await e.shutdown();
  }, 20_000);
});
