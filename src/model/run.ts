/**
 * A workflow run as the engine keeps and shows it (`WorkflowRun`), and what starting one takes (`RunRequest`, its
 * `RunContext`): where it works, where it came from, its lineage among parent and child runs, and why it is held back.
 */
import type { RunInputs } from './artifacts.js';
import type { WorkflowResult } from './workflow.js';

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
  /**
   * The W3C trace context the run was started in (`00-<trace id>-<span id>-<flags>`): its span is that span's child.
   * Set by the engine when tracing is on (the active span of a library call, a NATS command's `traceparent` header);
   * a malformed one starts a new trace.
   */
  traceparent?: string | undefined;
  /** Files uploaded from the client for some parameters (see {@link RunInputs}); the run id must be the one they were uploaded under. */
  inputs?: RunInputs | undefined;
}

/** A run started by a schedule (`scheduleName`, the slot's `scheduledFor` in epoch ms) or by a trigger (`triggerName`). */
export interface RunOrigin {
  scheduleName?: string;
  scheduledFor?: number;
  triggerName?: string;
}

/**
 * How a run relates to others: the parent of a child run (a sub-workflow step) and the run a re-run retried.
 * Stable fields (schedules, the console and the CLI read them); null when not set.
 */
export interface RunLineage {
  /** The run whose sub-workflow step started this one. */
  parentRunId?: string | null;
  /** That step's name. */
  parentStep?: string | null;
  /** With a forEach sub-workflow step: the item's index. */
  parentItem?: number | null;
  /** Nesting depth: a top-level run is 1, its children 2, ... (at most `LIMITS.maxWorkflowDepth`). */
  depth?: number;
  /** The run this one re-ran (`retryRun`). */
  retryOf?: string | null;
}

/** A run as stored and returned by `getRun`. */
export interface WorkflowRun extends WorkflowResult, RunLineage {
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
  /** The W3C trace context it was started in (absent unless tracing was on): a resumed run's span continues that trace. */
  traceparent?: string;
  /**
   * The W3C `traceparent` of the run's own span when it first started (absent unless tracing was on and sampled it):
   * kept across restarts, so the span of a run resumed after one links to the trace it started in.
   */
  runSpan?: string;
  /** Files uploaded from the client as inputs (absent unless `workflow run --upload` sent some). */
  inputs?: RunInputs;
  /** A run that has not started because a concurrency key of its workflow is at its limit (absent otherwise). */
  queued?: RunQueuedOn | undefined;
  /** A run held back by its workflow's `debounce` window (absent otherwise). */
  debounce?: RunDebounce | undefined;
}

/** What holds a queued run back: the run-level key at its limit, its holders and its queue. */
export interface RunQueuedOn {
  key: string;
  limit: number;
  /** Runs holding the key now (the oldest first, at most 10). */
  holders: string[];
  /** Runs queued on the key, this one included. */
  waiting: number;
  /** When it began to wait (epoch ms). */
  since: number;
}

/** A debounced run's window: it starts at `until` unless another submission with its key pushes it back. */
export interface RunDebounce {
  key: string;
  /** When the run starts (epoch ms). */
  until: number;
  /** The first submission (epoch ms): `maxWaitSeconds` counts from it. */
  first: number;
  /** Submissions collapsed into this run, the first included. */
  submissions: number;
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
  /**
   * A run started with a key already used within the engine's `idempotencyTtlSeconds` is not started again: the call
   * answers with the first run (its id, or its result for `executeWorkflow`).
   */
  idempotencyKey?: string | undefined;
}
