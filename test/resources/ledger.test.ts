import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Allocation } from '../../src/actors/resources/ledger.js';
import { Resource, ResourceLedger, ResourceType } from '../../src/actors/resources/ledger.js';
import { ResourceUnavailableError, ValidationError } from '../../src/errors.js';
import { FakeClock } from '../support/fakeClock.js';

function ledger(clock?: FakeClock): { l: ResourceLedger; released: [Allocation, string][]; granted: Allocation[] } {
  const released: [Allocation, string][] = [];
  const granted: Allocation[] = [];
  const l = new ResourceLedger(
    { allocated: (a) => granted.push(a), released: (a, why) => released.push([a, why]) },
    clock,
  );
  l.add({ id: 'cpu', type: 'cpu', capacity: { cores: 4 } });
  l.add({ id: 'memory', type: 'memory', capacity: { gb: 8 } });
  return { l, released, granted };
}

describe('ResourceLedger', () => {
  it("runs the seed's example: 2 cores and 4 GB for user123, then releases them", async () => {
    const { l } = ledger();
    const a = await l.allocate('user123', { cpu: { cores: 2 }, memory: { gb: 4 } });
    expect(a.amounts).toEqual({ cpu: 2, memory: 4096 });
    const usage = Object.fromEntries(l.usage().map((u) => [u.id, u]));
    expect(usage['memory']).toMatchObject({
      unit: 'mb',
      capacity: 8192,
      allocated: 4096,
      utilization: 0.5,
      holders: [{ holderId: 'user123', amount: 4096 }],
    });
    expect(l.deallocate('user123')).toBe(1);
    expect(l.usage().every((u) => u.allocated === 0)).toBe(true);
    expect(l.deallocate('user123')).toBe(0);
  });

  it('converts units: gb and mb against a memory capacity, refusing cores against it', async () => {
    const { l } = ledger();
    await l.allocate('a', { memory: { gb: 1, mb: 512 } });
    expect(l.usage().find((u) => u.id === 'memory')?.allocated).toBe(1536);
    await expect(l.allocate('b', { memory: { cores: 1 } })).rejects.toThrow(
      'resources.memory.cores: "memory" is measured in mb, not cores',
    );
  });

  it('refuses bad requests with the field named, and changes nothing', async () => {
    const { l } = ledger();
    const cases: [unknown, RegExp][] = [
      [{ gpu: { units: 1 } }, /resources\.gpu: unknown resource/],
      [{ cpu: { cores: -1 } }, /resources\.cpu\.cores: must be a positive number \(got -1\)/],
      [{ cpu: { cores: 0 } }, /must be a positive number \(got 0\)/],
      [{ cpu: { cores: Number.NaN } }, /must be a positive number \(got NaN\)/],
      [{ cpu: { furlongs: 1 } }, /resources\.cpu\.furlongs: unknown unit/],
      [{ cpus: { cores: 1 } }, /did you mean "cpu"\?/],
    ];
    for (const [req, msg] of cases) await expect(l.allocate('x', req)).rejects.toThrow(msg);
    await expect(l.allocate('x', { cpu: { cores: 1 } }, { ttlSeconds: -5 })).rejects.toThrow(
      /ttlSeconds: must be a positive number of seconds from now/,
    );
    expect(() => l.add({ id: 'gpu', type: 'gpu', capacity: { units: 1 }, limits: { maxConcurrentUsers: 0 } })).toThrow(
      /maxConcurrentUsers: must be at least 1/,
    );
    expect(l.allocations()).toEqual([]);
    expect(l.usage().every((u) => u.allocated === 0)).toBe(true);
  });

  it('refuses what can never fit at once, even when asked to wait', async () => {
    const { l } = ledger();
    const err = await l.allocate('big', { cpu: { cores: 5 } }, { waitSeconds: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceUnavailableError);
    expect((err as Error).message).toBe('big: 5 cores requested, but "cpu" has 4 cores in all');
  });

  it('is all-or-nothing: no partial hold when the second resource is short', async () => {
    const { l } = ledger();
    await l.allocate('hog', { memory: { gb: 7 } });
    await expect(l.allocate('x', { cpu: { cores: 1 }, memory: { gb: 2 } })).rejects.toThrow(
      /2048 mb of "memory" requested, 1024 mb free \(held by hog 7168 mb\)/,
    );
    expect(l.usage().find((u) => u.id === 'cpu')?.allocated).toBe(0);
  });

  it('queues waiters in FIFO order and grants them as capacity is released', async () => {
    const { l } = ledger();
    await l.allocate('first', { cpu: { cores: 4 } });
    const order: string[] = [];
    const second = l.allocate('second', { cpu: { cores: 3 } }, { waitSeconds: 10 }).then((a) => order.push(a.holderId));
    const third = l.allocate('third', { cpu: { cores: 1 } }, { waitSeconds: 10 }).then((a) => order.push(a.holderId));
    expect(l.waiting).toBe(2);
    l.deallocate('first');
    await Promise.all([second, third]);
    expect(order).toEqual(['second', 'third']);
  });

  it('gives up waiting at the deadline with the blocker named', async () => {
    const { l } = ledger();
    await l.allocate('holder', { cpu: { cores: 4 } });
    await expect(l.allocate('late', { cpu: { cores: 1 } }, { waitSeconds: 0.05 })).rejects.toThrow(
      /late: waited 0.05s without capacity: 1 cores of "cpu" requested, 0 cores free \(held by holder 4 cores\)/,
    );
    expect(l.waiting).toBe(0);
  });

  it('expires holds at their TTL and reports it', async () => {
    const { l, released } = ledger();
    await l.allocate('brief', { cpu: { cores: 1 } }, { ttlSeconds: 0.05 });
    const waiter = l.allocate('next', { cpu: { cores: 4 } }, { waitSeconds: 5 });
    const a = await waiter;
    expect(a.holderId).toBe('next');
    expect(released.map(([x, why]) => [x.holderId, why])).toEqual([['brief', 'expired']]);
  });

  it('caps holds at maxAllocationSeconds and limits distinct holders with maxConcurrentUsers', async () => {
    const { l } = ledger();
    l.add(
      new Resource({
        id: 'gpu',
        name: 'GPU',
        type: ResourceType.GPU,
        capacity: { units: 2 },
        limits: { maxConcurrentUsers: 1, maxAllocationSeconds: 60 },
      }),
    );
    const a = await l.allocate('u1', { gpu: { units: 1 } });
    expect(a.expiresAt! - a.grantedAt).toBe(60_000);
    await expect(l.allocate('u2', { gpu: { units: 1 } })).rejects.toThrow(
      /"gpu" allows 1 holder\(s\) at once, held by u1/,
    );
    await l.allocate('u1', { gpu: { units: 1 } });
    expect(() => l.remove('gpu')).toThrow(ValidationError);
    l.deallocate('u1');
    expect(l.remove('gpu')).toBe(true);
    l.close();
  });

  it('property: allocated never exceeds capacity, and every hold is released exactly once', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('alloc' as const),
        holder: fc.constantFrom('a', 'b', 'c', 'd'),
        cores: fc.integer({ min: 1, max: 6 }),
        gb: fc.integer({ min: 0, max: 9 }),
        ttl: fc.option(fc.constantFrom(0.001, 0.003)),
      }),
      fc.record({ kind: fc.constant('release' as const), holder: fc.constantFrom('a', 'b', 'c', 'd') }),
      fc.record({ kind: fc.constant('tick' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        // Holds' TTLs (1 or 3 ms) run out on a fake clock: a tick moves it on 2 ms.
        const clock = new FakeClock();
        const { l, released, granted } = ledger(clock);
        const check = (): void => {
          for (const u of l.usage()) {
            expect(u.allocated).toBeLessThanOrEqual(u.capacity);
            expect(u.allocated).toBeGreaterThanOrEqual(0);
          }
        };
        for (const o of ops) {
          if (o.kind === 'alloc') {
            const req: Record<string, Record<string, number>> = { cpu: { cores: o.cores } };
            if (o.gb > 0) req['memory'] = { gb: o.gb };
            await l
              .allocate(o.holder, req, o.ttl === null ? {} : { ttlSeconds: o.ttl })
              .catch((e: unknown) => expect(e).toBeInstanceOf(ResourceUnavailableError));
          } else if (o.kind === 'release') l.deallocate(o.holder);
          else clock.advance(2);
          check();
        }
        for (const h of ['a', 'b', 'c', 'd']) l.deallocate(h);
        check();
        const ids = released.map(([a]) => a.allocationId);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.sort()).toEqual(granted.map((a) => a.allocationId).sort());
        expect(l.usage().every((u) => u.allocated === 0 && u.holders.length === 0)).toBe(true);
        l.close();
      }),
      { numRuns: 60 },
    );
  });
});
