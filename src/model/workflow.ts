import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LIMITS, RESERVED_NAMES } from './limits.js';
import type { RetryPolicy, TaskPriority, TaskResult } from './task.js';
import { taskFieldSchemas } from './task.js';
import type { ConcurrencyInput } from './flow.js';

/**
 * One step of a workflow: a `module.action` call, its parameters (which may hold `{{templates}}`), and the steps
 * it waits for.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WorkflowStep {
  name: string;
  module: string;
  action: string;
  parameters?: Record<string, unknown> | undefined;
  /** Names of steps that must end first. */
  dependencies?: string[] | undefined;
  /** Hard time limit of one attempt, in seconds. */
  timeout?: number | undefined;
  maxRetries?: number | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  priority?: TaskPriority | undefined;
  resources?: Record<string, Record<string, number>> | undefined;
  /** Dependents run even if this step fails (they see `{{name.error}}` and `{{name.status}}`). */
  continueOnFailure?: boolean | undefined;
  /** Runs only when this holds, e.g. `{{check.output.changed}}` or `{{scan.output.issues}} > 0`; else `skipped`. */
  when?: string | undefined;
  idempotencyKey?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** At most `limit` tasks holding the key run at once; templates see the run (`{{params.tenant}}`). */
  concurrency?: ConcurrencyInput | undefined;
  /** Spends units of a named rate limit before each attempt. */
  rateLimit?: { name: string; key?: string | number | undefined; units?: number | undefined } | undefined;
}

/**
 * The seed's `WorkflowStep(name=..., module=..., ...)`: `new WorkflowStep({ name, module, action })` builds a step
 * (a plain object of the same shape works everywhere a step is asked for).
 */
// The class gives the seed's constructor; the interface of the same name gives its fields.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class WorkflowStep {
  constructor(input: WorkflowStep) {
    Object.assign(this, input);
  }
}

/** Builds a step (the seed's `WorkflowStep(...)`). */
export function step(input: WorkflowStep): WorkflowStep {
  return { ...input };
}

export interface WorkflowDefinition {
  name: string;
  description?: string | undefined;
  version?: string | undefined;
  steps: WorkflowStep[];
  /** Steps may overlap only when they share a group; dependencies still order them. */
  parallelGroups?: string[][] | undefined;
  /** Defaults of run parameters, readable as `{{params.x}}`. */
  params?: Record<string, unknown> | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** A stored definition: normalised, versioned and hashed. */
export interface StoredWorkflow {
  name: string;
  description: string;
  version: string;
  hash: string;
  steps: WorkflowStep[];
  parallelGroups: string[][] | null;
  params: Record<string, unknown>;
  metadata: Record<string, unknown>;
  createdAt: number;
  /** The file it was loaded from, if any. */
  source: string | null;
}

/** A step's result inside a run: a task result, plus the step name. */
export type StepResult = TaskResult & { step: string };

/** What `executeWorkflow` resolves with. */
export interface WorkflowResult {
  success: boolean;
  status: WorkflowRunStatus;
  workflowName: string;
  runId: string;
  version: string;
  hash: string;
  steps: Record<string, StepResult>;
  durationMs: number;
  /** Problems that did not stop the run (parallel-group warnings, ...). */
  warnings: string[];
}

/** The project a run belongs to, as its templates see it: `{{project.name}}`, `{{project.path}}`, `{{project.config.x}}`. */
export interface RunProject {
  name: string;
  path: string;
  config: Record<string, unknown>;
}

/** Where a run's file actions work, and the project it belongs to (engine.executeProjectWorkflow). */
export interface RunContext {
  /** An absolute folder the steps' file paths resolve against; the process's cwd when absent. */
  workingDir?: string | undefined;
  project?: RunProject | undefined;
  /** What started the run, when not a direct request: a schedule's slot or a trigger's message. */
  origin?: RunOrigin | undefined;
}

/** A run started by a schedule (`scheduleName`, the slot's `scheduledFor` in epoch ms) or by a trigger (`triggerName`). */
export interface RunOrigin {
  scheduleName?: string;
  scheduledFor?: number;
  triggerName?: string;
}

/** A run as stored and returned by `getRun`. */
export interface WorkflowRun extends WorkflowResult {
  params: Record<string, unknown>;
  sessionId: string | null;
  startedAt: number;
  endedAt: number | null;
  /** Null unless the run was given a working folder. */
  workingDir?: string | null;
  /** Null unless the run belongs to a project. */
  project?: RunProject | null;
  /** The schedule that started the run (absent otherwise). */
  scheduleName?: string;
  /** The slot time (epoch ms) of a scheduled run. */
  scheduledFor?: number;
  /** The trigger that started the run (absent otherwise). */
  triggerName?: string;
}

const name = z.string().regex(/^[A-Za-z_][\w-]*$/, 'must start with a letter or _ and hold only letters, digits, _ and -');

const stepName = name
  .max(LIMITS.maxStepNameLength, `must be at most ${LIMITS.maxStepNameLength} characters (limit maxStepNameLength: a step's task id is "<runId>.<step>")`)
  .refine((n) => !RESERVED_NAMES.has(n), (n) => ({ message: `"${n}" is reserved (${[...RESERVED_NAMES].join(', ')} cannot be step names); rename the step` }));

/** A step: its own fields, plus the fields it shares with a task, checked by the same schemas ({@link taskFieldSchemas}). */
export const workflowStepSchema = z
  .object({
    name: stepName,
    module: name,
    action: name,
    dependencies: z.array(z.string()).optional(),
    continueOnFailure: z.boolean().optional(),
    when: z.string().min(1).max(LIMITS.maxConditionLength, `must be at most ${LIMITS.maxConditionLength} characters (limit maxConditionLength)`).optional(),
    ...taskFieldSchemas,
  })
  .strict();

export const workflowDefinitionSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_][\w.-]*$/, 'must hold only letters, digits, _, . and -').max(200),
    description: z.string().optional(),
    version: z.union([z.string().min(1), z.number()]).transform(String).optional(),
    steps: z.array(z.unknown()).min(1, 'a workflow needs at least one step').max(LIMITS.maxSteps, `must hold at most ${LIMITS.maxSteps} steps (limit maxSteps)`),
    parallelGroups: z.array(z.array(z.string()).min(1)).optional(),
    params: z.record(z.unknown()).optional(),
    metadata: z.record(z.unknown()).optional(),
  })
  .strict();

/** snake_case keys of the seed, accepted in files, MCP arguments and NATS payloads. Never applied inside parameters. */
const SNAKE: ReadonlyMap<string, string> = new Map(Object.entries({
  max_retries: 'maxRetries',
  parallel_groups: 'parallelGroups',
  continue_on_failure: 'continueOnFailure',
  idempotency_key: 'idempotencyKey',
  initial_delay: 'initialDelay',
  max_delay: 'maxDelay',
  depends_on: 'dependencies',
}));

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
      return st;
    });
  }
  return d;
}

/** A stable hash of what a definition does (name, steps, groups, params), independent of key order. */
export function hashDefinition(def: Pick<StoredWorkflow, 'name' | 'steps' | 'parallelGroups' | 'params'>): string {
  return createHash('sha256').update(canonicalJson({ name: def.name, steps: def.steps, parallelGroups: def.parallelGroups, params: def.params })).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** How a workflow run ends (or `running`). */
export type WorkflowRunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A workflow as listed. */
export interface WorkflowSummary {
  name: string;
  description: string;
  version: string;
  versions: string[];
  hash: string;
  steps: number;
  source: string | null;
  createdAt: number;
}

export interface WorkflowPerformance {
  workflowName: string;
  runs: number;
  successes: number;
  failures: number;
  cancelled: number;
  successRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
  lastRun: { runId: string; status: WorkflowRunStatus; endedAt: number; durationMs: number } | null;
}

/** What `execute` and `start` of a workflow take besides its name (`workingDir`, `project`: see {@link RunContext}). */
export interface RunRequest extends RunContext {
  params?: Record<string, unknown> | undefined;
  /**
   * The run's id (default: a new uuid; at most 36 characters). Starting a run whose id exists answers that run and
   * starts nothing: schedules and triggers derive ids from the slot or message so each starts once.
   */
  runId?: string | undefined;
  sessionId?: string | undefined;
  version?: string | undefined;
}
