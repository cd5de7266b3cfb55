/**
 * Resources as the API and the bus show them: types, units, the seed's `Resource` class and the schema a resource
 * definition is checked against. The ledger that holds them is in `src/actors/resources/`.
 */
import { z } from 'zod';

/** The kinds of resource the ledger knows (the seed's `ResourceType` enum); `custom` for your own. */
export const ResourceType = {
  CPU: 'cpu',
  MEMORY: 'memory',
  GPU: 'gpu',
  DISK: 'disk',
  NETWORK: 'network',
  DATABASE: 'database',
  SERVICE: 'service',
  CUSTOM: 'custom',
} as const;
/** One of the {@link ResourceType} values. */
export type ResourceType = (typeof ResourceType)[keyof typeof ResourceType];

/**
 * A resource's limits (the seed's `ResourceLimits(max_concurrent_users=1)`): `new ResourceLimits({ maxConcurrentUsers: 1 })`
 * or a plain object of the same shape.
 */
export class ResourceLimits {
  /** Distinct holders at once (default unlimited). */
  declare maxConcurrentUsers?: number | undefined;
  /** Longest a hold may last; holds without a shorter TTL expire after this (default unlimited). */
  declare maxAllocationSeconds?: number | undefined;
  constructor(input: { maxConcurrentUsers?: number | undefined; maxAllocationSeconds?: number | undefined } = {}) {
    if (input.maxConcurrentUsers !== undefined) this.maxConcurrentUsers = input.maxConcurrentUsers;
    if (input.maxAllocationSeconds !== undefined) this.maxAllocationSeconds = input.maxAllocationSeconds;
  }
}

/** Units and how they convert to a base unit of their dimension. */
export const UNITS: Record<string, { dimension: string; factor: number }> = {
  cores: { dimension: 'cores', factor: 1 },
  units: { dimension: 'units', factor: 1 },
  mb: { dimension: 'mb', factor: 1 },
  gb: { dimension: 'mb', factor: 1024 },
  tb: { dimension: 'mb', factor: 1024 * 1024 },
  mbps: { dimension: 'mbps', factor: 1 },
  gbps: { dimension: 'mbps', factor: 1000 },
  connections: { dimension: 'connections', factor: 1 },
};
/** The units a capacity or a requirement may be given in (`cores`, `gb`, `mb`, `units`, ...). */
export const KNOWN_UNITS = Object.keys(UNITS);

/** `{ cpu: { cores: 2 }, memory: { gb: 4 } }`: resource id → unit → amount. */
export type Requirements = Record<string, Record<string, number>>;

/** A resource as `addResource` takes it: an id, a type and one capacity in a known unit. */
export interface ResourceInput {
  id: string;
  name?: string | undefined;
  type: ResourceType;
  /** One unit and its amount, e.g. `{ cores: 8 }`, `{ gb: 24 }`, `{ units: 1 }`. */
  capacity: Record<string, number>;
  limits?: ResourceLimits | undefined;
}

/** A resource (the seed's `Resource(...)`). */
export class Resource implements ResourceInput {
  id: string;
  name: string;
  type: ResourceType;
  capacity: Record<string, number>;
  limits: ResourceLimits;
  constructor(input: ResourceInput) {
    this.id = input.id;
    this.name = input.name ?? input.id;
    this.type = input.type;
    this.capacity = input.capacity;
    this.limits = input.limits ?? {};
  }
}

export const resourceSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z_][\w.-]*$/, 'must start with a letter or _ (letters, digits, _, ., -)'),
    name: z.string().optional(),
    type: z.enum(['cpu', 'memory', 'gpu', 'disk', 'network', 'database', 'service', 'custom']),
    capacity: z.record(z.number()),
    limits: z
      .object({
        maxConcurrentUsers: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
        maxAllocationSeconds: z.number().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** An amount of one resource, in its base unit. */
export interface Held {
  resource: string;
  amount: number;
}

/** One hold on resources: who holds what, since when and until when. */
export interface Allocation {
  allocationId: string;
  holderId: string;
  /** Base-unit amounts per resource. */
  amounts: Record<string, number>;
  /** As requested, in the caller's units. */
  requested: Requirements;
  grantedAt: number;
  expiresAt: number | null;
}

/** A resource's capacity, what is allocated and free, and its holders. */
export interface ResourceUsage {
  id: string;
  name: string;
  type: ResourceType;
  unit: string;
  capacity: number;
  allocated: number;
  free: number;
  utilization: number;
  holders: { holderId: string; amount: number }[];
  limits: ResourceLimits;
}

/** How `allocateResources` holds: for how long, and how long to wait for capacity. */
export interface AllocateOptions {
  /** The hold is released after this many seconds. */
  ttlSeconds?: number | undefined;
  /** Wait this long (FIFO) for capacity instead of failing at once (default 0). */
  waitSeconds?: number | undefined;
}
