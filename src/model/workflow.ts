import { z } from 'zod';
import { LIMITS, RESERVED_NAMES } from './limits.js';
import type { RetryPolicy, TaskPriority, TaskResult, TaskStatus } from './task.js';
import { placementSchema, taskFieldSchemas } from './task.js';
import type { ConcurrencyInput } from './flow.js';
import type { DebounceSpec, RunConcurrencyRule } from './flow.js';
import { concurrencySchema, debounceSchema, runConcurrencySchema } from './flow.js';
import type { RUN_STATUSES, TERMINAL_RUN_STATUSES } from './vocabulary.js';

/** How a waiting step ends when its signal does not come in time (default `fail`). */
export type WaitTimeoutPolicy = 'fail' | 'skip' | 'continue';

/** A step that waits for a signal sent to its run (`signalRun`); its output is the signal's payload. */
export interface WaitForSignal {
  /** A plain name (letters, digits, `_`, `-`, `.`). */
  signal: string;
  /** How long to wait; no limit when absent. */
  timeoutSeconds?: number | undefined;
  /** `fail` (default): the step ends `timed_out`; `skip`: it ends `skipped`; `continue`: it completes with `null`. */
  onTimeout?: WaitTimeoutPolicy | undefined;
}

/**
 * One step of a workflow. Its kind is one of: a `module.action` call (its parameters may hold `{{templates}}`);
 * a sub-workflow (`workflow: NAME`, a child run); a durable wait (`waitFor` a signal, `sleep`, `sleepUntil`).
 * `forEach` runs an action or a sub-workflow once per item of a list. See docs/workflow-language.md.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WorkflowStep {
  name: string;
  /** The module of a `module.action` step (absent on sub-workflow and wait steps). */
  module?: string | undefined;
  action?: string | undefined;
  /** Runs this workflow (its latest version) as a child run, with `parameters` as its run parameters. */
  workflow?: string | undefined;
  /**
   * Runs the step once per item: a `{{template}}` that resolves to an array, or a literal array. Inside
   * `parameters`, `{{item}}`, `{{item.field}}` and `{{index}}` read the current item.
   */
  forEach?: unknown;
  /** Pauses until the run receives this signal. */
  waitFor?: WaitForSignal | undefined;
  /** Pauses this long: seconds, or a duration such as `"10m"`, `"90s"`, `"2h"`, `"1d"`. */
  sleep?: string | number | undefined;
  /** Pauses until this ISO time (may be a template). */
  sleepUntil?: string | undefined;
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
  /**
   * A number (with `forEach`): how many items run at once (default: no bound beyond the engine's). A rule
   * `{ key, limit }` or an array of rules: at most `limit` tasks holding the key run at once; templates see the run
   * (`{{params.tenant}}`).
   */
  concurrency?: number | ConcurrencyInput | undefined;
  /** Spends units of a named rate limit before each attempt. */
  rateLimit?: { name: string; key?: string | number | undefined; units?: number | undefined } | undefined;
  /** Runs only on remote workers that have every one of these tags (`codomyrmex worker --tags`). */
  placement?: { tags: string[] } | undefined;
  /**
   * `run`: its tasks run on the worker the run's first sticky step started on (Hatchet's sticky assignment), another
   * only if that one is lost. A workflow's `affinity: "run"` gives it to every step that does not say `none`
   * (a stored definition's steps carry only `run`).
   */
  affinity?: 'run' | 'none' | undefined;
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

/** A workflow as written (YAML, JSON or code): its steps and its optional params, concurrency, debounce and timeout. Every field: docs/workflows.md. */
export interface WorkflowDefinition {
  name: string;
  description?: string | undefined;
  version?: string | undefined;
  steps: WorkflowStep[];
  /** Steps may overlap only when they share a group; dependencies still order them. */
  parallelGroups?: string[][] | undefined;
  /** `run`: every step (but those with `affinity: "none"`) stays on one worker (see {@link WorkflowStep.affinity}). */
  affinity?: 'run' | undefined;
  /** Defaults of run parameters, readable as `{{params.x}}`. */
  params?: Record<string, unknown> | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** At most `limit` runs holding the same key run at once (see docs/flow-control.md). */
  concurrency?: RunConcurrencyRule | RunConcurrencyRule[] | undefined;
  /** Submissions with the same key collapse into one run, started `seconds` after the last. */
  debounce?: DebounceSpec | undefined;
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
  /** Run-level concurrency rules (absent: none). */
  concurrency?: RunConcurrencyRule[] | undefined;
  /** Debounce of its runs (absent: none). */
  debounce?: DebounceSpec | undefined;
}

/** Step statuses beyond a task's: a step pausing on a signal or a timer is `waiting`. */
export type StepStatus = TaskStatus | 'waiting';

/** What a waiting step waits for (on its result while it waits: `getRun`, `run show`, `explainTask`). */
export interface StepWaiting {
  /** The signal name (`waitFor`), or null for a sleep. */
  signal: string | null;
  /** When the wait ends by itself (epoch ms): a sleep's end or a `waitFor`'s timeout; null: no limit. */
  until: number | null;
  /** When the step began waiting (epoch ms); kept across restarts. */
  since: number;
}

/**
 * A step's result inside a run: a task result plus the step name, and, by step kind:
 * `items` (forEach: one result per item, in input order), `childRunId` (a sub-workflow step),
 * `waiting` (a step that waits), `reused`/`reusedFrom` (a re-run kept this step's output from an earlier run).
 * These field names are a stable contract (schedules, the console and the CLI read them).
 */
export type StepResult = Omit<TaskResult, 'status'> & {
  status: StepStatus;
  step: string;
  /** forEach: the result of each item, in input order (an item not yet ended shows `pending` or `running`). */
  items?: ItemResult[] | undefined;
  /** A sub-workflow step: the child run's id. */
  childRunId?: string | undefined;
  /** A step that is waiting: what for and until when. */
  waiting?: StepWaiting | undefined;
  /** True when a re-run kept this step's result from the run it retried instead of running it again. */
  reused?: boolean | undefined;
  /** The run whose result was kept (with `reused`). */
  reusedFrom?: string | undefined;
};

/** One item of a forEach step: its task's result (or its child run's, with `childRunId`), and its index. */
export type ItemResult = TaskResult & { index: number; childRunId?: string | undefined };

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
  /** A run that failed or was cancelled: the step that failed first (in definition order) and its error. */
  error?: RunError | null;
}

/** What made a run fail: its first failed step, that step's error, and how many other steps did not complete. */
export interface RunError {
  step: string;
  status: string;
  code: string;
  message: string;
  /** Other steps that did not complete (skipped after it, or failed too). */
  others: number;
}

const name = z
  .string()
  .regex(/^[A-Za-z_][\w-]*$/, 'must start with a letter or _ and hold only letters, digits, _ and -');

const stepName = name
  .max(
    LIMITS.maxStepNameLength,
    `must be at most ${LIMITS.maxStepNameLength} characters (limit maxStepNameLength: a step's task id is "<runId>.<step>")`,
  )
  .refine(
    (n) => !RESERVED_NAMES.has(n),
    (n) => ({
      message: `"${n}" is reserved (${[...RESERVED_NAMES].join(', ')} cannot be step names); rename the step`,
    }),
  );

/** A signal name: plain, so it can be a CLI argument and a NATS subject token. */
export const signalNameSchema = z
  .string()
  .regex(
    /^[A-Za-z_][\w.-]{0,127}$/,
    'must be a plain name (a letter or _, then letters, digits, _, - or .; at most 128)',
  );

/** A step: its own fields, plus the fields it shares with a task, checked by the same schemas ({@link taskFieldSchemas}). */
export const workflowStepSchema = z
  .object({
    name: stepName,
    module: name.optional(),
    action: name.optional(),
    workflow: z
      .string()
      .regex(/^[A-Za-z0-9_][\w.-]*$/, 'must be a workflow name')
      .max(200)
      .optional(),
    forEach: z
      .union([z.string().min(1), z.array(z.unknown())], {
        errorMap: () => ({ message: 'must be a {{template}} that resolves to an array, or a literal array' }),
      })
      .optional(),
    waitFor: z
      .object({
        signal: signalNameSchema,
        timeoutSeconds: z.number().finite().positive('must be a positive number of seconds').optional(),
        onTimeout: z.enum(['fail', 'skip', 'continue']).optional(),
      })
      .strict()
      .optional(),
    sleep: z.union([z.string(), z.number()]).optional(),
    sleepUntil: z.string().min(1).optional(),
    dependencies: z.array(z.string()).optional(),
    continueOnFailure: z.boolean().optional(),
    when: z
      .string()
      .min(1)
      .max(
        LIMITS.maxConditionLength,
        `must be at most ${LIMITS.maxConditionLength} characters (limit maxConditionLength)`,
      )
      .optional(),
    ...taskFieldSchemas,
    /** Where its tasks may run: only on remote workers with every one of these tags (as a task's `placement`). */
    placement: placementSchema.optional(),
    /** `run`: stays on the worker of the run's sticky steps; `none`: not sticky under a workflow's `affinity: "run"`. */
    affinity: z.enum(['run', 'none']).optional(),
    // A number bounds a forEach step's items at once; a rule (or rules) is a concurrency key, as on a task.
    concurrency: z
      .union([z.number().int('must be a whole number').positive('must be 1 or more'), concurrencySchema])
      .optional(),
  })
  .strict();

export const workflowDefinitionSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_][\w.-]*$/, 'must hold only letters, digits, _, . and -')
      .max(200),
    description: z.string().optional(),
    version: z
      .union([z.string().min(1), z.number()])
      .transform(String)
      .optional(),
    steps: z
      .array(z.unknown())
      .min(1, 'a workflow needs at least one step')
      .max(LIMITS.maxSteps, `must hold at most ${LIMITS.maxSteps} steps (limit maxSteps)`),
    parallelGroups: z.array(z.array(z.string()).min(1)).optional(),
    /** `run`: every step (but those with `affinity: "none"`) runs on one worker (see `WorkflowStep.affinity`). */
    affinity: z.enum(['run']).optional(),
    params: z.record(z.unknown()).optional(),
    metadata: z.record(z.unknown()).optional(),
    /** Run-level concurrency keys (templates over `{{params.x}}`), with a strategy each. */
    concurrency: runConcurrencySchema.optional(),
    /** Collapse submissions with the same key into one run (trailing). */
    debounce: debounceSchema.optional(),
  })
  .strict();

export { RUN_STATUSES, TERMINAL_RUN_STATUSES } from './vocabulary.js';
/** How a workflow run ends (or `running`). */
export type WorkflowRunStatus = (typeof RUN_STATUSES)[number];
/** How a workflow run ended. */
export type TerminalRunStatus = (typeof TERMINAL_RUN_STATUSES)[number];

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

/** Run counts and durations of one workflow. */
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
