import type { Span } from '@opentelemetry/api';
import type { ZodType, ZodTypeDef } from 'zod';

/**
 * A step's files for the steps after it: `put` registers a file the action wrote, stored once the attempt succeeds
 * and put into the working folder of every dependent step, wherever it runs; `upstream` lists the files of the
 * steps this one depends on, already there.
 */
export interface ActionArtifacts {
  /**
   * Registers a file inside the working folder as an artifact named `name` (default: its path relative to the
   * working folder). Throws when the file is missing, outside the working folder, or the name is taken.
   *
   * @example
   * await writeFile(join(ctx.workingDir, 'out/chart.svg'), svg);
   * ctx.artifacts.put('out/chart.svg', 'svg');   // a dependent step reads {{chart.artifacts.svg}}
   */
  put(path: string, name?: string): void;
  /** The upstream steps' artifacts: step → name → path relative to the working folder (in this run only). */
  readonly upstream: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The path of upstream step `step`'s artifact `name`; throws naming both when that step did not produce it in this run. */
  path(step: string, name: string): string;
}

/** What an action sees besides its parameters. */
export interface ActionContext {
  /**
   * The attempt's OpenTelemetry span when the engine traces and samples the attempt's trace (undefined otherwise); it
   * is also the active context while the action runs, so spans the action starts
   * (`trace.getTracer('mine').startActiveSpan(...)`, an instrumented HTTP client) are its children. It carries the
   * attempt's ids only: set attributes on your own spans. In an unsampled attempt the action's spans record nothing.
   */
  readonly span?: Span | undefined;
  /** Aborted when the task is cancelled or times out. Long actions should watch it. */
  readonly signal: AbortSignal;
  readonly taskId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Set when the task has one; lets an action notice it is a re-run. */
  readonly idempotencyKey: string | undefined;
  /**
   * The working folder: the task's `workingDir` (a project's folder, a run's `workingDir`), else the process's
   * cwd. Resolve relative paths against it; file actions and `artifacts.put` stay inside it.
   */
  readonly workingDir: string;
  /**
   * Outputs of the workflow steps this step depends on, by step name (completed ones only; `{}` outside a
   * workflow). Lets a step use its upstream results without templates; explicit parameters still win.
   */
  readonly upstream: Readonly<Record<string, unknown>>;
  /** Files for the steps after this one, and the files of the steps before it (see {@link ActionArtifacts}). */
  readonly artifacts: ActionArtifacts;
  /**
   * Reports progress (0..1 or any JSON value) to the main thread, where it becomes a `task_progress` event. Resolves
   * once the main thread has it. A no-op unless the action sets `channel`.
   */
  progress(value: unknown): Promise<void>;
  /** Sends a log line to the main thread (a `task_log` event). A no-op unless the action sets `channel`. */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): Promise<void>;
}

/** One action of a module. */
export interface ActionDefinition<P = unknown, R = unknown> {
  description?: string;
  /** What the action returns, in words or as a type sketch (shown by `modules list` and MCP). */
  output?: string;
  /** Schema of the parameters; checked when the task is added and again in the worker. */
  params: ZodType<P, ZodTypeDef, unknown>;
  /**
   * Opens a message channel to the main thread for `progress()`/`log()` and for a cooperative abort before the
   * worker is terminated. Costs ~60 µs per task, so it is off unless asked for.
   */
  channel?: boolean;
  /**
   * Where its tasks may run: only on remote workers (`codomyrmex worker --tags`) that have all these tags; a
   * task's own `placement.tags` are added to them.
   */
  placement?: { tags: readonly string[] };
  /**
   * Does the work, in a worker thread: `params` are parsed by `params`; the return value (JSON) is the task's
   * result; a throw fails the attempt (retried unless a `NonRetryableError`).
   *
   * An action that writes files declares them in its result as `written`, an array of paths (as it names them:
   * relative to the working folder when inside it). The CLI's "reports and files written" and the MCP run
   * summary's `files` list these declarations and nothing else: a `path` or `output` field naming a file the
   * action read is never taken for one it wrote. A `written` that is not an array of paths, or that lists more
   * than `LIMITS.maxWrittenFiles`, fails the attempt (non-retryable) naming the field.
   *
   * @example
   * run: async ({ path }, ctx) => {
   *   await writeFile(join(ctx.workingDir, 'out/summary.md'), await summarize(path));
   *   return { path, lines: 120, written: ['out/summary.md'] };   // `path` was read: not listed as written
   * }
   */
  run(params: P, ctx: ActionContext): R | Promise<R>;
}

/** A module: a name and its actions. A user module file default-exports one of these. */
export interface ActionModule {
  name: string;
  description?: string;
  actions: Record<string, ActionDefinition<never>>;
}

/**
 * Declares a module with typed actions.
 *
 * @example
 * export default defineModule({
 *   name: 'greet',
 *   actions: { hello: defineAction({ params: z.object({ who: z.string() }), run: ({ who }) => `hello ${who}` }) },
 * });
 */
export function defineModule<M extends ActionModule>(module: M): M {
  return module;
}

/** Declares an action, inferring its parameter type from the schema. */
export function defineAction<P, R>(action: ActionDefinition<P, R>): ActionDefinition<never> {
  return action as unknown as ActionDefinition<never>;
}
