/**
 * Reading an error's wire form ({@link SerializedError}) back: {@link parseSerializedError} checks one that arrived
 * from outside, {@link rebuildError} rebuilds it as the codomyrmex class its name (or code) names, with its cause
 * chain, and {@link toBoundaryError} gives a caller across a boundary what the network would deliver. A new error
 * class that crosses boundaries is added to `CLASSES` here.
 */
import type { ErrorOptions, SerializedError, StoreErrorCode } from './errors.js';
import {
  ActionError,
  AlreadyExistsError,
  BusError,
  CancelledError,
  ChildRunError,
  CodomyrmexError,
  ConditionFalseError,
  CycleError,
  ErrorCode,
  NonRetryableError,
  NotFoundError,
  RecoveryError,
  ResourceUnavailableError,
  RunFailedError,
  ShuttingDownError,
  SkippedError,
  StoreError,
  TaskTimeoutError,
  UsageError,
  ValidationError,
  WaitTimeoutError,
  WorkerCrashedError,
  serializeError,
  serializedErrorSchema,
} from './errors.js';

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
  UsageError,
  RunFailedError,
};

/** The same classes by their code (built once), for names this code does not know. */
const BY_CODE = new Map(Object.values(CLASSES).map((C) => [new C('').code as string, C] as const));

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

function isErrorCode(code: string): code is ErrorCode {
  return CODES.has(code);
}

function isStoreCode(code: string): code is StoreErrorCode {
  return code.startsWith('STORE_') && CODES.has(code);
}

/** Reads a wire form that arrived from outside; null when `value` is not one. */
export function parseSerializedError(value: unknown): SerializedError | null {
  const parsed = serializedErrorSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/**
 * Rebuilds an error from its wire form, as the class its name names when codomyrmex knows it (else the class of
 * its code, under its own name), with its retryability, issues, data and cause chain.
 */
export function rebuildError(wire: SerializedError): CodomyrmexError {
  const cause = wire.cause ? rebuildError(wire.cause) : undefined;
  const options: ErrorOptions = { ...(cause ? { cause } : {}), ...(wire.data ? { data: wire.data } : {}) };
  const err = rebuildAs(wire, options);
  if (err.retryable !== wire.retryable) Object.defineProperty(err, 'retryable', { value: wire.retryable });
  return err;
}

function rebuildAs(wire: SerializedError, options: ErrorOptions): CodomyrmexError {
  const { data, ...noData } = options;
  if (wire.name === 'CycleError' && isStringArray(data?.['cycle']))
    return new CycleError(data['cycle'], typeof data['what'] === 'string' ? data['what'] : 'dependency', noData);
  let err: CodomyrmexError;
  if (wire.code === ErrorCode.VALIDATION && wire.issues)
    err = new ValidationError(wire.issues.length ? wire.issues : wire.message, options);
  else if (isStoreCode(wire.code)) err = new StoreError(wire.message, wire.code, options);
  else if (wire.code === ErrorCode.BUS_TIMEOUT || wire.code === ErrorCode.BUS_UNAVAILABLE)
    err = new BusError(wire.message, wire.code, options);
  else {
    // The name picks the class; a name this code does not know (an action's own `TypeError`) goes by its code.
    const Known = (Object.hasOwn(CLASSES, wire.name) ? CLASSES[wire.name] : undefined) ?? BY_CODE.get(wire.code);
    err = Known
      ? new Known(wire.message, options)
      : new CodomyrmexError(wire.message, isErrorCode(wire.code) ? wire.code : ErrorCode.UNKNOWN, options);
  }
  err.name = wire.name;
  // A ValidationError's message is built from its issues; the wire's message is the one that was shown.
  if (err.message !== wire.message) err.message = wire.message;
  return err;
}

/**
 * The error a caller on the other side of a boundary gets: a codomyrmex error as it is; anything else thrown (a
 * bug's TypeError, a plain object) rebuilt through the taxonomy, as the network would deliver it, keeping the
 * original's stack for whoever debugs it in the same process.
 */
export function toBoundaryError(err: unknown): CodomyrmexError {
  if (err instanceof CodomyrmexError) return err;
  const rebuilt = rebuildError(serializeError(err));
  if (err instanceof Error && err.stack !== undefined) rebuilt.stack = err.stack;
  return rebuilt;
}
