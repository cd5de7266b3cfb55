/**
 * Reading resources and requests: a resource's definition into the form the ledger keeps (its capacity in the base
 * unit of its dimension), and a request's requirements into base-unit amounts per resource, with errors naming the
 * field.
 */
import { ValidationError } from '../../errors.js';
import type { Held, ResourceInput, ResourceLimits, ResourceType } from '../../model/resource.js';
import { KNOWN_UNITS, Resource, resourceSchema, UNITS } from '../../model/resource.js';
import { didYouMean, formatZodIssues } from '../../model/validate.js';

/** A resource as the ledger keeps it: capacity and holds in the base unit of its dimension. */
export interface StoredResource {
  id: string;
  name: string;
  type: ResourceType;
  unit: string;
  capacity: number;
  limits: ResourceLimits;
  allocated: number;
  holders: Map<string, number>;
}

/** Checks a resource's definition and converts its capacity to the base unit; a `ValidationError` names the field. */
export function storedResource(input: ResourceInput): StoredResource {
  const parsed = resourceSchema.safeParse(
    input instanceof Resource ? { ...input, limits: stripUndefined(input.limits) } : input,
  );
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'resource'));
  const r = parsed.data;
  const entries = Object.entries(r.capacity);
  if (entries.length !== 1)
    throw new ValidationError(`resource "${r.id}".capacity: give exactly one unit, e.g. { cores: 8 } or { gb: 16 }`);
  const [unit, amount] = entries[0] as [string, number];
  const u = UNITS[unit];
  if (!u)
    throw new ValidationError(
      `resource "${r.id}".capacity.${unit}: unknown unit; use one of ${KNOWN_UNITS.join(', ')}`,
    );
  if (!Number.isFinite(amount) || amount <= 0)
    throw new ValidationError(`resource "${r.id}".capacity.${unit}: must be a positive number (got ${amount})`);
  return {
    id: r.id,
    name: r.name ?? r.id,
    type: r.type,
    unit: u.dimension,
    capacity: amount * u.factor,
    limits: stripUndefined(r.limits ?? {}),
    allocated: 0,
    holders: new Map(),
  };
}

/**
 * Converts and checks requirements against the known resources: unknown resources and units, non-positive or
 * non-finite amounts and units of the wrong dimension are `ValidationError`s naming the field. Returns base-unit
 * amounts per resource.
 */
export function parseRequirements(req: unknown, resources: ReadonlyMap<string, StoredResource>, where: string): Held[] {
  if (typeof req !== 'object' || req === null || Array.isArray(req))
    throw new ValidationError(`${where}: must map resource ids to amounts, e.g. { cpu: { cores: 2 } }`);
  const problems: string[] = [];
  const held: Held[] = [];
  for (const [id, units] of Object.entries(req as Record<string, unknown>)) {
    const r = resources.get(id);
    if (!r) {
      const hint = didYouMean(id, resources.keys());
      problems.push(
        `${where}.${id}: unknown resource${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${[...resources.keys()].join(', ')}`,
      );
      continue;
    }
    if (typeof units !== 'object' || units === null || Array.isArray(units)) {
      problems.push(`${where}.${id}: must map a unit to an amount, e.g. { ${r.unit === 'mb' ? 'gb' : r.unit}: 1 }`);
      continue;
    }
    let total = 0;
    for (const [unit, amount] of Object.entries(units as Record<string, unknown>)) {
      const u = UNITS[unit];
      if (!u) problems.push(`${where}.${id}.${unit}: unknown unit; use one of ${KNOWN_UNITS.join(', ')}`);
      else if (u.dimension !== r.unit)
        problems.push(`${where}.${id}.${unit}: "${id}" is measured in ${r.unit}, not ${u.dimension}`);
      else if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0)
        problems.push(`${where}.${id}.${unit}: must be a positive number (got ${String(amount)})`);
      else total += amount * u.factor;
    }
    if (total > 0) held.push({ resource: id, amount: total });
  }
  if (problems.length) throw new ValidationError(problems);
  if (held.length === 0) throw new ValidationError(`${where}: requests nothing`);
  return held;
}

/** An amount with its unit, rounded for messages. */
export function fmt(amount: number, unit: string): string {
  return `${Math.round(amount * 1000) / 1000} ${unit}`;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
