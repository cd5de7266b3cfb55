import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceLedger, busLedgerEvents } from '../../src/actors/resources/ledger.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { resourceUsageFromLedger } from '../../src/index.js';
import { nextEvent, testEngine } from '../helpers.js';
import { parseExposition, sample } from './support.js';

describe('resource families fed by a real ResourceLedger', () => {
  let engine: OrchestrationEngine;
  let ledger: ResourceLedger;
  beforeAll(() => {
    engine = testEngine({ threads: 1, metrics: { processMetrics: false } });
    // Announces on the engine's bus what the resource manager announces (the same events).
    ledger = new ResourceLedger(busLedgerEvents(engine.bus));
    ledger.add({ id: 'cpu', type: 'cpu', capacity: { cores: 4 } });
    ledger.add({ id: 'memory', type: 'memory', capacity: { gb: 8 } });
    ledger.add({ id: 'gpu0', type: 'gpu', capacity: { units: 1 } });
    engine.metrics!.setResourceSource(() => resourceUsageFromLedger(ledger.usage()));
  });
  afterAll(async () => {
    ledger.close();
    await engine.shutdown();
  });

  it('exports capacity, allocation and utilization in base units, and holds and expiries from the events', async () => {
    await ledger.allocate('user123', { cpu: { cores: 2 }, memory: { gb: 4 } });
    const expired = nextEvent(engine, (e) => e.type === 'resource_expired');
    await ledger.allocate('trainer', { gpu0: { units: 1 } }, { ttlSeconds: 0.05 });
    let s = parseExposition(await engine.metrics!.expose());
    expect(sample(s, 'codomyrmex_resource_capacity', { resource: 'memory', type: 'memory', unit: 'bytes' })).toBe(
      8 * 2 ** 30,
    );
    expect(sample(s, 'codomyrmex_resource_allocated', { resource: 'memory', type: 'memory', unit: 'bytes' })).toBe(
      4 * 2 ** 30,
    );
    expect(sample(s, 'codomyrmex_resource_utilization_ratio', { resource: 'cpu', type: 'cpu', unit: 'cores' })).toBe(
      0.5,
    );
    expect(sample(s, 'codomyrmex_resource_utilization_ratio', { resource: 'gpu0', type: 'gpu', unit: 'units' })).toBe(
      1,
    );
    expect(sample(s, 'codomyrmex_resource_holds_active', { resource: 'gpu0' })).toBe(1);

    await expired;
    s = parseExposition(await engine.metrics!.expose());
    expect(sample(s, 'codomyrmex_resource_holds_active', { resource: 'gpu0' })).toBe(0);
    expect(sample(s, 'codomyrmex_resource_hold_expiries_total', { resource: 'gpu0' })).toBe(1);
    expect(sample(s, 'codomyrmex_resource_utilization_ratio', { resource: 'gpu0', type: 'gpu', unit: 'units' })).toBe(
      0,
    );

    expect(ledger.deallocate('user123')).toBe(1);
    const m = await engine.getMetrics();
    expect(m.resources).toEqual({
      total: 3,
      activeHolds: 0,
      allocations: 3,
      expiries: 1,
      utilization: { 'cpu.cores': 0, 'memory.bytes': 0, 'gpu0.units': 0 },
    });
    const status = await engine.getSystemStatus();
    expect(status.resources).toMatchObject({
      activeHolds: 0,
      resources: [{ resource: 'cpu', capacity: 4, allocated: 0 }, { resource: 'memory' }, { resource: 'gpu0' }],
    });
  });
});
