/**
 * Sessions, resources added at run time and holds of users and sessions survive a restart on a SQLite file;
 * a hold whose TTL ran out while the engine was down is released as expired.
 */
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BusEvent, EngineOptions } from '../../src/index.js';
import { createOrchestrationEngine, OrchestrationEngine } from '../../src/index.js';
import { FakeClock } from '../support/fakeClock.js';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
const engines: OrchestrationEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.shutdown({ graceMs: 0 })));
});
afterAll(() => dirs.cleanup());

function engineOn(dbPath: string, clock?: FakeClock): { engine: OrchestrationEngine; events: BusEvent[] } {
  const options: EngineOptions = { store: 'sqlite', dbPath, threads: 1, workflowDirs: [] };
  const engine = clock ? new OrchestrationEngine(options, {}, { clock }) : createOrchestrationEngine(options);
  engines.push(engine);
  const events: BusEvent[] = [];
  engine.bus.events$().subscribe((e) => events.push(e));
  return { engine, events };
}

describe('sessions and resources across a restart', () => {
  it('brings back resources, holds and open sessions; releases holds that expired meanwhile', async () => {
    const db = join(dirs.make('sessions'), 'state.db');
    // The holds' clock: time moves only when the test says, so a TTL runs out at a known instant.
    const clock = new FakeClock(Date.now());
    const a = engineOn(db, clock).engine;
    await a.resources.addResource({ id: 'gpu', type: 'gpu', capacity: { units: 2 } });
    await a.resources.allocateResources('alice', { gpu: { units: 1 } });
    const brief = await a.resources.allocateResources('bob', { cpu: { cores: 1 } }, { ttlSeconds: 0.2 });
    const sessionId = await a.createSession({
      userId: 'carol',
      mode: 'sequential',
      maxParallelWorkflows: 1,
      resourceRequirements: { gpu: { units: 1 } },
    });
    await a.shutdown();
    // Bob's hold runs out while no engine is up.
    clock.advance(brief.expiresAt! - clock.now() + 1);

    const { engine: b, events } = engineOn(db, clock);
    await b.ready();
    const gpu = (await b.resources.getUsage()).find((u) => u.id === 'gpu');
    expect(gpu).toMatchObject({ capacity: 2, allocated: 2 });
    expect(gpu?.holders.map((h) => h.holderId).sort()).toEqual(['alice', `session:${sessionId}`]);
    expect(await b.resources.getAllocations('bob')).toEqual([]);
    expect(events.some((e) => e.type === 'resource_expired' && e.data.holderId === 'bob')).toBe(true);
    expect(await b.getSession(sessionId)).toMatchObject({ status: 'active', mode: 'sequential', userId: 'carol' });

    // Its lane is open again: tasks may name it, and closing it releases its hold.
    const r = await b.tasks.executeTask({
      module: 'core',
      action: 'echo',
      parameters: { value: 'in session' },
      sessionId,
    });
    expect(r.result).toBe('in session');
    await b.closeSession(sessionId);
    expect((await b.resources.getUsage()).find((u) => u.id === 'gpu')?.allocated).toBe(1);
    await b.shutdown();

    const c = engineOn(db).engine;
    await c.ready();
    expect(await c.getSession(sessionId)).toMatchObject({ status: 'closed' });
    await expect(c.tasks.addTask({ module: 'core', action: 'noop', sessionId })).rejects.toThrow(/no open session/);
    expect((await c.resources.getAllocations()).map((x) => x.holderId)).toEqual(['alice']);
  });
});
