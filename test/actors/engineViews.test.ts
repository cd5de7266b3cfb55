import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { Task } from '../../src/index.js';
import { nextEvent, testEngine } from '../helpers.js';

describe('engine views', () => {
  let engine: OrchestrationEngine;
  beforeAll(async () => {
    engine = testEngine({ threads: 2, metrics: { processMetrics: false } });
    await engine.ready();
  });
  afterAll(() => engine.shutdown({ graceMs: 0 }));

  it('getSystemStatus reports uptime, state, tasks, queue, pool, bus, store and placeholder sections', async () => {
    await engine.tasks.executeTask({ module: 'core', action: 'echo', parameters: { value: 1 } });
    const status = await engine.getSystemStatus();
    expect(status).toMatchObject({
      engineId: engine.id,
      state: 'running',
      queueDepth: 0,
      runsInFlight: 0,
      tasks: { executing: true, running: 0, limit: 2, queued: 0, byStatus: { completed: 1 } },
      pool: { threads: 2, busyThreads: 0, capacity: 2, running: 0, utilization: 0, restarts: 0, destroyed: false },
      bus: { kind: 'memory', connected: true },
      store: { kind: 'memory', writable: true, error: null },
      workflows: { registered: 0, runsInFlight: 0 },
      sessions: { active: 0, byMode: {} },
      resources: {
        activeHolds: 0,
        resources: [
          { resource: 'cpu', type: 'cpu', unit: 'cores', allocated: 0 },
          { resource: 'memory', type: 'memory', unit: 'bytes', allocated: 0 },
        ],
      },
      projects: {},
      http: null,
    });
    expect(status.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(status.startedAt)).toBeLessThanOrEqual(Date.parse(status.timestamp));
  });

  it('getSystemStatus shows the queue and busy threads while work waits', async () => {
    await engine.tasks.setConcurrency(1);
    const started = nextEvent(engine, (e) => e.type === 'task_started');
    const busy = new Task({ name: 'busy', module: 'core', action: 'sleep', parameters: { ms: 60_000 } });
    const waiting = new Task({ name: 'waiting', module: 'core', action: 'noop', priority: 'high' });
    const done = Promise.all([engine.tasks.executeTask(busy), engine.tasks.executeTask(waiting)]);
    await started;
    const status = await engine.getSystemStatus();
    expect(status.queueDepth).toBe(1);
    expect(status.tasks?.queuedByPriority.high).toBe(1);
    expect(status.pool).toMatchObject({ running: 1, busyThreads: 1, utilization: 0.5 });
    const metrics = await engine.getMetrics();
    expect(metrics.tasks).toMatchObject({ running: 1, queued: 1 });
    await engine.tasks.cancelTask(busy.id);
    await engine.tasks.setConcurrency(2);
    const [a, b] = await done;
    expect([a.status, b.status]).toEqual(['cancelled', 'completed']);
  });

  it("getMetrics has the seed's sections: sessions.total, workflows, tasks, resources, projects", async () => {
    const metrics = await engine.getMetrics();
    expect(Object.keys(metrics)).toEqual(['timestamp', 'sessions', 'workflows', 'tasks', 'resources', 'projects']);
    expect(metrics.sessions.total).toBe(0);
    expect(metrics.workflows).toMatchObject({ registered: 0, runs: 0, runsInFlight: 0 });
    expect(metrics.tasks).toMatchObject({
      total: 3,
      byStatus: { completed: 2, cancelled: 1 },
      failuresByCode: { CANCELLED: 1 },
    });
    // The host's CPU and memory are registered at start.
    expect(metrics.resources).toEqual({
      total: 2,
      activeHolds: 0,
      allocations: 0,
      expiries: 0,
      utilization: { 'cpu.cores': 0, 'memory.bytes': 0 },
    });
    expect(metrics.projects).toEqual({
      total: 0,
      byStatus: { active: 0, archived: 0 },
      milestones: { total: 0, completed: 0 },
      runsInFlight: 0,
    });
  });

  it('merges what a component registers into the status and metrics sections, and adds new ones', async () => {
    const remove = engine.registerComponentView('projects', {
      status: () => ({ total: 2, byStatus: { active: 1, archived: 1 } }),
      metrics: () => Promise.resolve({ total: 2, milestonesCompleted: 5 }),
    });
    const removeNats = engine.registerComponentView('nats', { status: () => ({ connected: false }) });
    const removeBroken = engine.registerComponentView('sessions', {
      metrics: () => {
        throw new Error('session table unreadable');
      },
    });
    const status = await engine.getSystemStatus();
    expect(status.projects).toEqual({ total: 2, byStatus: { active: 1, archived: 1 } });
    expect(status['nats']).toEqual({ connected: false });
    const metrics = await engine.getMetrics();
    expect(metrics.projects).toEqual({ total: 2, milestonesCompleted: 5 });
    expect(metrics.sessions).toMatchObject({ total: 0, error: 'session table unreadable' });
    remove();
    removeNats();
    removeBroken();
    expect((await engine.getSystemStatus())['nats']).toBeUndefined();
    expect((await engine.getMetrics()).projects).toEqual({ total: 0 });
  });
});
