import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { WorkflowRunStatus } from '../bus/protocol.js';
import type { RetryPolicy, TaskPriority, TaskResult } from './task.js';

/**
 * One step of a workflow: a `module.action` call, its parameters (which may hold `{{templates}}`), and the steps
 * it waits for.
 */
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
}

const name = z.string().regex(/^[A-Za-z_][\w-]*$/, 'must start with a letter or _ and hold only letters, digits, _ and -');

const retrySchema = z
  .object({ initialDelay: z.number().min(0), factor: z.number().min(1), maxDelay: z.number().min(0), jitter: z.number().min(0).max(1) })
  .partial()
  .strict();

export const workflowStepSchema = z
  .object({
    name: name.max(200),
    module: name,
    action: name,
    parameters: z.record(z.unknown()).optional(),
    dependencies: z.array(z.string()).optional(),
    timeout: z.number().finite().positive('must be a positive number of seconds').optional(),
    maxRetries: z.number().int('must be a whole number').min(0).max(1000).optional(),
    retry: retrySchema.optional(),
    priority: z.enum(['critical', 'high', 'normal', 'low', 'background']).optional(),
    resources: z.record(z.record(z.number())).optional(),
    continueOnFailure: z.boolean().optional(),
    when: z.string().min(1).optional(),
    idempotencyKey: z.string().optional(),
    metadata: z.record(z.unknown()).optional(),
  })
  .strict();

export const workflowDefinitionSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_][\w.-]*$/, 'must hold only letters, digits, _, . and -').max(200),
    description: z.string().optional(),
    version: z.union([z.string().min(1), z.number()]).transform(String).optional(),
    steps: z.array(z.unknown()).min(1, 'a workflow needs at least one step'),
    parallelGroups: z.array(z.array(z.string()).min(1)).optional(),
    params: z.record(z.unknown()).optional(),
    metadata: z.record(z.unknown()).optional(),
  })
  .strict();

/** snake_case keys of the seed, accepted in files, MCP arguments and NATS payloads. Never applied inside parameters. */
const SNAKE: Record<string, string> = {
  max_retries: 'maxRetries',
  parallel_groups: 'parallelGroups',
  continue_on_failure: 'continueOnFailure',
  idempotency_key: 'idempotencyKey',
  initial_delay: 'initialDelay',
  max_delay: 'maxDelay',
  depends_on: 'dependencies',
};

/** Renames the seed's snake_case keys at the definition, step and retry levels. */
export function camelizeKeys(obj: unknown): unknown {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return obj;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[SNAKE[k] ?? k] = v;
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
