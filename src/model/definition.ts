/**
 * A workflow definition as it is written: the seed's snake_case names (`max_retries`, `parallel_groups`, ...)
 * renamed to camelCase before validation, and the stable hash of what a definition does (its version changes
 * when the hash does).
 */
import type { Hash } from 'node:crypto';
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
  const keys = Object.keys(obj);
  // fromEntries for a `__proto__` key: it stays a key (and is reported as unknown) instead of a prototype.
  if (keys.includes('__proto__'))
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [SNAKE.get(k) ?? k, v]));
  // A plain loop otherwise (the same keys, order and values): a 100,000-step definition has a million keys.
  const out: Record<string, unknown> = {};
  for (const k of keys) out[SNAKE.get(k) ?? k] = (obj as Record<string, unknown>)[k];
  return out;
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
  const sink = new HashSink(createHash('sha256'));
  canonicalJson(
    {
      name: def.name,
      steps: def.steps,
      parallelGroups: def.parallelGroups,
      params: def.params,
      concurrency: def.concurrency,
      debounce: def.debounce,
    },
    sink,
  );
  return sink.end().digest('hex').slice(0, 16);
}

/**
 * Feeds the hash in chunks: the canonical JSON of a 100,000-step definition (~10 MB) is never built as one string,
 * which made hashing it 2–4× slower.
 */
class HashSink {
  readonly #hash: Hash;
  #buf = '';

  constructor(hash: Hash) {
    this.#hash = hash;
  }

  put(s: string): void {
    this.#buf += s;
    if (this.#buf.length > 16_384) {
      this.#hash.update(this.#buf);
      this.#buf = '';
    }
  }

  end(): Hash {
    this.#hash.update(this.#buf);
    this.#buf = '';
    return this.#hash;
  }
}

/** `"key":` of the keys met so far (a definition's steps share a few), up to a bound. */
const keyPrefixes = new Map<string, string>();

function keyPrefix(k: string): string {
  let p = keyPrefixes.get(k);
  if (p === undefined) {
    p = `${JSON.stringify(k)}:`;
    if (keyPrefixes.size < 4096) keyPrefixes.set(k, p);
  }
  return p;
}

/**
 * The canonical JSON of `value` into `sink`: object keys sorted by code unit (as `<` compares), undefined values
 * left out, array holes empty. Its bytes are the definition's identity: any change here changes every hash.
 */
function canonicalJson(value: unknown, sink: HashSink): void {
  if (typeof value !== 'object' || value === null) {
    sink.put(JSON.stringify(value) ?? 'null');
    return;
  }
  if (Array.isArray(value)) {
    sink.put('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) sink.put(',');
      if (i in value) canonicalJson(value[i], sink);
    }
    sink.put(']');
    return;
  }
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) {
      keys.sort();
      break;
    }
  }
  sink.put('{');
  let first = true;
  for (const k of keys) {
    const v: unknown = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    sink.put(first ? keyPrefix(k) : `,${keyPrefix(k)}`);
    first = false;
    canonicalJson(v, sink);
  }
  sink.put('}');
}
