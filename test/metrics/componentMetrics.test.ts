import { spawnSync } from 'node:child_process';
import { register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { nextEvent, testEngine } from '../helpers.js';
import { declaredFamilies, hasBinary, parseExposition, sample } from './support.js';

async function samplesOf(engine: OrchestrationEngine): Promise<Map<string, number>> {
  return parseExposition(await engine.metrics!.expose());
}

describe('EngineMetrics beyond tasks', () => {
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
