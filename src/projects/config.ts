/**
 * A project's config: the template's `default_config` merged with overrides, read and set by dotted key
 * (`analysis.max_file_size`). A value set where the template has a default must have the default's type.
 */
import { NotFoundError, ValidationError } from '../errors.js';
import { checkPayloadLimits, didYouMean } from '../model/validate.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of `base` with `over` merged in: objects merge key by key, anything else replaces. */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? mergeConfig(b, v) : v;
  }
  return out;
}

/** Splits `a.b.c`; throws a `ValidationError` naming the bad segment. */
export function parseKey(key: unknown, field = 'key'): string[] {
  if (typeof key !== 'string' || key === '')
    throw new ValidationError(`${field}: give a dotted key like "analysis.max_file_size"`);
  const parts = key.split('.');
  for (const p of parts) {
    if (!/^[A-Za-z_][\w-]*$/.test(p))
      throw new ValidationError(
        `${field}: "${key}" has a bad segment "${p}"; segments are names like max_file_size, joined by "."`,
      );
    if (p === '__proto__' || p === 'constructor' || p === 'prototype')
      throw new ValidationError(`${field}: "${p}" is not allowed in a config key`);
  }
  return parts;
}

/** The value at `key` (the whole config for no key); a `NotFoundError` naming where the key broke off. */
export function getConfigValue(config: Record<string, unknown>, key?: string): unknown {
  if (key === undefined || key === '') return config;
  const parts = parseKey(key);
  let value: unknown = config;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (!isObject(value) || !Object.hasOwn(value, p)) {
      const at = parts.slice(0, i).join('.') || '(the config)';
      const hint = isObject(value) ? didYouMean(p, Object.keys(value)) : null;
      throw new NotFoundError(
        `key: "${key}" is not set; ${at} has no "${p}"${hint ? ` (did you mean "${[...parts.slice(0, i), hint].join('.')}"?)` : ''}`,
      );
    }
    value = value[p];
  }
  return value;
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Why `value` cannot be stored in a config (not JSON data, too big), or null. */
function valueProblem(value: unknown, where: string): string | null {
  const walk = (v: unknown, path: string): string | null => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return null;
    if (typeof v === 'number') return Number.isFinite(v) ? null : `${path}: ${v} is not a finite number`;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const e = walk(v[i], `${path}[${i}]`);
        if (e) return e;
      }
      return null;
    }
    if (isObject(v) && Object.getPrototypeOf(v) === Object.prototype) {
      for (const [k, x] of Object.entries(v)) {
        const e = walk(x, `${path}.${k}`);
        if (e) return e;
      }
      return null;
    }
    return `${path}: a ${typeName(v)} is not JSON data; config values are strings, numbers, booleans, null, arrays and objects`;
  };
  return checkPayloadLimits(value, where) ?? walk(value, where);
}

/**
 * A copy of `config` with `value` at `key`. Refuses a value that is not JSON data, a key that runs through a value
 * that is not an object, and a value whose type differs from the template default's at that key.
 */
export function setConfigValue(
  config: Record<string, unknown>,
  defaults: Record<string, unknown>,
  key: string,
  value: unknown,
): Record<string, unknown> {
  const parts = parseKey(key);
  const problem = valueProblem(value, `value of "${key}"`);
  if (problem) throw new ValidationError(problem);
  let def: unknown = defaults;
  for (const p of parts) def = isObject(def) && Object.hasOwn(def, p) ? def[p] : undefined;
  if (def !== undefined && def !== null && typeName(def) !== typeName(value)) {
    throw new ValidationError(
      `value of "${key}": must be a ${typeName(def)} like the template's default (${JSON.stringify(def)}); got a ${typeName(value)}`,
    );
  }
  const out = { ...config };
  let node: Record<string, unknown> = out;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i] as string;
    const next = node[p];
    if (next !== undefined && !isObject(next)) {
      throw new ValidationError(
        `key: "${parts.slice(0, i + 1).join('.')}" is a ${typeName(next)}, so "${key}" cannot be set inside it`,
      );
    }
    const copy = { ...(next ?? {}) };
    node[p] = copy;
    node = copy;
  }
  node[parts[parts.length - 1] as string] = value;
  return out;
}

/** Checks the overrides given at creation, key by key, the way `setConfigValue` does. */
export function applyOverrides(
  defaults: Record<string, unknown>,
  overrides: Record<string, unknown>,
  prefix = '',
): Record<string, unknown> {
  let config = mergeConfig(defaults, {});
  const walk = (over: Record<string, unknown>, path: string[]): void => {
    for (const [k, v] of Object.entries(over)) {
      const key = [...path, k];
      let def: unknown = defaults;
      for (const p of key) def = isObject(def) && Object.hasOwn(def, p) ? def[p] : undefined;
      if (isObject(v) && isObject(def)) walk(v, key);
      else {
        try {
          config = setConfigValue(config, defaults, key.join('.'), v);
        } catch (err) {
          if (err instanceof ValidationError) throw new ValidationError(err.issues.map((m) => `${prefix}${m}`));
          throw err;
        }
      }
    }
  };
  walk(overrides, []);
  return config;
}
