import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkStore } from '../../src/actors/engine/health.js';
import type { OrchestrationEngine, SchedulerStats, TaskResult } from '../../src/index.js';
import { assessQueue, MemoryStore } from '../../src/index.js';
import { nextEvent, testEngine } from '../helpers.js';

const COMPONENTS = ['engine', 'pool', 'store', 'bus', 'queue'];

function stats(over: Partial<SchedulerStats>): SchedulerStats {
  return {
    executing: true,
    running: 0,
    dispatches: 0,
    limit: 2,
    batching: { batches: 0, tasks: 0, handedBack: 0, threadLost: 0 },
    queued: 0,
    queuedByPriority: { critical: 0, high: 0, normal: 0, low: 0, background: 0 },
    byStatus: {},
    oldestReadyAgeMs: null,
    flow: { waitingByRule: {}, rateLimitWaits: {}, deduplicated: 0 },
    ...over,
  };
}

describe('engine.healthCheck', () => {
  let engine: OrchestrationEngine | undefined;
  afterEach(async () => {
    await engine?.shutdown({ graceMs: 0 });
    engine = undefined;
  });

  it('is healthy when every component answers for real', async () => {
    engine = testEngine();
    await engine.ready();
    await engine.tasks.executeTask({ module: 'core', action: 'noop' });
    const health = await engine.healthCheck();
    expect(health.overallStatus).toBe('healthy');
    expect(Object.keys(health.components)).toEqual(COMPONENTS);
    expect(health.issues).toEqual([]);
    expect(health.components['pool']!.detail).toMatch(/^a probe task answered in [\d.]+ ms; 2 threads, 0 restarted$/);
    expect(health.components['store']!.detail).toBe('the memory store takes writes');
    expect(health.components['queue']!.detail).toBe('the queue is empty; 0 of 2 running');
    expect(new Date(health.timestamp).toISOString()).toBe(health.timestamp);
  });

  it('is unhealthy when the pool is destroyed', async () => {
    engine = testEngine();
    await engine.ready();
    await engine.pool.destroy();
    const health = await engine.healthCheck();
    expect(health.overallStatus).toBe('unhealthy');
    expect(health.components['pool']).toMatchObject({
      status: 'unhealthy',
      detail: 'the worker pool is destroyed: no task can run',
    });
    expect(health.components['store']!.status).toBe('healthy');
    expect(health.issues).toEqual(['pool: the worker pool is destroyed: no task can run']);
  });

  it('is unhealthy when the store refuses writes, and counts the failed commits', async () => {
    engine = testEngine();
    await engine.ready();
    engine.store.close();
    const health = await engine.healthCheck();
    expect(health.overallStatus).toBe('unhealthy');
    expect(health.components['store']).toMatchObject({
      status: 'unhealthy',
      detail: 'the memory store refuses writes: the store is closed',
    });
    expect(health.issues).toEqual(['store: the memory store refuses writes: the store is closed']);
    // The next change's commit fails: the metrics count it and the committer holds the fault.
    const failed = nextEvent(engine, (e) => e.type === 'store_failed');
    await engine.tasks.executeTask({ module: 'core', action: 'noop' });
    await failed;
    const failures = await engine.metrics!.families.storeWriteFailures.get();
    expect(failures.values.find((v) => v.labels['op'] === 'commit')?.value).toBeGreaterThan(0);
    expect((await engine.getSystemStatus()).store).toEqual({
      kind: 'memory',
      writable: false,
      error: 'the memory store refuses writes: the store is closed',
    });
  });

  it('checks a real SQLite store: a heartbeat write while open, unhealthy once closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-health-'));
    try {
      engine = testEngine({ store: 'sqlite', dbPath: join(dir, 'state.db') });
      await engine.ready();
      expect((await engine.healthCheck()).components['store']).toMatchObject({
        status: 'healthy',
        detail: 'the sqlite store takes writes',
      });
      engine.store.close();
      const health = await engine.healthCheck();
      expect(health.overallStatus).toBe('unhealthy');
      expect(health.components['store']!.status).toBe('unhealthy');
      expect(health.components['store']!.detail).toMatch(/^the sqlite store refuses writes: .*state\.db is closed$/);
    } finally {
      await engine?.shutdown({ graceMs: 0 }).catch(() => undefined);
      engine = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("calls a store unhealthy while the group committer's commits fail, even if a heartbeat gets through", () => {
    const store = new MemoryStore();
    expect(checkStore(store, null)).toEqual({ status: 'healthy', detail: 'the memory store takes writes' });
    expect(checkStore(store, new Error('disk I/O error'))).toEqual({
      status: 'unhealthy',
      detail: 'the memory store fails commits (retrying): disk I/O error',
    });
  });

  it('is unhealthy when the bus is closed: no command reaches the task orchestrator', async () => {
    engine = testEngine();
    await engine.ready();
    await engine.bus.close();
    const health = await engine.healthCheck();
    expect(health.overallStatus).toBe('unhealthy');
    expect(health.components['bus']).toMatchObject({
      status: 'unhealthy',
      detail: 'the memory bus is closed: no command or event gets through',
    });
    expect(health.components['queue']).toMatchObject({
      status: 'unhealthy',
      detail: 'the task orchestrator did not answer: the bus is closed',
    });
    expect(health.components['pool']!.status).toBe('healthy');
  });

  /** A one-thread engine (health probes time out after 100 ms) whose thread runs a 60 s sleep, once it started. */
  async function busyEngine(): Promise<{ busy: OrchestrationEngine; taskId: string; running: Promise<TaskResult> }> {
    const busy = testEngine({ threads: 1, health: { probeTimeoutMs: 100 } });
    engine = busy;
    await busy.ready();
    const started = nextEvent(busy, (e) => e.type === 'task_started');
    const running = busy.tasks.executeTask({
      name: 'busy',
      module: 'core',
      action: 'sleep',
      parameters: { ms: 60_000 },
    });
    const { data } = (await started) as { data: { taskId: string } };
    return { busy, taskId: data.taskId, running };
  }

  it('is degraded when the pool is saturated: the probe waits behind real work', async () => {
    const { busy, taskId, running } = await busyEngine();
    const health = await busy.healthCheck();
    expect(health.overallStatus).toBe('degraded');
    expect(health.components['pool']).toMatchObject({
      status: 'degraded',
      detail: 'a probe task waited over 100 ms behind 1 running tasks: the pool is saturated',
    });
    expect(health.components['queue']).toMatchObject({
      status: 'healthy',
      detail: 'the queue is empty; 1 of 1 running',
    });
    await busy.tasks.cancelTask(taskId);
    expect((await running).status).toBe('cancelled');
  });

  it('is degraded while draining and unhealthy once stopped', async () => {
    const { busy, taskId, running } = await busyEngine();
    const stopping = busy.shutdown({ graceMs: 60_000 });
    const draining = await busy.healthCheck();
    expect(draining.components['engine']).toMatchObject({
      status: 'degraded',
      detail: 'draining: new work is refused while running tasks finish',
    });
    await busy.tasks.cancelTask(taskId);
    await running;
    await stopping;
    const stopped = await busy.healthCheck();
    expect(stopped.overallStatus).toBe('unhealthy');
    expect(stopped.components['engine']).toMatchObject({ status: 'unhealthy', detail: 'stopped' });
    expect(stopped.issues.map((i) => i.slice(0, i.indexOf(':')))).toEqual(COMPONENTS);
  });

  it('runs the checks components register, and counts a throwing or hanging one as unhealthy', async () => {
    engine = testEngine({ health: { probeTimeoutMs: 200 } });
    await engine.ready();
    const removeOk = engine.registerComponentView('sessions', {
      health: () => ({ status: 'healthy', detail: '0 open' }),
    });
    engine.registerComponentView('resources', {
      health: () => {
        throw new Error('capacity table unreadable');
      },
    });
    engine.registerComponentView('projects', { health: () => new Promise(() => {}) });
    const health = await engine.healthCheck();
    expect(health.components['sessions']).toMatchObject({ status: 'healthy', detail: '0 open' });
    expect(health.components['resources']).toMatchObject({
      status: 'unhealthy',
      detail: 'the check failed: capacity table unreadable',
    });
    expect(health.components['projects']).toMatchObject({
      status: 'unhealthy',
      detail: 'the check failed: no answer within 200 ms',
    });
    expect(health.overallStatus).toBe('unhealthy');
    removeOk();
    expect(Object.keys((await engine.healthCheck()).components)).not.toContain('sessions');
  });
});

describe('assessQueue', () => {
  const options = { stuckMs: 60_000, poolCapacity: 2 };

  it('calls a queue stuck when its oldest ready task is older than the threshold while nothing runs', () => {
    const stuck = assessQueue(stats({ queued: 3, running: 0, oldestReadyAgeMs: 90_000 }), options);
    expect(stuck).toEqual({
      status: 'degraded',
      detail:
        'the queue is stuck: the oldest ready task has waited 90.0 s (over 60000 ms) while nothing runs and 2 slots are free',
    });
  });

  it('does not call waiting stuck while work runs (lane limits, sequential sessions), dispatch is off, or the wait is short', () => {
    expect(assessQueue(stats({ queued: 3, running: 2, oldestReadyAgeMs: 90_000 }), options).status).toBe('healthy');
    // A sequential session runs one task at a time while a thread idles: waiting, not stuck.
    expect(assessQueue(stats({ queued: 3, running: 1, oldestReadyAgeMs: 90_000 }), options)).toEqual({
      status: 'healthy',
      detail: '3 queued, 1 of 2 running; the oldest ready task has waited 90.0 s',
    });
    expect(assessQueue(stats({ queued: 3, executing: false, oldestReadyAgeMs: 90_000 }), options)).toEqual({
      status: 'healthy',
      detail: '3 ready tasks wait for startExecution() (dispatch is off); the oldest ready task has waited 90.0 s',
    });
    expect(assessQueue(stats({ queued: 3, running: 0, oldestReadyAgeMs: 1000 }), options).status).toBe('healthy');
    // Tasks parked for resource holds count as queued but have no ready age.
    expect(assessQueue(stats({ queued: 2, running: 0, oldestReadyAgeMs: null }), options).status).toBe('healthy');
  });
});
