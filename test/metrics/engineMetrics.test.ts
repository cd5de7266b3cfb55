import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { Task } from '../../src/index.js';
import { testEngine } from '../helpers.js';
import { parseExposition, pollUntil, sample } from './support.js';

async function samplesOf(engine: OrchestrationEngine): Promise<Map<string, number>> {
  return parseExposition(await engine.metrics!.expose());
}

describe('EngineMetrics', () => {
  describe('task families match the work done', () => {
    let engine: OrchestrationEngine;
    let samples: Map<string, number>;

    beforeAll(async () => {
      engine = testEngine({ threads: 2, metrics: { processMetrics: false } });
      const orch = engine.tasks;
      // Cancelled before dispatch starts: never runs, so no duration and no queue wait.
      const idle = await orch.addTask({ name: 'idle', module: 'core', action: 'noop' });
      await orch.cancelTask(idle);
      const parent = new Task({
        name: 'parent',
        module: 'core',
        action: 'fail',
        parameters: { retryable: false },
        maxRetries: 3,
      });
      const child = new Task({ name: 'child', module: 'core', action: 'noop', dependencies: [parent.id] });
      await orch.addTasks([parent, child]);
      await Promise.all([
        ...Array.from({ length: 5 }, (_, i) =>
          orch.executeTask({ name: `echo${i}`, module: 'core', action: 'echo', parameters: { value: i } }),
        ),
        ...Array.from({ length: 2 }, (_, i) =>
          orch.executeTask({
            name: `flaky${i}`,
            module: 'core',
            action: 'fail',
            maxRetries: 1,
            retry: { initialDelay: 0.001, jitter: 0 },
          }),
        ),
        orch.executeTask({
          name: 'slow',
          module: 'core',
          action: 'sleep',
          parameters: { ms: 60_000 },
          timeout: 0.3,
          maxRetries: 0,
        }),
        orch.startExecution(),
      ]);
      // Piscina replaces the timed-out task's terminated thread once the old one has exited.
      await pollUntil('the terminated thread to be replaced', () =>
        Promise.resolve(engine.pool.stats().threadsStarted >= 3 ? true : undefined),
      );
      samples = await samplesOf(engine);
    });
    afterAll(() => engine.shutdown());

    it('counts every ended task by module, action and final status', () => {
      const t = (action: string, status: string): number =>
        sample(samples, 'codomyrmex_tasks_total', { module: 'core', action, status });
      expect(t('echo', 'completed')).toBe(5);
      expect(t('fail', 'failed')).toBe(3);
      expect(t('sleep', 'timed_out')).toBe(1);
      expect(t('noop', 'skipped')).toBe(1);
      expect(t('noop', 'cancelled')).toBe(1);
      const total = [...samples]
        .filter(([k]) => k.startsWith('codomyrmex_tasks_total{'))
        .reduce((a, [, v]) => a + v, 0);
      expect(total).toBe(11);
    });

    it('counts failures by error code and retries by the code that caused them', () => {
      const f = (action: string, code: string): number =>
        sample(samples, 'codomyrmex_task_failures_total', { module: 'core', action, code });
      expect(f('fail', 'ACTION_FAILED')).toBe(2);
      expect(f('fail', 'NON_RETRYABLE')).toBe(1);
      expect(f('sleep', 'TASK_TIMEOUT')).toBe(1);
      expect(f('noop', 'DEPENDENCY_FAILED')).toBe(1);
      expect(f('noop', 'CANCELLED')).toBe(1);
      expect(
        sample(samples, 'codomyrmex_task_retries_total', { module: 'core', action: 'fail', code: 'ACTION_FAILED' }),
      ).toBe(2);
    });

    it('observes durations of tasks that ran, and the queue wait of every attempt', () => {
      const count = (action: string, status: string): number =>
        sample(samples, 'codomyrmex_task_duration_seconds_count', { module: 'core', action, status });
      expect(count('echo', 'completed')).toBe(5);
      expect(count('fail', 'failed')).toBe(3);
      expect(count('sleep', 'timed_out')).toBe(1);
      expect(count('noop', 'skipped')).toBe(0);
      expect(count('noop', 'cancelled')).toBe(0);
      // The timed-out task ran until its 0.3 s limit: above the 0.25 s bucket.
      expect(
        sample(samples, 'codomyrmex_task_duration_seconds_sum', {
          module: 'core',
          action: 'sleep',
          status: 'timed_out',
        }),
      ).toBeGreaterThan(0.25);
      expect(
        sample(samples, 'codomyrmex_task_duration_seconds_bucket', {
          module: 'core',
          action: 'sleep',
          status: 'timed_out',
          le: '0.25',
        }),
      ).toBe(0);
      expect(
        sample(samples, 'codomyrmex_task_duration_seconds_bucket', {
          module: 'core',
          action: 'sleep',
          status: 'timed_out',
          le: '+Inf',
        }),
      ).toBe(1);
      // Attempts started: 5 echo + 2 × 2 flaky + 1 parent + 1 slow.
      expect(sample(samples, 'codomyrmex_task_queue_wait_seconds_count', { priority: 'normal' })).toBe(11);
    });

    it('reads the pool, the queue and the bus at scrape time', () => {
      expect(sample(samples, 'codomyrmex_pool_capacity')).toBe(2);
      expect(
        sample(samples, 'codomyrmex_pool_threads', { state: 'busy' }) +
          sample(samples, 'codomyrmex_pool_threads', { state: 'idle' }),
      ).toBe(2);
      // The timed-out task's thread was terminated and replaced.
      expect(sample(samples, 'codomyrmex_pool_thread_restarts_total')).toBe(1);
      expect(sample(samples, 'codomyrmex_pool_threads_started_total')).toBe(3);
      for (const priority of ['critical', 'high', 'normal', 'low', 'background'])
        expect(samples.has(`codomyrmex_task_queue_depth{priority="${priority}"}`)).toBe(true);
      expect(sample(samples, 'codomyrmex_tasks_active', { status: 'running' })).toBe(0);
      expect(sample(samples, 'codomyrmex_bus_messages_total', { direction: 'out', kind: 'request' })).toBeGreaterThan(
        0,
      );
      expect(sample(samples, 'codomyrmex_bus_connected')).toBe(1);
      expect(sample(samples, 'codomyrmex_engine_state', { state: 'running' })).toBe(1);
    });

    it("times the store's group commits", () => {
      expect(sample(samples, 'codomyrmex_store_write_duration_seconds_count', { op: 'commit' })).toBeGreaterThan(0);
      // Every task was written at least once, in batches.
      expect(sample(samples, 'codomyrmex_store_write_batch_size_sum', { op: 'commit' })).toBeGreaterThanOrEqual(11);
      expect(sample(samples, 'codomyrmex_store_write_failures_total', { op: 'commit' })).toBe(0);
    });

    it('summarises performance per module.action from the same events', () => {
      const summary = engine.getPerformanceSummary({ module: 'core' });
      expect(Object.keys(summary.tasks)).toEqual(['core.echo', 'core.fail', 'core.noop', 'core.sleep']);
      expect(summary.tasks['core.echo']).toMatchObject({
        count: 5,
        succeeded: 5,
        successRate: 1,
        window: 5,
        byStatus: { completed: 5 },
      });
      expect(summary.tasks['core.fail']).toMatchObject({
        count: 3,
        succeeded: 0,
        successRate: 0,
        byStatus: { failed: 3 },
      });
      expect(summary.tasks['core.noop']).toMatchObject({
        count: 2,
        window: 0,
        p50Ms: null,
        byStatus: { skipped: 1, cancelled: 1 },
      });
      const echo = summary.tasks['core.echo']!;
      expect(echo.p50Ms!).toBeLessThanOrEqual(echo.p95Ms!);
      expect(echo.p95Ms!).toBeLessThanOrEqual(echo.p99Ms!);
      expect(echo.p99Ms!).toBeLessThanOrEqual(echo.maxMs!);
      expect(summary.tasks['core.sleep']!.p50Ms!).toBeGreaterThan(250);
      expect(engine.getPerformanceSummary({ module: 'core', action: 'echo' }).tasks).toEqual({ 'core.echo': echo });
      expect(engine.getPerformanceSummary({ workflow: 'none' })).toEqual({ tasks: {}, workflows: {} });
    });

    it('builds no task events when only the metrics listen (the scheduler feeds them directly)', () => {
      for (const type of [
        'task_added',
        'task_queued',
        'task_started',
        'task_completed',
        'task_failed',
        'task_retrying',
      ] as const) {
        expect(engine.bus.wants(type), type).toBe(false);
      }
      expect(engine.bus.wants('workflow_completed')).toBe(true);
    });
  });
});
