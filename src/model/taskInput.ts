/**
 * Reading a task as a caller gives it (a `Task`, or a plain object from a file, the CLI or the wire): validation and
 * defaults, with a fast path for the common well-formed task and the zod schema for everything else.
 */
import { ValidationError } from '../errors.js';
import { LIMITS } from './limits.js';
import { formatZodIssues, checkPayloadLimits } from './validate.js';
import type { ConcurrencyRule } from './flow.js';
import { MAX_FLOW_KEY_LENGTH } from './flow.js';
import type { TaskInput, TaskPriority, TaskSpec } from './task.js';
import {
  DEFAULT_MAX_RETRIES,
  DEFAULT_RETRY,
  MAX_TRACEPARENT_LENGTH,
  mergeRetry,
  newId,
  PRIORITY_RANK,
  retryProblems,
  Task,
  TASK_NAME_RE,
  taskInputSchema,
} from './task.js';

/**
 * Validates a task given by a caller (a `Task`, or a plain object from a file, the CLI or the wire) and fills in
 * defaults. Throws a `ValidationError` naming each bad field.
 */
export function parseTaskInput(input: unknown, where = 'task'): TaskSpec {
  return fastTaskSpec(input) ?? parseTaskInputWithSchema(input, where);
}

/** The schema path of {@link parseTaskInput}: every input goes through zod (the fast path must agree with it). */
export function parseTaskInputWithSchema(input: unknown, where = 'task'): TaskSpec {
  const plain = input instanceof Task ? { ...input } : input;
  const parsed = taskInputSchema.safeParse(stripUndefined(plain));
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, where));
  const t = parsed.data;
  const spec: TaskSpec = {
    id: t.id ?? newId(),
    name: t.name ?? `${t.module}.${t.action}`,
    module: t.module,
    action: t.action,
    parameters: t.parameters ?? {},
    priority: t.priority ?? 'normal',
    dependencies: t.dependencies ?? [],
    resources: t.resources ?? {},
    timeout: t.timeout,
    maxRetries: t.maxRetries ?? DEFAULT_MAX_RETRIES,
    retry: mergeRetry(t.retry),
    idempotencyKey: t.idempotencyKey,
    metadata: t.metadata ?? {},
    sessionId: t.sessionId,
    ...(t.workingDir !== undefined ? { workingDir: t.workingDir } : {}),
  };
  if (t.upstream !== undefined) spec.upstream = t.upstream;
  if (t.artifacts !== undefined) spec.artifacts = t.artifacts;
  if (t.placement !== undefined && t.placement.tags.length > 0) spec.placement = { tags: [...t.placement.tags].sort() };
  if (t.affinity !== undefined) spec.affinity = t.affinity;
  if (t.concurrency !== undefined) spec.concurrency = t.concurrency;
  if (t.rateLimit !== undefined) spec.rateLimit = t.rateLimit;
  if (t.traceparent !== undefined) spec.traceparent = t.traceparent;
  // zod leaves out `__proto__` keys where it copies records: check the caller's own objects, which refuse them.
  const given = plain as { parameters?: unknown; metadata?: unknown };
  const limit =
    checkPayloadLimits(given.parameters ?? {}, `${where}.parameters`) ??
    checkPayloadLimits(given.metadata ?? {}, `${where}.metadata`);
  if (limit) throw new ValidationError(limit);
  const retry = retryProblems(t.retry, where);
  if (retry.length) throw new ValidationError(retry);
  if (new Set(spec.dependencies).size !== spec.dependencies.length) {
    throw new ValidationError(`${where}.dependencies: lists the same task twice`);
  }
  return spec;
}

const KNOWN_KEYS = new Set([
  'id',
  'name',
  'module',
  'action',
  'parameters',
  'priority',
  'dependencies',
  'resources',
  'timeout',
  'maxRetries',
  'retry',
  'idempotencyKey',
  'metadata',
  'sessionId',
  'workingDir',
  'upstream',
  'placement',
  'concurrency',
  'traceparent',
]);
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalString = (v: unknown, max: number): boolean =>
  v === undefined || (typeof v === 'string' && v.length >= 1 && v.length <= max);

/**
 * What every spec without its own parameters, dependencies, resources or metadata shares: frozen, so nothing can change one
 * task's through another's (100k queued tasks would otherwise hold 300k empty objects).
 */
const NO_DEPENDENCIES: string[] = Object.freeze([]) as unknown as string[];
const NO_RESOURCES = Object.freeze({}) as Record<string, never>;
const NO_METADATA = Object.freeze({}) as Record<string, unknown>;
const NO_PARAMETERS = Object.freeze({}) as Record<string, unknown>;
/** Default names (`module.action`), one string per action rather than one per task. */
const defaultNames = new Map<string, Map<string, string>>();
function defaultName(module: string, action: string): string {
  let byAction = defaultNames.get(module);
  if (!byAction) {
    if (defaultNames.size > 10_000) defaultNames.clear();
    defaultNames.set(module, (byAction = new Map<string, string>()));
  }
  let name = byAction.get(action);
  if (name === undefined) {
    if (byAction.size > 10_000) byAction.clear();
    byAction.set(action, (name = `${module}.${action}`));
  }
  return name;
}

/**
 * The common, well-formed task without zod (a few µs per task on the hot path). Anything unusual, including every
 * invalid input, returns null and takes the zod path, which produces the error messages.
 */
export function fastTaskSpec(input: unknown): TaskSpec | null {
  if (!isPlainObject(input)) return null;
  const t = input as Partial<Record<keyof TaskInput, unknown>>;
  for (const k in t) if (!KNOWN_KEYS.has(k)) return null;
  if (
    typeof t.module !== 'string' ||
    !TASK_NAME_RE.test(t.module) ||
    typeof t.action !== 'string' ||
    !TASK_NAME_RE.test(t.action)
  )
    return null;
  const maxId = LIMITS.maxIdLength;
  if (
    !optionalString(t.id, maxId) ||
    !optionalString(t.name, maxId) ||
    !optionalString(t.sessionId, maxId) ||
    (t.idempotencyKey !== undefined &&
      (typeof t.idempotencyKey !== 'string' || t.idempotencyKey.length > LIMITS.maxIdempotencyKeyLength))
  )
    return null;
  if (t.parameters !== undefined && !isPlainObject(t.parameters)) return null;
  if (t.metadata !== undefined && !isPlainObject(t.metadata)) return null;
  // A working folder is rare: let zod check it.
  if (t.workingDir !== undefined || t.placement !== undefined) return null;
  if (t.upstream !== undefined && !isPlainObject(t.upstream)) return null;
  if (
    t.traceparent !== undefined &&
    !(typeof t.traceparent === 'string' && t.traceparent.length <= MAX_TRACEPARENT_LENGTH)
  )
    return null;
  if (t.concurrency !== undefined && !simpleRule(t.concurrency)) return null;
  if (t.priority !== undefined && !(typeof t.priority === 'string' && Object.hasOwn(PRIORITY_RANK, t.priority)))
    return null;
  if (t.timeout !== undefined && !(typeof t.timeout === 'number' && Number.isFinite(t.timeout) && t.timeout > 0))
    return null;
  if (
    t.maxRetries !== undefined &&
    !(Number.isInteger(t.maxRetries) && (t.maxRetries as number) >= 0 && (t.maxRetries as number) <= 1000)
  )
    return null;
  // Resources and custom retry policies are rarer: let zod check them.
  if (t.resources !== undefined && !(isPlainObject(t.resources) && Object.keys(t.resources).length === 0)) return null;
  if (t.retry !== undefined && !(isPlainObject(t.retry) && sameRetry(t.retry))) return null;
  const deps = t.dependencies;
  if (deps !== undefined) {
    if (!Array.isArray(deps)) return null;
    for (const d of deps) if (typeof d !== 'string' || d.length === 0) return null;
    if (new Set(deps).size !== deps.length) return null;
  }
  const parameters = t.parameters ?? NO_PARAMETERS;
  if (!isShallowSmall(parameters) || (t.metadata !== undefined && !isShallowSmall(t.metadata))) return null;
  // The keys every spec has, in one literal (V8 gives the object exactly these slots); the rarer ones are added only
  // when given, so a plain task's spec carries no slots for them (it is held for as long as the task is queued).
  const spec: TaskSpec = {
    id: (t.id as string | undefined) ?? newId(),
    name: (t.name as string | undefined) ?? defaultName(t.module, t.action),
    module: t.module,
    action: t.action,
    parameters,
    priority: (t.priority as TaskPriority | undefined) ?? 'normal',
    dependencies: deps === undefined || (deps as string[]).length === 0 ? NO_DEPENDENCIES : (deps as string[]),
    resources: NO_RESOURCES,
    maxRetries: (t.maxRetries as number | undefined) ?? DEFAULT_MAX_RETRIES,
    retry: DEFAULT_RETRY,
    metadata: t.metadata === undefined || isEmpty(t.metadata) ? NO_METADATA : t.metadata,
  };
  if (t.timeout !== undefined) spec.timeout = t.timeout;
  if (t.idempotencyKey !== undefined) spec.idempotencyKey = t.idempotencyKey;
  if (t.sessionId !== undefined) spec.sessionId = t.sessionId as string;
  if (t.upstream !== undefined) spec.upstream = t.upstream;
  if (t.concurrency !== undefined) spec.concurrency = t.concurrency as ConcurrencyRule;
  if (t.traceparent !== undefined) spec.traceparent = t.traceparent;
  return spec;
}

/** One concurrency rule with a key and a limit only, both well formed (anything else takes the zod path). */
function simpleRule(c: unknown): boolean {
  if (!isPlainObject(c)) return false;
  let n = 0;
  for (const _ in c) n++;
  const key = c['key'];
  const limit = c['limit'];
  return (
    n === 2 &&
    ((typeof key === 'string' && key.length > 0 && key.length <= MAX_FLOW_KEY_LENGTH) ||
      (typeof key === 'number' && Number.isFinite(key))) &&
    Number.isInteger(limit) &&
    (limit as number) >= 1
  );
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

function sameRetry(r: Record<string, unknown>): boolean {
  return (
    r['initialDelay'] === DEFAULT_RETRY.initialDelay &&
    r['factor'] === DEFAULT_RETRY.factor &&
    r['maxDelay'] === DEFAULT_RETRY.maxDelay &&
    r['jitter'] === DEFAULT_RETRY.jitter &&
    Object.keys(r).length === 4
  );
}

/** Flat parameters of primitives (the usual case) skip the payload-limit walk (which also refuses `__proto__` keys). */
function isShallowSmall(params: Record<string, unknown>): boolean {
  let n = 0;
  for (const k in params) {
    const v = params[k];
    const t = typeof v;
    if (
      ++n > 64 ||
      (t === 'object' && v !== null) ||
      t === 'function' ||
      t === 'symbol' ||
      t === 'bigint' ||
      (t === 'string' && (v as string).length > 4096) ||
      k === '__proto__'
    )
      return false;
  }
  return true;
}

function stripUndefined(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
