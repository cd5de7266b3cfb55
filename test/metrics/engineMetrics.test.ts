import { spawnSync } from 'node:child_process';
import { register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { Task } from '../../src/index.js';
import { nextEvent, testEngine } from '../helpers.js';
import { declaredFamilies, hasBinary, parseExposition, pollUntil, sample } from './support.js';

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

  describe('workflow, session, resource and handler families', () => {
    let engine: OrchestrationEngine;
    beforeAll(() => {
      engine = testEngine({ metrics: { processMetrics: false } });
    });
    afterAll(() => engine.shutdown());

    it('counts workflow runs by status and step outcomes', async () => {
      const wf = engine.workflows;
      await wf.createWorkflow('etl', [
        { name: 'extract', module: 'core', action: 'echo', parameters: { value: 1 } },
        { name: 'load', module: 'core', action: 'fail', parameters: { retryable: false }, dependencies: ['extract'] },
        { name: 'report', module: 'core', action: 'noop', dependencies: ['load'] },
      ]);
      await wf.createWorkflow('hello', [{ name: 'say', module: 'core', action: 'echo', parameters: { value: 'hi' } }]);
      const failed = await wf.executeWorkflow('etl');
      expect(failed.status).toBe('failed');
      await wf.executeWorkflow('hello');
      await wf.executeWorkflow('hello');
      const s = await samplesOf(engine);
      expect(sample(s, 'codomyrmex_workflow_runs_total', { workflow: 'etl', status: 'failed' })).toBe(1);
      expect(sample(s, 'codomyrmex_workflow_runs_total', { workflow: 'hello', status: 'succeeded' })).toBe(2);
      expect(
        sample(s, 'codomyrmex_workflow_run_duration_seconds_count', { workflow: 'hello', status: 'succeeded' }),
      ).toBe(2);
      expect(sample(s, 'codomyrmex_workflow_runs_active', { workflow: 'hello' })).toBe(0);
      expect(
        sample(s, 'codomyrmex_workflow_steps_total', {
          workflow: 'etl',
          module: 'core',
          action: 'echo',
          status: 'completed',
        }),
      ).toBe(1);
      expect(
        sample(s, 'codomyrmex_workflow_steps_total', {
          workflow: 'etl',
          module: 'core',
          action: 'fail',
          status: 'failed',
        }),
      ).toBe(1);
      expect(
        sample(s, 'codomyrmex_workflow_steps_total', {
          workflow: 'etl',
          module: 'core',
          action: 'noop',
          status: 'skipped',
        }),
      ).toBe(1);
      const perf = engine.getPerformanceSummary({ workflow: 'hello' });
      expect(perf.tasks).toEqual({});
      expect(perf.workflows['hello']).toMatchObject({ count: 2, succeeded: 2, successRate: 1, window: 2 });
      const m = await engine.getMetrics();
      expect(m.workflows).toMatchObject({
        registered: 2,
        runs: 3,
        runsInFlight: 0,
        byStatus: { failed: 1, succeeded: 2 },
      });
    });

    it('tracks sessions and resource holds from their events, once each', async () => {
      const bus = engine.bus;
      bus.publish('session_created', { sessionId: 's1', userId: 'u1', mode: 'parallel' });
      bus.publish('session_created', { sessionId: 's2', userId: 'u1', mode: 'parallel' });
      bus.publish('session_created', { sessionId: 's3', userId: 'u2', mode: 'resource_aware' });
      bus.publish('session_closed', { sessionId: 's1', userId: 'u1', reason: 'closed' });
      bus.publish('session_closed', { sessionId: 's1', userId: 'u1', reason: 'closed' }); // a repeat changes nothing
      bus.publish('resource_allocated', {
        holderId: 'u1',
        allocationId: 'a1',
        resources: { cpu: { cores: 2 }, memory: { bytes: 4e9 } },
      });
      bus.publish('resource_allocated', { holderId: 'u2', allocationId: 'a2', resources: { gpu0: { units: 1 } } });
      bus.publish('resource_expired', { holderId: 'u2', allocationId: 'a2', resourceIds: ['gpu0'] });
      bus.publish('resource_released', {
        holderId: 'u2',
        allocationId: 'a2',
        resourceIds: ['gpu0'],
        reason: 'expired',
      });
      const s = await samplesOf(engine);
      expect(sample(s, 'codomyrmex_sessions_active', { mode: 'parallel' })).toBe(1);
      expect(sample(s, 'codomyrmex_sessions_active', { mode: 'resource_aware' })).toBe(1);
      expect(sample(s, 'codomyrmex_sessions_created_total', { mode: 'parallel' })).toBe(2);
      expect(sample(s, 'codomyrmex_sessions_closed_total', { mode: 'parallel' })).toBe(1);
      expect(sample(s, 'codomyrmex_resource_holds_active', { resource: 'cpu' })).toBe(1);
      expect(sample(s, 'codomyrmex_resource_holds_active', { resource: 'gpu0' })).toBe(0);
      expect(sample(s, 'codomyrmex_resource_allocations_total', { resource: 'memory' })).toBe(1);
      expect(sample(s, 'codomyrmex_resource_hold_expiries_total', { resource: 'gpu0' })).toBe(1);
      const m = await engine.getMetrics();
      expect(m.sessions).toMatchObject({ total: 3, active: 2, closed: 1, byMode: { parallel: 1, resource_aware: 1 } });
      expect(m.resources).toMatchObject({ activeHolds: 1, allocations: 3, expiries: 1 });
    });

    it('exports what a resource source reports at scrape time', async () => {
      const remove = engine.metrics!.setResourceSource(() => [
        { resource: 'cpu', type: 'cpu', unit: 'cores', capacity: 8, allocated: 2 },
        { resource: 'memory', type: 'memory', unit: 'bytes', capacity: 16e9, allocated: 4e9 },
      ]);
      const s = await samplesOf(engine);
      expect(sample(s, 'codomyrmex_resource_capacity', { resource: 'cpu', type: 'cpu', unit: 'cores' })).toBe(8);
      expect(sample(s, 'codomyrmex_resource_allocated', { resource: 'memory', type: 'memory', unit: 'bytes' })).toBe(
        4e9,
      );
      expect(sample(s, 'codomyrmex_resource_utilization_ratio', { resource: 'cpu', type: 'cpu', unit: 'cores' })).toBe(
        0.25,
      );
      const m = await engine.getMetrics();
      expect(m.resources).toMatchObject({ total: 2, utilization: { 'cpu.cores': 0.25, 'memory.bytes': 0.25 } });
      remove();
      const after = await samplesOf(engine);
      expect(after.has('codomyrmex_resource_capacity{resource="cpu",type="cpu",unit="cores"}')).toBe(false);
    });

    it('counts event handlers that throw, by event', async () => {
      const off = engine.registerEventHandler('task_completed', () => {
        throw new Error('handler bug');
      });
      const reported = nextEvent(engine, (e) => e.type === 'handler_error');
      await engine.tasks.executeTask({ module: 'core', action: 'noop' });
      await reported;
      off();
      expect(
        sample(await samplesOf(engine), 'codomyrmex_event_handler_errors_total', { event: 'task_completed' }),
      ).toBe(1);
    });
  });

  describe('with the real managers', () => {
    it('follows the real session and resource managers', async () => {
      const engine = testEngine({ threads: 1, metrics: { processMetrics: false } });
      try {
        const sessionId = await engine.createSession({ userId: 'analyst', mode: 'sequential' });
        await engine.getResourceManager().allocateResources('analyst', { cpu: { cores: 1 } });
        let s = await samplesOf(engine);
        expect(sample(s, 'codomyrmex_sessions_active', { mode: 'sequential' })).toBe(1);
        expect(sample(s, 'codomyrmex_resource_holds_active', { resource: 'cpu' })).toBe(1);
        expect(sample(s, 'codomyrmex_resource_allocated', { resource: 'cpu', type: 'cpu', unit: 'cores' })).toBe(1);
        await engine.getResourceManager().deallocateResources('analyst');
        await engine.closeSession(sessionId);
        s = await samplesOf(engine);
        expect(sample(s, 'codomyrmex_sessions_active', { mode: 'sequential' })).toBe(0);
        expect(sample(s, 'codomyrmex_sessions_closed_total', { mode: 'sequential' })).toBe(1);
        expect(sample(s, 'codomyrmex_resource_holds_active', { resource: 'cpu' })).toBe(0);
        expect(sample(s, 'codomyrmex_resource_allocated', { resource: 'cpu', type: 'cpu', unit: 'cores' })).toBe(0);
      } finally {
        await engine.shutdown();
      }
    });
  });

  describe('registries', () => {
    it('gives every engine its own registry and leaves the global one alone', async () => {
      const a = testEngine({ threads: 1, metrics: { processMetrics: false } });
      const b = testEngine({ threads: 1, metrics: { processMetrics: false } });
      try {
        await a.tasks.executeTask({ module: 'core', action: 'noop' });
        expect(a.metrics!.registry).not.toBe(b.metrics!.registry);
        expect(
          sample(await samplesOf(a), 'codomyrmex_tasks_total', { module: 'core', action: 'noop', status: 'completed' }),
        ).toBe(1);
        expect(
          sample(await samplesOf(b), 'codomyrmex_tasks_total', { module: 'core', action: 'noop', status: 'completed' }),
        ).toBe(0);
        expect(globalRegistry.getMetricsAsArray().filter((m) => m.name.startsWith('codomyrmex_'))).toEqual([]);
      } finally {
        await Promise.all([a.shutdown(), b.shutdown()]);
      }
    });

    it('adds the default process metrics on first exposition, unless turned off', async () => {
      const a = testEngine({ threads: 1 });
      const b = testEngine({ threads: 1, metrics: { processMetrics: false } });
      try {
        expect(a.metrics!.registry.getSingleMetric('process_cpu_user_seconds_total')).toBeUndefined();
        expect(declaredFamilies(await a.metrics!.expose()).get('process_cpu_user_seconds_total')).toBe('counter');
        expect(declaredFamilies(await b.metrics!.expose()).has('process_cpu_user_seconds_total')).toBe(false);
      } finally {
        await Promise.all([a.shutdown(), b.shutdown()]);
      }
    });

    it('records nothing when metrics are turned off', async () => {
      const engine = testEngine({ threads: 1, metrics: { enabled: false } });
      try {
        await engine.tasks.executeTask({ module: 'core', action: 'noop' });
        expect(engine.metrics).toBeNull();
        expect(engine.getPerformanceSummary()).toEqual({ tasks: {}, workflows: {} });
        expect((await engine.getMetrics()).tasks).toMatchObject({ total: 1, byStatus: { completed: 1 } });
      } finally {
        await engine.shutdown();
      }
    });
  });

  describe('promtool check metrics', () => {
    const promtool = hasBinary('promtool');

    it.skipIf(!promtool)(
      'accepts the real exposition: no parse error, and no lint on codomyrmex_ families',
      async () => {
        const engine = testEngine({ threads: 1 });
        try {
          await engine.workflows.createWorkflow('lint', [
            { name: 'a', module: 'core', action: 'echo', parameters: { value: 1 } },
          ]);
          await engine.workflows.executeWorkflow('lint');
          await engine.tasks.executeTask({
            module: 'core',
            action: 'fail',
            maxRetries: 1,
            retry: { initialDelay: 0.001 },
          });
          engine.bus.publish('session_created', { sessionId: 's', userId: 'u', mode: 'priority' });
          engine.bus.publish('resource_allocated', {
            holderId: 'u',
            allocationId: 'x',
            resources: { cpu: { cores: 1 } },
          });
          engine.metrics!.setResourceSource(() => [
            { resource: 'cpu', type: 'cpu', unit: 'cores', capacity: 2, allocated: 1 },
          ]);
          const text = await engine.metrics!.expose();
          const full = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
          // Exit 1 is a parse error; exit 3 is a lint, allowed only for prom-client's own default gauges (TOOLING_NOTES.md).
          expect(full.status === 0 || full.status === 3, full.stderr + full.stdout).toBe(true);
          const lints = `${full.stdout}${full.stderr}`.split('\n').filter(Boolean);
          expect(lints.filter((l) => l.startsWith('codomyrmex_'))).toEqual([]);

          const ours = text
            .split('\n')
            .filter((l) => /^(# (HELP|TYPE) )?codomyrmex_/.test(l))
            .join('\n');
          const own = spawnSync('promtool', ['check', 'metrics'], { input: `${ours}\n`, encoding: 'utf8' });
          expect(own.status, own.stderr + own.stdout).toBe(0);
          // Every family is declared, even those whose publishers have not reported yet.
          const m = engine.metrics!;
          const names = [
            ...Object.values(m.families),
            m.schedules.scheduleRuns,
            m.schedules.scheduleLag,
            m.schedules.triggerRuns,
          ].map((f) => (f as unknown as { name: string }).name);
          expect([...declaredFamilies(ours).keys()].sort()).toEqual(names.sort());
        } finally {
          await engine.shutdown();
        }
      },
    );

    if (!promtool) it.skip('skipped: promtool is not on PATH (apt-get install prometheus; .ci/run does)', () => {});
  });
});
