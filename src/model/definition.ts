/**
 * A workflow definition as it is written: the seed's snake_case names (`max_retries`, `parallel_groups`, ...)
 * renamed to camelCase before validation, and the stable hash of what a definition does (its version changes
 * when the hash does).
 */
import { createHash } from 'node:crypto';
import type { StoredWorkflow } from './workflow.js';

/** snake_case keys of the seed, accepted in files, MCP arguments and NATS payloads. Never applied inside parameters. */
const SNAKE: ReadonlyMap<string, string> = new Map(
  Object.entries({
    max_retries: 'maxRetries',
    parallel_groups: 'parallelGroups',
    continue_on_failure: 'continueOnFailure',
    idempotency_key: 'idempotencyKey',
    initial_delay: 'initialDelay',
    max_delay: 'maxDelay',
    depends_on: 'dependencies',
    for_each: 'forEach',
    wait_for: 'waitFor',
    sleep_until: 'sleepUntil',
    timeout_seconds: 'timeoutSeconds',
    on_timeout: 'onTimeout',
  }),
);

/** Renames the seed's snake_case keys at the definition, step and retry levels. */
export function camelizeKeys(obj: unknown): unknown {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return obj;
  // A Map and fromEntries: a `__proto__` key stays a key (and is reported as unknown) instead of a prototype.
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [SNAKE.get(k) ?? k, v]));
}

/** Normalises a raw definition (any casing) to camelCase, without validating it. */
export function normalizeDefinition(raw: unknown): unknown {
  const def = camelizeKeys(raw);
  if (typeof def !== 'object' || def === null) return def;
  const d = def as Record<string, unknown>;
  if (Array.isArray(d['steps'])) {
    d['steps'] = d['steps'].map((s) => {
      const st = camelizeKeys(s) as Record<string, unknown> | null;
      if (st && typeof st === 'object' && 'retry' in st) st['retry'] = camelizeKeys(st['retry']);
      if (st && typeof st === 'object' && 'waitFor' in st) st['waitFor'] = camelizeKeys(st['waitFor']);
      return st;
    });
  }
  return d;
}

/** A stable hash of what a definition does (name, steps, groups, params), independent of key order. */
export function hashDefinition(
  def: Pick<StoredWorkflow, 'name' | 'steps' | 'parallelGroups' | 'params' | 'concurrency' | 'debounce'>,
): string {
  // Absent fields hash as before they existed: a definition without them keeps its hash (and its version).
  return createHash('sha256')
    .update(
      canonicalJson({
        name: def.name,
        steps: def.steps,
        parallelGroups: def.parallelGroups,
        params: def.params,
        concurrency: def.concurrency,
        debounce: def.debounce,
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    // Keys sorted by code unit (as `<` compares), undefined values left out; built without per-entry arrays, as
    // a 100,000-step definition has a million keys.
    let out = '{';
    for (const k of Object.keys(value).sort()) {
      const v: unknown = (value as Record<string, unknown>)[k];
      if (v !== undefined) out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${canonicalJson(v)}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
