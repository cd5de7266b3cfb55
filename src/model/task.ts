/**
 * What a task is: its priorities and statuses, the schema of what a caller may give, the validated `TaskSpec`, the
 * `Task` class, retry policies and how a task ended (`TaskResult`). Reading a caller's input is in `taskInput.ts`.
 */
import { randomFillSync } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { SerializedError } from '../errors.js';
import { LIMITS } from './limits.js';
import { concurrencySchema, rateLimitUseSchema } from './flow.js';
import type { ArtifactRef } from './artifacts.js';
import { upstreamArtifactsSchema } from './artifacts.js';
import type { TASK_STATUSES } from './vocabulary.js';
import { TAG_RE, TERMINAL_TASK_STATUSES } from './vocabulary.js';

/** The longest `workingDir` a task may name. */
export const MAX_WORKING_DIR = 4096;

/** Task priorities, highest first. Strings on the wire, never ordinals. */
export const TaskPriority = {
  CRITICAL: 'critical',
  HIGH: 'high',
  NORMAL: 'normal',
  LOW: 'low',
  BACKGROUND: 'background',
} as const;
export type TaskPriority = (typeof TaskPriority)[keyof typeof TaskPriority];

/** Every priority, highest first (the order the ready queue serves them in). */
export const PRIORITIES = [
  'critical',
  'high',
  'normal',
  'low',
  'background',
] as const satisfies readonly TaskPriority[];

/** Queue rank of each priority: 0 is served first. */
export const PRIORITY_RANK = Object.fromEntries(PRIORITIES.map((p, i) => [p, i])) as Readonly<
  Record<TaskPriority, number>
>;

export { OPEN_TASK_STATUSES, TASK_STATUSES, TERMINAL_TASK_STATUSES } from './vocabulary.js';
/** Lifecycle states: pending (waiting on dependencies), ready, running, retrying, then one terminal state. */
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The terminal statuses as a set (a step's or item's status may be checked against it too). */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(TERMINAL_TASK_STATUSES);

/** Whether a task status is final (`completed`, `failed`, `timed_out`, `cancelled`, `skipped`): nothing changes it after. */
export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** Retries of a thrown error when a task or step does not say (`maxRetries`). */
export const DEFAULT_MAX_RETRIES = 3;

/** Backoff between attempts, in seconds. Delay n = min(maxDelay, initialDelay·factor^(n-1)) ± jitter. */
export const retryPolicySchema = z
  .object({
    initialDelay: z.number().finite('must be a finite number of seconds').min(0),
    factor: z.number().finite('must be a finite number').min(1),
    maxDelay: z.number().finite('must be a finite number of seconds').min(0),
    /** Fraction (0..1) by which each delay is spread at random. */
    jitter: z.number().min(0).max(1),
  })
  .strict();
/** Backoff between attempts, in seconds: delay n = min(maxDelay, initialDelay·factor^(n-1)) ± jitter. */
export type RetryPolicy = z.output<typeof retryPolicySchema>;

/** A retry policy as given (any subset of the fields); {@link retryProblems} checks it against the defaults. */
export const retrySchema = retryPolicySchema.partial();

/** A module or action name: `core`, `echo`, `write-file`. */
export const TASK_NAME_RE = /^[A-Za-z_][\w-]*$/;
const maxChars = (limit: number, name: string): [number, string] => [
  limit,
  `must be at most ${limit} characters (limit ${name})`,
];

/**
 * The fields a task and a workflow step share, with one schema each: a definition is refused at validation for
 * exactly what its steps' tasks would be refused for at submission.
 */
export const taskFieldSchemas = {
  parameters: z.record(z.unknown()).optional(),
  priority: z.enum(PRIORITIES).optional(),
  /** Resource requirements, e.g. `{ cpu: { cores: 1 } }`, taken when an attempt starts (resource_aware sessions). */
  resources: z
    .record(z.record(z.number().finite('must be a finite amount').positive('must be a positive amount')))
    .optional(),
  /** Hard time limit of one attempt, in seconds. */
  timeout: z.number().finite().positive('must be a positive number of seconds').optional(),
  /** Retries after the first attempt (default 3). */
  maxRetries: z.number().int('must be a whole number').min(0).max(1000).optional(),
  retry: retrySchema.optional(),
  /** Passed to the action so it can recognise a re-run. */
  idempotencyKey: z
    .string()
    .max(...maxChars(LIMITS.maxIdempotencyKeyLength, 'maxIdempotencyKeyLength'))
    .optional(),
  metadata: z.record(z.unknown()).optional(),
  /** At most `limit` tasks holding the same key run at once: `{ key: '{{params.tenant}}', limit: 2 }` or a list. */
  concurrency: concurrencySchema.optional(),
  /** Spends units of a named rate limit (`engine.createRateLimit`) before each attempt. */
  rateLimit: rateLimitUseSchema.optional(),
};

export { TAG_RE } from './vocabulary.js';
export const placementSchema = z
  .object({
    tags: z
      .array(z.string().regex(TAG_RE, 'must be a tag like "gpu" or "big-mem" (letters, digits, _ . -; at most 64)'))
      .max(32)
      .refine((t) => new Set(t).size === t.length, 'lists the same tag twice'),
  })
  .strict();

/** Longest `traceparent` kept (a W3C one is 55 characters; the rest of a longer one is not looked at). */
export const MAX_TRACEPARENT_LENGTH = 512;

const idSchema = z
  .string()
  .min(1)
  .max(...maxChars(LIMITS.maxIdLength, 'maxIdLength'));

export const taskInputSchema = z
  .object({
    id: idSchema.optional(),
    name: idSchema.optional(),
    module: z.string().regex(TASK_NAME_RE, 'must be a module name like "core"'),
    action: z.string().regex(TASK_NAME_RE, 'must be an action name like "echo"'),
    /** Ids of tasks that must complete first. */
    dependencies: z.array(z.string().min(1)).optional(),
    /** The session it runs in (its mode and limits apply); the default session when absent. */
    sessionId: idSchema.optional(),
    ...taskFieldSchemas,
    /** An absolute folder the action's file paths resolve against (a project's folder); the process's cwd when absent. */
    workingDir: z.string().min(1).max(MAX_WORKING_DIR).refine(isAbsolute, 'must be an absolute path').optional(),
    /** Outputs of upstream workflow steps by step name, handed to the action as `ctx.upstream` (set by workflow runs). */
    upstream: z.record(z.unknown()).optional(),
    /** The upstream steps' artifacts, put in its working folder before it runs (set by workflow runs). */
    artifacts: upstreamArtifactsSchema.optional(),
    /** Where it may run: only on a worker that has every one of these tags (`codomyrmex worker --tags`). */
    placement: placementSchema.optional(),
    /**
     * The W3C trace context it was submitted in (`00-<trace id>-<span id>-<flags>`): its attempts' spans are children
     * of that span. The engine sets it when tracing is on; a malformed one starts a new trace.
     */
    traceparent: z.string().max(MAX_TRACEPARENT_LENGTH).optional(),
    /**
     * A sticky key: every task with the same key runs on the worker the first of them started on, while that worker
     * is there (a workflow step with `affinity: "run"` gets its run's id).
     */
    affinity: z
      .string()
      .min(1)
      .max(...maxChars(LIMITS.maxIdLength, 'maxIdLength'))
      .optional(),
  })
  .strict();

/** The backoff of a task that gives none: 1 s, doubling, at most 60 s, ±10%. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = { initialDelay: 1, factor: 2, maxDelay: 60, jitter: 0.1 };

/** What a caller gives to create a task (the schema's input). Everything but `module` and `action` has a default. */
export type TaskInput = z.input<typeof taskInputSchema>;

type Given = z.output<typeof taskInputSchema>;
/** The fields with a default, required and never undefined. */
type Filled<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };
/** A task spec after validation, defaults filled in: plain data, safe to clone and send (derived from the schema). */
export type TaskSpec = Filled<
  Pick<
    Given,
    | 'id'
    | 'name'
    | 'module'
    | 'action'
    | 'parameters'
    | 'priority'
    | 'dependencies'
    | 'resources'
    | 'maxRetries'
    | 'metadata'
  >
> &
  Pick<
    Given,
    | 'timeout'
    | 'idempotencyKey'
    | 'sessionId'
    | 'workingDir'
    | 'upstream'
    | 'artifacts'
    | 'placement'
    | 'affinity'
    | 'concurrency'
    | 'rateLimit'
    | 'traceparent'
  > & { retry: RetryPolicy };

/** Problems of a retry policy once merged with the defaults (`maxDelay` below `initialDelay` never backs off as asked). */
export function retryProblems(
  retry: Partial<Record<keyof RetryPolicy, number | undefined>> | undefined,
  where: string,
): string[] {
  const r = mergeRetry(retry);
  return r.maxDelay < r.initialDelay
    ? [
        `${where}.retry.maxDelay: must be at least retry.initialDelay (${r.initialDelay} s; maxDelay is ${r.maxDelay} s${retry?.maxDelay === undefined ? ', the default' : ''})`,
      ]
    : [];
}

/**
 * A unit of work: one `module.action` call with parameters. Construct with `new Task({...})`; the id is a uuid
 * unless given.
 *
 * @example
 * const t = new Task({ name: 'setup', module: 'core', action: 'echo', priority: TaskPriority.HIGH });
 */
export class Task {
  readonly id: string;
  name: string;
  module: string;
  action: string;
  parameters: Record<string, unknown>;
  priority: TaskPriority;
  dependencies: string[];
  resources: Record<string, Record<string, number>>;
  timeout: number | undefined;
  maxRetries: number;
  retry: RetryPolicy;
  idempotencyKey: string | undefined;
  metadata: Record<string, unknown>;
  sessionId: string | undefined;

  constructor(input: TaskInput) {
    this.id = input.id ?? newId();
    this.name = input.name ?? `${input.module}.${input.action}`;
    this.module = input.module;
    this.action = input.action;
    this.parameters = input.parameters ?? {};
    this.priority = input.priority ?? TaskPriority.NORMAL;
    this.dependencies = input.dependencies ?? [];
    this.resources = input.resources ?? {};
    this.timeout = input.timeout;
    this.maxRetries = input.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.retry = mergeRetry(input.retry);
    this.idempotencyKey = input.idempotencyKey;
    this.metadata = input.metadata ?? {};
    this.sessionId = input.sessionId;
  }
}

/** Lowercase hex digits of every byte, as ASCII: byte `b` is `HEX[2b]`, `HEX[2b + 1]`. */
const HEX = Buffer.from(Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).join(''), 'latin1');
/** Ids made from one fill of random bytes. */
const IDS_PER_FILL = 256;
const randomBytes = Buffer.alloc(16 * IDS_PER_FILL);
let nextRandom = IDS_PER_FILL;
/** Where an id is written, its dashes in place. */
const idText = Buffer.from('00000000-0000-4000-8000-000000000000', 'latin1');

/**
 * A random (version 4) uuid as one flat string. Written straight into one flat one-byte string (56 B on the heap):
 * Node's `randomUUID()` returns a rope of ~14 fragments (~490 B) that a task, keeping its id for life, had to flatten
 * again. Its random bytes come from the same CSPRNG, `IDS_PER_FILL` ids' worth at a time (as `randomUUID` buffers).
 */
export function newId(): string {
  if (nextRandom === IDS_PER_FILL) {
    randomFillSync(randomBytes);
    nextRandom = 0;
  }
  const bytes = randomBytes;
  const at = nextRandom++ * 16;
  bytes[at + 6] = ((bytes[at + 6] as number) & 0x0f) | 0x40;
  bytes[at + 8] = ((bytes[at + 8] as number) & 0x3f) | 0x80;
  let j = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) j++;
    const b = (bytes[at + i] as number) * 2;
    idText[j++] = HEX[b] as number;
    idText[j++] = HEX[b + 1] as number;
  }
  return idText.toString('latin1', 0, 36);
}

/** A retry policy as given, with the defaults filled in for the fields it leaves out. */
export function mergeRetry(retry: Partial<Record<keyof RetryPolicy, number | undefined>> | undefined): RetryPolicy {
  const out = { ...DEFAULT_RETRY };
  if (retry)
    for (const k of ['initialDelay', 'factor', 'maxDelay', 'jitter'] as const)
      if (retry[k] !== undefined) out[k] = retry[k];
  return out;
}

/** How a task ended (or where it is, while it runs). */
export interface TaskResult {
  taskId: string;
  name: string;
  status: TaskStatus;
  success: boolean;
  result: unknown;
  error: SerializedError | null;
  attempts: number;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  /** The files its successful attempt stored for the steps after it (`ctx.artifacts.put`); absent when none. */
  artifacts?: ArtifactRef[] | undefined;
  /**
   * The worker of its latest attempt: a remote worker's name (`codomyrmex worker --name`), or `local` for the
   * engine's own threads. Absent until an attempt started.
   */
  worker?: string | undefined;
}

/** Retry delay in ms before attempt `attempt + 1`, given `attempt` attempts so far (1-based). */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** Math.max(0, attempt - 1));
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(Math.min(policy.maxDelay, base + spread) * 1000));
}

export type { SerializedError };
