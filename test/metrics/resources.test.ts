import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceLedger } from '../../src/actors/resources/ledger.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { resourceUsageFromLedger } from '../../src/index.js';
import { nextEvent, testEngine } from '../helpers.js';
import { parseExposition, sample } from './support.js';

describe('resource families fed by a real ResourceLedger', () => {
  let engine: OrchestrationEngine;
  let ledger: ResourceLedger;
  beforeAll(() => {
    engine = testEngine({ threads: 1, metrics: { processMetrics: false } });
    const bus = engine.bus;
    // Publishes what the resource manager publishes: the agreed resource_* payloads.
    ledger = new ResourceLedger({
      allocated: (a) =>
        bus.publish('resource_allocated', {
          holderId: a.holderId,
          allocationId: a.allocationId,
          resources: a.requested,
        }),
      released: (a, reason) => {
        const resourceIds = Object.keys(a.amounts);
        if (reason === 'expired')
          bus.publish('resource_expired', { holderId: a.holderId, allocationId: a.allocationId, resourceIds });
        bus.publish('resource_released', { holderId: a.holderId, allocationId: a.allocationId, resourceIds, reason });
      },
    });
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
