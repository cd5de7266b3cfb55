/**
 * The error taxonomy of codomyrmex. Every error has a stable string `code`; errors cross thread, process and
 * network boundaries as `{ name, code, message }` and are rebuilt by name with {@link rebuildError}.
 */

/** Stable error codes. Safe to match on; never renamed. */
export const ErrorCode = {
  INTERNAL: 'INTERNAL',
  VALIDATION: 'VALIDATION',
  NOT_FOUND: 'NOT_FOUND',
  CYCLE: 'CYCLE',
  RESOURCE_UNAVAILABLE: 'RESOURCE_UNAVAILABLE',
  TASK_TIMEOUT: 'TASK_TIMEOUT',
  NON_RETRYABLE: 'NON_RETRYABLE',
  ACTION_FAILED: 'ACTION_FAILED',
  WORKER_CRASHED: 'WORKER_CRASHED',
  CANCELLED: 'CANCELLED',
  DEPENDENCY_FAILED: 'DEPENDENCY_FAILED',
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
    return { name: this.name, code: this.code, message: this.message, retryable: this.retryable };
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

export class NotFoundError extends CodomyrmexError {
  override name = 'NotFoundError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.NOT_FOUND, options);
  }
  override get retryable(): boolean {
    return false;
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

export class ResourceUnavailableError extends CodomyrmexError {
  override name = 'ResourceUnavailableError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.RESOURCE_UNAVAILABLE, options);
  }
  override get retryable(): boolean {
    return false;
  }
}

export class TaskTimeoutError extends CodomyrmexError {
  override name = 'TaskTimeoutError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.TASK_TIMEOUT, options);
  }
  override get retryable(): boolean {
    return false;
  }
}

/** Thrown by an action to fail its task at once, without retries. */
export class NonRetryableError extends CodomyrmexError {
  override name = 'NonRetryableError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.NON_RETRYABLE, options);
  }
  override get retryable(): boolean {
    return false;
  }
}

export class CancelledError extends CodomyrmexError {
  override name = 'CancelledError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.CANCELLED, options);
  }
  override get retryable(): boolean {
    return false;
  }
}

/** The worker thread running a task died (crash, `process.exit`, out of memory). Retryable. */
export class WorkerCrashedError extends CodomyrmexError {
  override name = 'WorkerCrashedError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.WORKER_CRASHED, options);
  }
}

/** An action threw an ordinary error. Retryable. */
export class ActionError extends CodomyrmexError {
  override name = 'ActionError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.ACTION_FAILED, options);
  }
}

export class ShuttingDownError extends CodomyrmexError {
  override name = 'ShuttingDownError';
  constructor(message = 'the engine is shutting down; no new work is accepted', options?: ErrorOptions) {
    super(message, ErrorCode.SHUTTING_DOWN, options);
  }
  override get retryable(): boolean {
    return false;
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

type StoreErrorCode = typeof ErrorCode.STORE_WRITE_FAILED | typeof ErrorCode.STORE_CORRUPT | typeof ErrorCode.STORE_LOCKED | typeof ErrorCode.STORE_VERSION | typeof ErrorCode.STORE_UNAVAILABLE;

/**
 * The durable store failed: a write did not happen (`STORE_WRITE_FAILED`), or the database cannot be opened
 * (`STORE_CORRUPT`, `STORE_LOCKED`, `STORE_VERSION`, `STORE_UNAVAILABLE`). The message names the file.
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

const byName: Record<string, (message: string, code: string) => CodomyrmexError> = {
  ValidationError: (m) => new ValidationError(m),
  NotFoundError: (m) => new NotFoundError(m),
  ResourceUnavailableError: (m) => new ResourceUnavailableError(m),
  TaskTimeoutError: (m) => new TaskTimeoutError(m),
  NonRetryableError: (m) => new NonRetryableError(m),
  CancelledError: (m) => new CancelledError(m),
  WorkerCrashedError: (m) => new WorkerCrashedError(m),
  ActionError: (m) => new ActionError(m),
  ShuttingDownError: (m) => new ShuttingDownError(m),
  BusError: (m, code) => new BusError(m, code === ErrorCode.BUS_TIMEOUT ? ErrorCode.BUS_TIMEOUT : ErrorCode.BUS_UNAVAILABLE),
  StoreError: (m, code) => new StoreError(m, isStoreCode(code) ? code : ErrorCode.STORE_WRITE_FAILED),
};

function isStoreCode(code: string): code is StoreErrorCode {
  return code.startsWith('STORE_') && Object.values(ErrorCode).includes(code as ErrorCode);
}

/** Turns any thrown value into the wire form. Plain errors become retryable `ACTION_FAILED`. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof CodomyrmexError) return err.toJSON();
  if (err instanceof Error) {
    const flagged = (err as { retryable?: unknown }).retryable;
    const nonRetryable = err.name === 'NonRetryableError' || flagged === false;
    return {
      name: nonRetryable ? 'NonRetryableError' : err.name,
      code: nonRetryable ? ErrorCode.NON_RETRYABLE : ErrorCode.ACTION_FAILED,
      message: err.message,
      retryable: !nonRetryable,
    };
  }
  return { name: 'Error', code: ErrorCode.ACTION_FAILED, message: String(err), retryable: true };
}

/** Rebuilds an error from its wire form, as the class its name names when codomyrmex knows it. */
export function rebuildError(wire: SerializedError): CodomyrmexError {
  if (wire.name === 'ValidationError' && Array.isArray(wire.issues) && wire.issues.length > 0) return new ValidationError(wire.issues);
  if (wire.name === 'CycleError') return new CycleError(wire.message.replace(/^.*cycle: /, '').split(' -> '));
  const make = byName[wire.name];
  if (make) return make(wire.message, wire.code);
  const err = new ActionError(wire.message);
  err.name = wire.name;
  return err;
}
