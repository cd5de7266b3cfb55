/**
 * Flow control as a task or step declares it: concurrency keys (`concurrency: { key, limit }`, one rule or a list)
 * and the use of a named rate limit (`rateLimit: { name, key?, units? }`), their schemas, and how a key template
 * (`"{{params.tenant}}"`) becomes the key a task holds. What the scheduler does with them is in
 * `actors/tasks/admission/`.
 */
import { z } from 'zod';

/** Characters of a resolved concurrency or rate-limit key. */
export const MAX_FLOW_KEY_LENGTH = 256;

/** A rate limit's name: letters, digits, `_ . : -`. */
export const RATE_LIMIT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

const keySchema = z.union([
  z.string().min(1, 'must not be empty').max(MAX_FLOW_KEY_LENGTH, `must be at most ${MAX_FLOW_KEY_LENGTH} characters`),
  z.number().finite(),
]);

/** One concurrency rule: at most `limit` tasks (or runs) holding `key` run at once. */
export const concurrencyRuleSchema = z
  .object({
    /** A literal or a template (`"{{params.tenant}}"`); a number is used as text. */
    key: keySchema,
    limit: z.number().int('must be a whole number').min(1, 'must be at least 1 (use 1 for "one at a time")'),
  })
  .strict();

/** `concurrency`: one rule, or several that must all admit. */
export const concurrencySchema = z.union([
  concurrencyRuleSchema,
  z.array(concurrencyRuleSchema).min(1, 'must list at least one rule').max(8, 'must list at most 8 rules'),
]);

/** What a new run does when a run-level key is at its limit: wait its turn, cancel the oldest holder, or be cancelled. */
export const RUN_CONCURRENCY_STRATEGIES = ['queue', 'cancel_in_progress', 'cancel_newest'] as const;

/**
 * One run-level concurrency rule (a workflow's `concurrency`): at most `limit` runs holding `key` run at once;
 * `strategy` says what a new run does when the key is at its limit (default `queue`, Hatchet's semantics otherwise).
 */
export const runConcurrencyRuleSchema = z
  .object({
    key: keySchema,
    limit: z.number().int('must be a whole number').min(1, 'must be at least 1 (use 1 for "one at a time")'),
    strategy: z
      .enum(RUN_CONCURRENCY_STRATEGIES, {
        errorMap: () => ({ message: `must be one of ${RUN_CONCURRENCY_STRATEGIES.join(', ')}` }),
      })
      .optional(),
  })
  .strict();

/** A workflow's `concurrency`: one run-level rule, or several that must all admit. */
export const runConcurrencySchema = z.union([
  runConcurrencyRuleSchema,
  z.array(runConcurrencyRuleSchema).min(1, 'must list at least one rule').max(8, 'must list at most 8 rules'),
]);

/** Longest debounce window and bound: a day. */
export const MAX_DEBOUNCE_SECONDS = 86_400;

/**
 * A workflow's `debounce`: submissions whose `key` resolves the same collapse into one run, started `seconds` after
 * the last of them (trailing), or `maxWaitSeconds` after the first at the latest, with the last one's parameters.
 */
export const debounceSchema = z
  .object({
    key: keySchema,
    seconds: z
      .number()
      .finite()
      .positive('must be a positive number of seconds')
      .max(MAX_DEBOUNCE_SECONDS, `must be at most ${MAX_DEBOUNCE_SECONDS} (a day)`),
    maxWaitSeconds: z
      .number()
      .finite()
      .positive('must be a positive number of seconds')
      .max(MAX_DEBOUNCE_SECONDS, `must be at most ${MAX_DEBOUNCE_SECONDS} (a day)`)
      .optional(),
  })
  .strict()
  .refine((d) => d.maxWaitSeconds === undefined || d.maxWaitSeconds >= d.seconds, {
    message: 'maxWaitSeconds must be at least seconds (it bounds how long the window may be pushed back)',
    path: ['maxWaitSeconds'],
  });

/** `rateLimit`: spend `units` (default 1) of the named limit, from the bucket of `key` when one is given. */
export const rateLimitUseSchema = z
  .object({
    name: z.string().regex(RATE_LIMIT_NAME_RE, 'must be a rate limit name like "github-api"'),
    key: keySchema.optional(),
    units: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
  })
  .strict();

/** A task's concurrency rule after parsing: at most `limit` tasks of the same resolved `key` run at once. */
export type ConcurrencyRule = z.output<typeof concurrencyRuleSchema>;
/** A task's `concurrency` as given: one rule or several, each `{ key, limit }`. */
export type ConcurrencyInput = z.input<typeof concurrencySchema>;
/** A task's `rateLimit`: spend `units` (default 1) of the named limit, from the bucket of `key` when one is given. */
export type RateLimitUse = z.output<typeof rateLimitUseSchema>;
export type RunConcurrencyRule = z.output<typeof runConcurrencyRuleSchema>;
export type RunConcurrencyInput = z.input<typeof runConcurrencySchema>;
export type DebounceSpec = z.output<typeof debounceSchema>;

/** A concurrency rule with its key resolved: what a task holds while an attempt runs. */
export interface HeldKey {
  /** The resolved key. */
  key: string;
  limit: number;
  /** The key as written (a template or a literal): the `rule` label of the metrics. */
  rule: string;
}

/** The rules of a `concurrency` field as a list. */
export function concurrencyRules<R>(c: R | R[] | undefined): R[] {
  if (c === undefined) return [];
  return Array.isArray(c) ? c : [c];
}

const TEMPLATE = /\{\{([^{}]*)\}\}/g;
const SEGMENT = /^([A-Za-z_$][\w$-]*)((?:\[\d+\])*)$/;

/** Reads a dotted path (`params.a.b[0]`) in a scope; `undefined` when any part is missing. */
function read(scope: Record<string, unknown>, expr: string): unknown {
  let value: unknown = scope;
  for (const part of expr.split('.')) {
    const m = SEGMENT.exec(part);
    if (!m) return undefined;
    value = own(value, m[1] as string);
    for (const idx of (m[2] ?? '').match(/\d+/g) ?? []) value = own(value, Number(idx));
  }
  return value;
}

function own(value: unknown, key: string | number): unknown {
  if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
  return (value as Record<string | number, unknown>)[key];
}

function asText(value: unknown, expr: string, field: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined || value === null)
    throw new Error(`${field}: "{{${expr}}}" resolves to nothing; give that parameter or use a literal key`);
  throw new Error(
    `${field}: "{{${expr}}}" resolves to ${Array.isArray(value) ? 'an array' : 'an object'}; a key must be text or a number`,
  );
}

/**
 * The key a template names in `scope` (`{ params, metadata }` for a task). A number is used as text; a template
 * that reads nothing, an object or an array is refused, as is a key past {@link MAX_FLOW_KEY_LENGTH} characters.
 * Throws an `Error` whose message starts with `field`.
 */
export function resolveFlowKey(key: string | number, scope: Record<string, unknown>, field: string): string {
  const text =
    typeof key === 'number'
      ? String(key)
      : key.includes('{{')
        ? key.replace(TEMPLATE, (_, inner: string) => {
            const expr = inner.trim();
            return asText(read(scope, expr), expr, field);
          })
        : key;
  if (text.length === 0) throw new Error(`${field}: resolves to an empty key`);
  if (text.length > MAX_FLOW_KEY_LENGTH)
    throw new Error(`${field}: resolves to ${text.length} characters; a key must be at most ${MAX_FLOW_KEY_LENGTH}`);
  return text;
}

/** The expressions a key template reads (`"{{params.a}}-{{metadata.b}}"` reads `params.a` and `metadata.b`). */
export function keyTemplateReads(key: string | number): string[] {
  if (typeof key !== 'string') return [];
  return [...key.matchAll(TEMPLATE)].map((m) => (m[1] ?? '').trim());
}

/** Resolves every rule of a `concurrency` field; throws like {@link resolveFlowKey}. */
export function resolveConcurrency(
  c: ConcurrencyInput | undefined,
  scope: Record<string, unknown>,
  where: string,
): HeldKey[] {
  const rules = concurrencyRules(c);
  const many = Array.isArray(c);
  return rules.map((r, i) => ({
    key: resolveFlowKey(r.key, scope, `${where}.concurrency${many ? `[${i}]` : ''}.key`),
    limit: r.limit,
    rule: String(r.key),
  }));
}

/** `"1s"`, `"30s"`, `"1m"`, `"1h"`, `"1d"` (or a number of seconds) in ms; null when it is not a duration. */
export function parseDurationMs(per: unknown): number | null {
  if (typeof per === 'number') return Number.isFinite(per) && per > 0 ? per * 1000 : null;
  if (typeof per !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(per.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  const ms = n * unit;
  return ms >= 1 ? ms : null;
}
