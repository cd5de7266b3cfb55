/**
 * The error taxonomy of codomyrmex. Every error has a stable string `code`; errors cross thread, process and
 * network boundaries in one wire form, {@link SerializedError} (`{ name, code, message, retryable, issues?,
 * data?, cause? }`), made by {@link serializeError}, checked by `parseSerializedError` and rebuilt as their
 * class with `rebuildError` (both in rebuildError.ts). The memory bus, NATS replies, JetStream results, task results, events, MCP
 * tool errors and the CLI's `--json` errors all carry this form.
 */
import { z } from 'zod';

/** Stable error codes. Safe to match on; never renamed. */
export const ErrorCode = {
  INTERNAL: 'INTERNAL',
  VALIDATION: 'VALIDATION',
  NOT_FOUND: 'NOT_FOUND',
  /** What a call would create (a project, a workflow file) already exists. */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  CYCLE: 'CYCLE',
  RESOURCE_UNAVAILABLE: 'RESOURCE_UNAVAILABLE',
  TASK_TIMEOUT: 'TASK_TIMEOUT',
  NON_RETRYABLE: 'NON_RETRYABLE',
  ACTION_FAILED: 'ACTION_FAILED',
  WORKER_CRASHED: 'WORKER_CRASHED',
  CANCELLED: 'CANCELLED',
  DEPENDENCY_FAILED: 'DEPENDENCY_FAILED',
  /** A workflow step was skipped because its `when` condition was false. */
  CONDITION_FALSE: 'CONDITION_FALSE',
  /** A `waitFor` step's signal did not come within its `timeoutSeconds` (`onTimeout: "fail"` or `"skip"`). */
  WAIT_TIMED_OUT: 'WAIT_TIMED_OUT',
  /** A sub-workflow step's child run did not succeed. */
  CHILD_RUN_FAILED: 'CHILD_RUN_FAILED',
  /** Something stored could not be restored at start. */
  RECOVERY_FAILED: 'RECOVERY_FAILED',
  /** An error whose code is not known (a value that was not an error). */
  UNKNOWN: 'UNKNOWN',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** The store could not write (disk full, read-only folder, I/O error). Retryable: the disk may recover. */
  STORE_WRITE_FAILED: 'STORE_WRITE_FAILED',
  /** The database file is not a SQLite database, is truncated, or fails its integrity check. */
  STORE_CORRUPT: 'STORE_CORRUPT',
  /** Another engine has the database open. */
  STORE_LOCKED: 'STORE_LOCKED',
  /** The database was written by a newer codomyrmex (its schema version is higher than this code knows). */
  STORE_VERSION: 'STORE_VERSION',
  /** The store could not be opened for another reason (folder not creatable, permissions). */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  /**
   * A shared database (PostgreSQL) refused a write because this engine's lease was taken over by another (a newer
   * fencing epoch). Not retryable: the engine stops scheduling; the one holding the lease carries on.
   */
  STORE_FENCED: 'STORE_FENCED',
  /** A request over the network bus got no reply in time. Retryable: the server may be busy or restarting. */
  BUS_TIMEOUT: 'BUS_TIMEOUT',
  /** The network bus is not connected (NATS down or reconnecting), or a reply could not be read. Retryable. */
  BUS_UNAVAILABLE: 'BUS_UNAVAILABLE',
  /** The command line was wrong: an unknown option, a missing argument, flags that do not go together. */
  USAGE: 'USAGE',
  /** A workflow run or a task ran and did not succeed (the MCP tools' failed call; its result goes with it). */
  RUN_FAILED: 'RUN_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** JSON details of an error that its message says in words (a cycle's ids, an HTTP status). */
export type ErrorData = Record<string, unknown>;

/** The one wire form of an error, on every boundary. */
export interface SerializedError {
  /** The class name (`ValidationError`), or the thrower's own name (`TypeError`) for errors from outside. */
  name: string;
  /** A stable {@link ErrorCode}; codes this version does not know are read as `UNKNOWN`. */
  code: string;
  message: string;
  /** Whether retrying the same operation may succeed. */
  retryable: boolean;
  /** A `ValidationError`'s problems, each naming its field. */
  issues?: string[] | undefined;
  /** The input fields its issues name (`workflow_name`, `steps.0.action`), when they name any. */
  fields?: string[] | undefined;
  /** Details as data (a `CycleError`'s `{ cycle, what }`, an HTTP error's `{ status }`). */
  data?: ErrorData | undefined;
  /** What caused it, in the same form; the chain is cut after `MAX_CAUSE_DEPTH` (5) links. */
  cause?: SerializedError | undefined;
}

/** The schema of {@link SerializedError}, for reading an error that arrives from outside (NATS, JetStream, files). */
export const serializedErrorSchema: z.ZodType<SerializedError, z.ZodTypeDef, unknown> = z.lazy(() =>
  z.object({
    name: z.string(),
    code: z.string(),
    message: z.string(),
    // A form written before `retryable` was always sent: a retry may help unless it says otherwise.
    retryable: z.boolean().default(true),
    issues: z.array(z.string()).optional(),
    fields: z.array(z.string()).optional(),
    data: z.record(z.unknown()).optional(),
    cause: serializedErrorSchema.optional(),
  }),
);

/** Options of every codomyrmex error: what caused it, and details as data. */
export interface ErrorOptions {
  cause?: unknown;
  data?: ErrorData | undefined;
}

/** Base class of every error codomyrmex throws on purpose. */
export class CodomyrmexError extends Error {
  override name = 'CodomyrmexError';
  readonly code: ErrorCode;
  /** Details as data, carried on the wire (see {@link SerializedError.data}). */
  readonly data: ErrorData | undefined;
  constructor(message: string, code: ErrorCode = ErrorCode.INTERNAL, options?: ErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = options?.data;
  }
  /** Whether retrying the same operation may succeed. */
  get retryable(): boolean {
    return true;
  }
  /** The wire form ({@link SerializedError}) with its causes, which `JSON.stringify` uses. */
  toJSON(): SerializedError {
    return serializeAt(this, 0);
  }
}

const FIELD = /^(?:[a-z_]+: )?([A-Za-z_][\w.[\]]*):/;

/** Bad input: a field that fails its schema. Never retried. */
export class ValidationError extends CodomyrmexError {
  override name = 'ValidationError';
  /** Every problem found, each naming its field. */
  readonly issues: string[];
  constructor(issues: string | string[], options?: ErrorOptions) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(
      list.length === 1 ? (list[0] ?? '') : `${list.length} problems:\n- ${list.join('\n- ')}`,
      ErrorCode.VALIDATION,
      options,
    );
    this.issues = list;
  }
  /**
   * The input fields the issues name: each issue starts with its field, after the tool or command it was given to
   * (`execute_workflow: workflow_name: required` names `workflow_name`; `task.timeout: ...` names `task.timeout`).
   */
  get fields(): string[] {
    return [...new Set(this.issues.map((i) => FIELD.exec(i)?.[1]).filter((f): f is string => f !== undefined))];
  }
  override get retryable(): boolean {
    return false;
  }
}

/** A dependency cycle; `cycle` lists the ids in order with the first repeated at the end (data `{ cycle, what }`). */
export class CycleError extends CodomyrmexError {
  override name = 'CycleError';
  readonly cycle: string[];
  constructor(cycle: string[], what = 'dependency', options?: Omit<ErrorOptions, 'data'>) {
    super(`${what} cycle: ${cycle.join(' -> ')}`, ErrorCode.CYCLE, { ...options, data: { cycle, what } });
    this.cycle = cycle;
  }
  override get retryable(): boolean {
    return false;
  }
}

/**
 * Errors that differ only in name, code and whether a retry may help are made from one table; each is a real
 * class (`instanceof` works) with the constructor `(message, { cause })`.
 */
function errorClass<N extends string>(name: N, code: ErrorCode, retryable: boolean) {
  const C = class extends CodomyrmexError {
    override name: string = name;
    constructor(message: string, options?: ErrorOptions) {
      super(message, code, options);
    }
    override get retryable(): boolean {
      return retryable;
    }
  };
  Object.defineProperty(C, 'name', { value: name });
  return C;
}

/** What a call names does not exist (a task, run, workflow, project, schedule). Never retried. */
export const NotFoundError = errorClass('NotFoundError', ErrorCode.NOT_FOUND, false);
/** An instance of {@link NotFoundError}. */
export type NotFoundError = InstanceType<typeof NotFoundError>;
/** What a call would create already exists (a project of that name, a definition file); pick another name. */
export const AlreadyExistsError = errorClass('AlreadyExistsError', ErrorCode.ALREADY_EXISTS, false);
export type AlreadyExistsError = InstanceType<typeof AlreadyExistsError>;
/** A resource request that can never be met (more than the capacity, an unknown resource). Never retried. */
export const ResourceUnavailableError = errorClass('ResourceUnavailableError', ErrorCode.RESOURCE_UNAVAILABLE, false);
/** An instance of {@link ResourceUnavailableError}. */
export type ResourceUnavailableError = InstanceType<typeof ResourceUnavailableError>;
/** A task attempt ran past its `timeoutMs`; its worker thread was terminated. */
export const TaskTimeoutError = errorClass('TaskTimeoutError', ErrorCode.TASK_TIMEOUT, false);
/** An instance of {@link TaskTimeoutError}. */
export type TaskTimeoutError = InstanceType<typeof TaskTimeoutError>;
/** Thrown by an action to fail its task at once, without retries. */
export const NonRetryableError = errorClass('NonRetryableError', ErrorCode.NON_RETRYABLE, false);
export type NonRetryableError = InstanceType<typeof NonRetryableError>;
/** A task or run that was cancelled before it ended. */
export const CancelledError = errorClass('CancelledError', ErrorCode.CANCELLED, false);
/** An instance of {@link CancelledError}. */
export type CancelledError = InstanceType<typeof CancelledError>;
/** A step or task that did not run because a dependency did not complete. */
export const SkippedError = errorClass('SkippedError', ErrorCode.DEPENDENCY_FAILED, false);
export type SkippedError = InstanceType<typeof SkippedError>;
/** A step whose `when` condition was false. */
export const ConditionFalseError = errorClass('ConditionFalse', ErrorCode.CONDITION_FALSE, false);
export type ConditionFalseError = InstanceType<typeof ConditionFalseError>;
/** A `waitFor` step whose signal did not come in time. */
export const WaitTimeoutError = errorClass('WaitTimeoutError', ErrorCode.WAIT_TIMED_OUT, false);
export type WaitTimeoutError = InstanceType<typeof WaitTimeoutError>;
/** A sub-workflow step whose child run failed or was cancelled. */
export const ChildRunError = errorClass('ChildRunError', ErrorCode.CHILD_RUN_FAILED, false);
export type ChildRunError = InstanceType<typeof ChildRunError>;
/** The worker thread running a task died (crash, `process.exit`, out of memory). Retryable. */
export const WorkerCrashedError = errorClass('WorkerCrashedError', ErrorCode.WORKER_CRASHED, true);
export type WorkerCrashedError = InstanceType<typeof WorkerCrashedError>;
/** An action threw an ordinary error. Retryable. */
export const ActionError = errorClass('ActionError', ErrorCode.ACTION_FAILED, true);
export type ActionError = InstanceType<typeof ActionError>;
/** Something could not be restored from the store at start; the engine went on without it. */
export const RecoveryError = errorClass('RecoveryError', ErrorCode.RECOVERY_FAILED, false);
export type RecoveryError = InstanceType<typeof RecoveryError>;
/** A command line that cannot be run as written (exit code 2). */
export const UsageError = errorClass('UsageError', ErrorCode.USAGE, false);
export type UsageError = InstanceType<typeof UsageError>;
/** A workflow run or task that ran and did not succeed, reported as one error (the MCP tools' failed call). */
export const RunFailedError = errorClass('RunFailedError', ErrorCode.RUN_FAILED, false);
export type RunFailedError = InstanceType<typeof RunFailedError>;

const ShuttingDownBase = errorClass('ShuttingDownError', ErrorCode.SHUTTING_DOWN, false);
/** Work refused because the engine is shutting down; send it to another engine or after the restart. */
export class ShuttingDownError extends ShuttingDownBase {
  constructor(message = 'the engine is shutting down; no new work is accepted', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The network bus failed to carry a request: no reply in time (`BUS_TIMEOUT`) or not connected (`BUS_UNAVAILABLE`). */
export class BusError extends CodomyrmexError {
  override name = 'BusError';
  declare readonly code: typeof ErrorCode.BUS_TIMEOUT | typeof ErrorCode.BUS_UNAVAILABLE;
  constructor(
    message: string,
    code: typeof ErrorCode.BUS_TIMEOUT | typeof ErrorCode.BUS_UNAVAILABLE = ErrorCode.BUS_UNAVAILABLE,
    options?: ErrorOptions,
  ) {
    super(message, code, options);
  }
}

/** The codes a {@link StoreError} carries. */
export type StoreErrorCode =
  | typeof ErrorCode.STORE_WRITE_FAILED
  | typeof ErrorCode.STORE_CORRUPT
  | typeof ErrorCode.STORE_LOCKED
  | typeof ErrorCode.STORE_VERSION
  | typeof ErrorCode.STORE_UNAVAILABLE
  | typeof ErrorCode.STORE_FENCED;

/**
 * The durable store failed: a write did not happen (`STORE_WRITE_FAILED`), or the database cannot be opened
 * (`STORE_CORRUPT`, `STORE_LOCKED`, `STORE_VERSION`, `STORE_UNAVAILABLE`), or its lease was taken over
 * (`STORE_FENCED`). The message names the file or database.
 */
export class StoreError extends CodomyrmexError {
  override name = 'StoreError';
  declare readonly code: StoreErrorCode;
  constructor(message: string, code: StoreErrorCode = ErrorCode.STORE_WRITE_FAILED, options?: ErrorOptions) {
    super(message, code, options);
  }
  /** Only a failed write may succeed later (the disk may free up); a file that cannot be opened stays so. */
  override get retryable(): boolean {
    return this.code === ErrorCode.STORE_WRITE_FAILED;
  }
}

/** How many causes the wire form keeps below the error itself; a longer (or cyclic) chain is cut there. */
export const MAX_CAUSE_DEPTH = 5;

/**
 * Turns any thrown value into the wire form. A codomyrmex error keeps its class name, code, retryability, issues
 * and data. Other errors become `ACTION_FAILED` (retryable) under their own name, or `NON_RETRYABLE` when they (or
 * a plain object with a `message`) say `retryable: false`. The cause chain comes along, cut at
 * {@link MAX_CAUSE_DEPTH}.
 */
export function serializeError(err: unknown): SerializedError {
  return serializeAt(err, 0);
}

function serializeAt(err: unknown, depth: number): SerializedError {
  let out: SerializedError;
  let cause: unknown;
  if (err instanceof CodomyrmexError) {
    out = { name: err.name, code: err.code, message: err.message, retryable: err.retryable };
    if (err instanceof ValidationError) {
      out.issues = err.issues;
      const fields = err.fields;
      if (fields.length) out.fields = fields;
    }
    if (err.data !== undefined) out.data = err.data;
    cause = err.cause;
  } else if (
    err instanceof Error ||
    (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string')
  ) {
    const e = err as { name?: unknown; message: string; retryable?: unknown; cause?: unknown };
    const name = typeof e.name === 'string' && e.name ? e.name : 'Error';
    const nonRetryable = name === 'NonRetryableError' || e.retryable === false;
    out = {
      name: nonRetryable ? 'NonRetryableError' : name,
      code: nonRetryable ? ErrorCode.NON_RETRYABLE : ErrorCode.ACTION_FAILED,
      message: e.message,
      retryable: !nonRetryable,
    };
    cause = e.cause;
  } else if (typeof err === 'object' && err !== null) {
    const o = err as { name?: unknown; retryable?: unknown };
    const nonRetryable = o.name === 'NonRetryableError' || o.retryable === false;
    return {
      name: nonRetryable ? 'NonRetryableError' : 'Error',
      code: nonRetryable ? ErrorCode.NON_RETRYABLE : ErrorCode.ACTION_FAILED,
      message: describeThrown(err),
      retryable: !nonRetryable,
    };
  } else {
    return { name: 'Error', code: ErrorCode.ACTION_FAILED, message: String(err), retryable: true };
  }
  if (cause !== undefined && cause !== null && depth < MAX_CAUSE_DEPTH) out.cause = serializeAt(cause, depth + 1);
  return out;
}

/** A short text for a thrown value that is not an error: its JSON (cut at 500 characters), or its tag. */
function describeThrown(value: object): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) return `a thrown ${Object.prototype.toString.call(value).slice(8, -1)} with no message`;
  return `a thrown value with no message: ${text.length > 500 ? `${text.slice(0, 500)}...` : text}`;
}
