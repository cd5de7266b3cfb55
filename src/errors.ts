/**
 * The error taxonomy of codomyrmex. Every error has a stable string `code`; errors cross thread, process and
 * network boundaries as `{ name, code, message }` and are rebuilt by name with {@link rebuildError}.
 */

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
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The wire form of an error. */
export interface SerializedError {
  name: string;
  code: string;
  message: string;
  /** Present on errors that say whether a retry may help. */
  retryable?: boolean;
  /** A `ValidationError`'s problems, each naming its field. */
  issues?: string[];
  /** What caused it, in the same form. */
  cause?: SerializedError;
}

export interface ErrorOptions {
  cause?: unknown;
}

/** Base class of every error codomyrmex throws on purpose. */
export class CodomyrmexError extends Error {
  override name = 'CodomyrmexError';
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = ErrorCode.INTERNAL, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
  /** Whether retrying the same operation may succeed. */
  get retryable(): boolean {
    return true;
  }
  toJSON(): SerializedError {
    const out: SerializedError = { name: this.name, code: this.code, message: this.message, retryable: this.retryable };
    const cause = serializeCause(this.cause, 1);
    if (cause) out.cause = cause;
    return out;
  }
}

/** Bad input: a field that fails its schema. Never retried. */
export class ValidationError extends CodomyrmexError {
  override name = 'ValidationError';
  /** Every problem found, each naming its field. */
  readonly issues: string[];
  constructor(issues: string | string[], options?: ErrorOptions) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.length === 1 ? (list[0] ?? '') : `${list.length} problems:\n- ${list.join('\n- ')}`, ErrorCode.VALIDATION, options);
    this.issues = list;
  }
  override get retryable(): boolean {
    return false;
  }
  override toJSON(): SerializedError {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/** A dependency cycle; `cycle` lists the ids in order with the first repeated at the end. */
export class CycleError extends CodomyrmexError {
  override name = 'CycleError';
  readonly cycle: string[];
  constructor(cycle: string[], what = 'dependency', options?: ErrorOptions) {
    super(`${what} cycle: ${cycle.join(' -> ')}`, ErrorCode.CYCLE, options);
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

export const NotFoundError = errorClass('NotFoundError', ErrorCode.NOT_FOUND, false);
export type NotFoundError = InstanceType<typeof NotFoundError>;
/** What a call would create already exists (a project of that name, a definition file); pick another name. */
export const AlreadyExistsError = errorClass('AlreadyExistsError', ErrorCode.ALREADY_EXISTS, false);
export type AlreadyExistsError = InstanceType<typeof AlreadyExistsError>;
export const ResourceUnavailableError = errorClass('ResourceUnavailableError', ErrorCode.RESOURCE_UNAVAILABLE, false);
export type ResourceUnavailableError = InstanceType<typeof ResourceUnavailableError>;
export const TaskTimeoutError = errorClass('TaskTimeoutError', ErrorCode.TASK_TIMEOUT, false);
export type TaskTimeoutError = InstanceType<typeof TaskTimeoutError>;
/** Thrown by an action to fail its task at once, without retries. */
export const NonRetryableError = errorClass('NonRetryableError', ErrorCode.NON_RETRYABLE, false);
export type NonRetryableError = InstanceType<typeof NonRetryableError>;
export const CancelledError = errorClass('CancelledError', ErrorCode.CANCELLED, false);
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

const ShuttingDownBase = errorClass('ShuttingDownError', ErrorCode.SHUTTING_DOWN, false);
export class ShuttingDownError extends ShuttingDownBase {
  constructor(message = 'the engine is shutting down; no new work is accepted', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The network bus failed to carry a request: no reply in time (`BUS_TIMEOUT`) or not connected (`BUS_UNAVAILABLE`). */
export class BusError extends CodomyrmexError {
  override name = 'BusError';
  declare readonly code: typeof ErrorCode.BUS_TIMEOUT | typeof ErrorCode.BUS_UNAVAILABLE;
  constructor(message: string, code: typeof ErrorCode.BUS_TIMEOUT | typeof ErrorCode.BUS_UNAVAILABLE = ErrorCode.BUS_UNAVAILABLE, options?: ErrorOptions) {
    super(message, code, options);
  }
}

type StoreErrorCode =
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

/** The classes an error is rebuilt as, by the name on its wire form. */
const CLASSES: Record<string, new (message: string, options?: ErrorOptions) => CodomyrmexError> = {
  NotFoundError,
  AlreadyExistsError,
  ResourceUnavailableError,
  TaskTimeoutError,
  NonRetryableError,
  CancelledError,
  SkippedError,
  ConditionFalse: ConditionFalseError,
  WaitTimeoutError,
  ChildRunError,
  WorkerCrashedError,
  ActionError,
  RecoveryError,
  ShuttingDownError,
};

/** The same classes by their code (built once), for names this code does not know. */
const BY_CODE = new Map(Object.values(CLASSES).map((C) => [new C('').code as string, C] as const));

function isStoreCode(code: string): code is StoreErrorCode {
  return code.startsWith('STORE_') && Object.values(ErrorCode).includes(code as ErrorCode);
}

const MAX_CAUSE_DEPTH = 5;

function serializeCause(cause: unknown, depth: number): SerializedError | undefined {
  if (cause === undefined || cause === null || depth > MAX_CAUSE_DEPTH) return undefined;
  return serializeAt(cause, depth);
}

/**
 * Turns any thrown value into the wire form. Plain errors become retryable `ACTION_FAILED`; an error (or a plain
 * object with a `message`) flagged `retryable: false` becomes `NON_RETRYABLE`. The cause chain comes along.
 */
export function serializeError(err: unknown): SerializedError {
  return serializeAt(err, 0);
}

function serializeAt(err: unknown, depth: number): SerializedError {
  if (err instanceof CodomyrmexError) {
    if (depth === 0) return err.toJSON();
    const out: SerializedError = { name: err.name, code: err.code, message: err.message, retryable: err.retryable };
    const cause = serializeCause(err.cause, depth + 1);
    if (cause) out.cause = cause;
    return out;
  }
  if (err instanceof Error || (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string')) {
    const e = err as { name?: unknown; message: string; retryable?: unknown; code?: unknown; cause?: unknown };
    const name = typeof e.name === 'string' && e.name ? e.name : 'Error';
    const nonRetryable = name === 'NonRetryableError' || e.retryable === false;
    const out: SerializedError = {
      name: nonRetryable ? 'NonRetryableError' : name,
      code: nonRetryable ? ErrorCode.NON_RETRYABLE : ErrorCode.ACTION_FAILED,
      message: e.message,
      retryable: !nonRetryable,
    };
    const cause = serializeCause(e.cause, depth + 1);
    if (cause) out.cause = cause;
    return out;
  }
  if (typeof err === 'object' && err !== null) {
    const o = err as { name?: unknown; retryable?: unknown };
    const nonRetryable = o.name === 'NonRetryableError' || o.retryable === false;
    return { name: nonRetryable ? 'NonRetryableError' : 'Error', code: nonRetryable ? ErrorCode.NON_RETRYABLE : ErrorCode.ACTION_FAILED, message: describeThrown(err), retryable: !nonRetryable };
  }
  return { name: 'Error', code: ErrorCode.ACTION_FAILED, message: String(err), retryable: true };
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


/** Rebuilds an error from its wire form, as the class its name names when codomyrmex knows it, cause included. */
export function rebuildError(wire: SerializedError): CodomyrmexError {
  const options = wire.cause ? { cause: rebuildError(wire.cause) } : undefined;
  if (wire.name === 'ValidationError') return new ValidationError(wire.issues?.length ? wire.issues : wire.message, options);
  if (wire.name === 'CycleError') return new CycleError(wire.message.replace(/^.*cycle: /, '').split(' -> '), wire.message.replace(/ cycle: .*$/s, ''), options);
  if (wire.name === 'StoreError') return new StoreError(wire.message, isStoreCode(wire.code) ? wire.code : ErrorCode.STORE_WRITE_FAILED, options);
  if (wire.name === 'BusError') return new BusError(wire.message, wire.code === ErrorCode.BUS_TIMEOUT ? ErrorCode.BUS_TIMEOUT : ErrorCode.BUS_UNAVAILABLE, options);
  const Known = CLASSES[wire.name];
  if (Known) return new Known(wire.message, options);
  // A name this code does not know (an action's own `TypeError`, say): its code picks the class, the name stays.
  const byCode = BY_CODE.get(wire.code);
  const code = (Object.values(ErrorCode) as string[]).includes(wire.code) ? (wire.code as ErrorCode) : ErrorCode.UNKNOWN;
  const err = byCode ? new byCode(wire.message, options) : new CodomyrmexError(wire.message, code, options);
  err.name = wire.name;
  Object.defineProperty(err, 'retryable', { value: wire.retryable !== false });
  return err;
}

/**
 * The error a caller on the other side of a boundary gets: a codomyrmex error as it is; anything else thrown (a
 * bug's TypeError, a plain object) rebuilt through the taxonomy, with the original as its cause.
 */
export function toBoundaryError(err: unknown): CodomyrmexError {
  if (err instanceof CodomyrmexError) return err;
  const rebuilt = rebuildError(serializeError(err));
  if (err instanceof Error) Object.defineProperty(rebuilt, 'cause', { value: err, configurable: true });
  return rebuilt;
}
