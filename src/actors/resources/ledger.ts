/**
 * The resource ledger: capacities, holds, FIFO waiters and expiry. Allocation is all-or-nothing across the
 * resources of one request (no partial holds, so no deadlock), amounts are converted to each resource's base unit,
 * and every hold is released exactly once (by its holder, by its TTL, or by the task that held it ending). Reading
 * definitions and requirements is in definitions.ts.
 */
import { availableParallelism, totalmem } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { MessageBus } from '../../bus/bus.js';
import { ResourceUnavailableError, ValidationError } from '../../errors.js';
import type { Clock, ClockTimer } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';
import type { StoredResource } from './definitions.js';
import { fmt, parseRequirements, storedResource } from './definitions.js';

import type {
  AllocateOptions,
  Allocation,
  Held,
  Requirements,
  ResourceInput,
  ResourceLimits,
  ResourceUsage,
} from '../../model/resource.js';
import { KNOWN_UNITS, Resource, ResourceType } from '../../model/resource.js';

export type { AllocateOptions, Allocation, Held, Requirements, ResourceInput, ResourceLimits, ResourceUsage };
export { KNOWN_UNITS, Resource, ResourceType };

interface Waiter {
  holderId: string;
  amounts: Held[];
  requested: Requirements;
  ttlMs: number | null;
  resolve: (a: Allocation) => void;
  reject: (e: Error) => void;
  timer: ClockTimer | null;
}

export interface LedgerEvents {
  allocated(a: Allocation): void;
  released(a: Allocation, reason: 'released' | 'expired'): void;
}

/** The ledger's events as the resource manager announces them: `resource_allocated`, `resource_released` (and `resource_expired` first when a hold's TTL ran out). */
export function busLedgerEvents(bus: MessageBus): LedgerEvents {
  return {
    allocated: (a) =>
      bus.publish('resource_allocated', { holderId: a.holderId, allocationId: a.allocationId, resources: a.requested }),
    released: (a, reason) => {
      const resourceIds = Object.keys(a.amounts);
      if (reason === 'expired')
        bus.publish('resource_expired', { holderId: a.holderId, allocationId: a.allocationId, resourceIds });
      bus.publish('resource_released', { holderId: a.holderId, allocationId: a.allocationId, resourceIds, reason });
    },
  };
}

/** Capacities, holds, FIFO waiters and expiry of resources (see this module's description); the resource manager's state, usable alone. */
export class ResourceLedger {
  readonly #resources = new Map<string, StoredResource>();
  readonly #allocations = new Map<string, Allocation & { held: Held[]; timer: ClockTimer | null }>();
  readonly #waiters: Waiter[] = [];
  readonly #events: LedgerEvents;
  readonly #clock: Clock;

  constructor(events: LedgerEvents, clock: Clock = systemClock) {
    this.#events = events;
    this.#clock = clock;
  }

  #now(): number {
    return this.#clock.now();
  }

  /** Registers the host's CPU cores and memory as `cpu` and `memory`. */
  addHostResources(): void {
    this.add({ id: 'cpu', name: 'host CPU', type: 'cpu', capacity: { cores: availableParallelism() } });
    this.add({ id: 'memory', name: 'host memory', type: 'memory', capacity: { mb: Math.floor(totalmem() / 2 ** 20) } });
  }

  /** Adds a resource; adding an identical definition again is a no-op, a different one under the same id is a `ValidationError`. */
  add(input: ResourceInput): ResourceUsage {
    const stored = storedResource(input);
    const existing = this.#resources.get(stored.id);
    if (existing) {
      // A script run again adds the same resource again: an identical definition is a no-op.
      const same = (x: StoredResource): string =>
        JSON.stringify([x.name, x.type, x.unit, x.capacity, Object.entries(x.limits).sort()]);
      if (same(existing) === same(stored)) return this.#usage(existing);
      throw new ValidationError(
        `resource.id: "${stored.id}" already exists with a different definition (${existing.type}, ${existing.capacity} ${existing.unit}, limits ${JSON.stringify(existing.limits)}; given ${stored.type}, ${stored.capacity} ${stored.unit}, limits ${JSON.stringify(stored.limits)}); remove it first or pick another id`,
      );
    }
    this.#resources.set(stored.id, stored);
    this.#grantWaiters();
    return this.#usage(stored);
  }

  /** Removes a resource nobody holds. */
  remove(id: string): boolean {
    const r = this.#resources.get(id);
    if (!r) return false;
    if (r.allocated > 0 || r.holders.size > 0) {
      throw new ValidationError(`resource "${id}" is held by ${[...r.holders.keys()].join(', ')}; deallocate first`);
    }
    this.#resources.delete(id);
    return true;
  }

  /** Whether a resource with this id exists. */
  has(id: string): boolean {
    return this.#resources.has(id);
  }

  /**
   * Converts and checks requirements: unknown resources and units, non-positive or non-finite amounts and units of
   * the wrong dimension are `ValidationError`s naming the field. Returns base-unit amounts per resource.
   */
  parse(req: unknown, where = 'resources'): Held[] {
    return parseRequirements(req, this.#resources, where);
  }

  /** Why a request cannot be granted now (null when it can). `never` when it exceeds total capacity or limits. */
  blocker(holderId: string, held: readonly Held[]): { resource: string; reason: string; never: boolean } | null {
    for (const h of held) {
      const r = this.#resources.get(h.resource);
      if (!r) return { resource: h.resource, reason: `resource "${h.resource}" was removed`, never: true };
      if (h.amount > r.capacity)
        return {
          resource: r.id,
          reason: `${fmt(h.amount, r.unit)} requested, but "${r.id}" has ${fmt(r.capacity, r.unit)} in all`,
          never: true,
        };
      const max = r.limits.maxConcurrentUsers;
      if (max !== undefined && !r.holders.has(holderId) && r.holders.size >= max) {
        return {
          resource: r.id,
          reason: `"${r.id}" allows ${max} holder(s) at once, held by ${[...r.holders.keys()].join(', ')}`,
          never: false,
        };
      }
      if (r.allocated + h.amount > r.capacity + 1e-9) {
        const by = [...r.holders].map(([k, v]) => `${k} ${fmt(v, r.unit)}`).join(', ');
        return {
          resource: r.id,
          reason: `${fmt(h.amount, r.unit)} of "${r.id}" requested, ${fmt(r.capacity - r.allocated, r.unit)} free (held by ${by})`,
          never: false,
        };
      }
    }
    return null;
  }

  /** Grants now or returns null; never waits. Throws `ResourceUnavailableError` for what can never fit. */
  tryAllocate(holderId: string, held: Held[], requested: Requirements, ttlMs: number | null = null): Allocation | null {
    const b = this.blocker(holderId, held);
    if (b?.never) throw new ResourceUnavailableError(`${holderId}: ${b.reason}`);
    if (b || this.#waiters.length) return null;
    return this.#grant(holderId, held, requested, ttlMs);
  }

  /**
   * All-or-nothing hold of `requirements` for `holderId`. Refuses at once what can never fit; otherwise grants now,
   * or waits in FIFO order up to `waitSeconds`, or refuses with the blocker named.
   */
  allocate(holderId: string, requirements: unknown, options: AllocateOptions = {}): Promise<Allocation> {
    if (typeof holderId !== 'string' || holderId === '')
      return Promise.reject(new ValidationError('holderId: must be a non-empty string'));
    const { ttlSeconds, waitSeconds = 0 } = options;
    if (ttlSeconds !== undefined && !(Number.isFinite(ttlSeconds) && ttlSeconds > 0)) {
      return Promise.reject(
        new ValidationError(`ttlSeconds: must be a positive number of seconds from now (got ${ttlSeconds})`),
      );
    }
    if (!(Number.isFinite(waitSeconds) && waitSeconds >= 0))
      return Promise.reject(new ValidationError(`waitSeconds: must be 0 or more (got ${waitSeconds})`));
    let held: Held[];
    try {
      held = this.parse(requirements);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const requested = requirements as Requirements;
    const ttlMs = ttlSeconds !== undefined ? ttlSeconds * 1000 : null;
    const b = this.blocker(holderId, held);
    if (b?.never) return Promise.reject(new ResourceUnavailableError(`${holderId}: ${b.reason}`));
    if (!b && this.#waiters.length === 0) return Promise.resolve(this.#grant(holderId, held, requested, ttlMs));
    if (waitSeconds === 0) {
      const reason = b?.reason ?? `${this.#waiters.length} earlier request(s) are waiting`;
      return Promise.reject(new ResourceUnavailableError(`${holderId}: ${reason}; pass waitSeconds to queue for it`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { holderId, amounts: held, requested, ttlMs, resolve, reject, timer: null };
      waiter.timer = this.#clock.setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        const why = this.blocker(holderId, held)?.reason ?? 'earlier requests were ahead';
        reject(new ResourceUnavailableError(`${holderId}: waited ${waitSeconds}s without capacity: ${why}`));
        this.#grantWaiters();
      }, waitSeconds * 1000);
      this.#waiters.push(waiter);
    });
  }

  /**
   * Puts back a hold read from the store after a restart, with the time it had left. A hold whose TTL passed
   * while the engine was down is released (and reported expired) instead; one that no longer fits is refused.
   */
  restore(a: Allocation): 'restored' | 'expired' | 'refused' {
    const now = this.#now();
    if (a.expiresAt !== null && a.expiresAt <= now) {
      this.#events.released(a, 'expired');
      return 'expired';
    }
    let held: Held[];
    try {
      held = Object.entries(a.amounts).map(([resource, amount]) => ({ resource, amount }));
      if (this.blocker(a.holderId, held)) return 'refused';
    } catch {
      return 'refused';
    }
    const grant = this.#grant(
      a.holderId,
      held,
      a.requested,
      a.expiresAt === null ? null : a.expiresAt - now,
      a.allocationId,
      a.grantedAt,
    );
    return grant ? 'restored' : 'refused';
  }

  /** Releases every hold of a holder; returns how many were released (0 is a no-op, not an error). */
  deallocate(holderId: string): number {
    let n = 0;
    for (const a of [...this.#allocations.values()]) {
      if (a.holderId === holderId) {
        this.#release(a.allocationId, 'released');
        n++;
      }
    }
    return n;
  }

  /** Releases one allocation; false if it is not (or no longer) held. */
  release(allocationId: string): boolean {
    return this.#release(allocationId, 'released');
  }

  /** Every hold, or those of one holder. */
  allocations(holderId?: string): Allocation[] {
    return [...this.#allocations.values()]
      .filter((a) => holderId === undefined || a.holderId === holderId)
      .map(publicAllocation);
  }

  /** Capacity, allocated and free of every resource. */
  usage(): ResourceUsage[] {
    return [...this.#resources.values()].map((r) => this.#usage(r));
  }

  /** Requests waiting (FIFO) for capacity. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Rejects waiters and clears timers (engine shutdown). */
  close(): void {
    for (const w of this.#waiters.splice(0)) {
      this.#clock.clearTimeout(w.timer);
      w.reject(new ResourceUnavailableError(`${w.holderId}: the engine shut down while waiting for resources`));
    }
    for (const a of this.#allocations.values()) this.#clock.clearTimeout(a.timer);
  }

  #grant(
    holderId: string,
    held: Held[],
    requested: Requirements,
    ttlMs: number | null,
    id: string = randomUUID(),
    grantedAt?: number,
  ): Allocation {
    // One reading of the clock: a hold's expiry is its grant time plus its limit to the millisecond.
    const current = this.#now();
    const now = grantedAt ?? current;
    let limitMs = ttlMs ?? Infinity;
    for (const h of held) {
      const r = this.#resources.get(h.resource) as StoredResource;
      r.allocated += h.amount;
      r.holders.set(holderId, (r.holders.get(holderId) ?? 0) + h.amount);
      const max = r.limits.maxAllocationSeconds;
      if (max !== undefined) limitMs = Math.min(limitMs, max * 1000);
    }
    const allocationId = id;
    const expiresAt = Number.isFinite(limitMs) ? current + limitMs : null;
    const a = {
      allocationId,
      holderId,
      amounts: Object.fromEntries(held.map((h) => [h.resource, h.amount])),
      requested,
      grantedAt: now,
      expiresAt,
      held,
      timer: null as ClockTimer | null,
    };
    if (expiresAt !== null) {
      a.timer = this.#clock.setTimeout(() => this.#release(allocationId, 'expired'), limitMs, { unref: true });
    }
    this.#allocations.set(allocationId, a);
    this.#events.allocated(publicAllocation(a));
    return publicAllocation(a);
  }

  #release(allocationId: string, reason: 'released' | 'expired'): boolean {
    const a = this.#allocations.get(allocationId);
    if (!a) return false;
    this.#allocations.delete(allocationId);
    this.#clock.clearTimeout(a.timer);
    for (const h of a.held) {
      const r = this.#resources.get(h.resource);
      if (!r) continue;
      r.allocated = Math.max(0, r.allocated - h.amount);
      const left = (r.holders.get(a.holderId) ?? 0) - h.amount;
      if (left > 1e-9) r.holders.set(a.holderId, left);
      else r.holders.delete(a.holderId);
    }
    this.#events.released(publicAllocation(a), reason);
    this.#grantWaiters();
    return true;
  }

  /** Grants waiters strictly in arrival order while the head fits. */
  #grantWaiters(): void {
    while (this.#waiters.length) {
      const w = this.#waiters[0] as Waiter;
      const b = this.blocker(w.holderId, w.amounts);
      if (b?.never) {
        this.#waiters.shift();
        this.#clock.clearTimeout(w.timer);
        w.reject(new ResourceUnavailableError(`${w.holderId}: ${b.reason}`));
        continue;
      }
      if (b) return;
      this.#waiters.shift();
      this.#clock.clearTimeout(w.timer);
      w.resolve(this.#grant(w.holderId, w.amounts, w.requested, w.ttlMs));
    }
  }

  #usage(r: StoredResource): ResourceUsage {
    return {
      id: r.id,
      name: r.name,
      type: r.type,
      unit: r.unit,
      capacity: r.capacity,
      allocated: r.allocated,
      free: r.capacity - r.allocated,
      utilization: r.capacity ? r.allocated / r.capacity : 0,
      holders: [...r.holders].map(([holderId, amount]) => ({ holderId, amount })),
      limits: r.limits,
    };
  }
}

function publicAllocation(a: Allocation): Allocation {
  return {
    allocationId: a.allocationId,
    holderId: a.holderId,
    amounts: { ...a.amounts },
    requested: a.requested,
    grantedAt: a.grantedAt,
    expiresAt: a.expiresAt,
  };
}
