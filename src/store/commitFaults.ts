/**
 * The group committer's faults: the error of the last commit while the store keeps failing, the retries after a
 * failed commit (the first after `retryMs`, doubling up to 5 s, so a broken disk is not hammered), and telling
 * `onFault` when the store starts and stops failing. Also how any failure of a store's write is reported.
 */
import { CodomyrmexError, ErrorCode, StoreError } from '../errors.js';

const MAX_RETRY_MS = 5000;

type Timer = ReturnType<typeof setTimeout>;

/** Whether the store is failing, and when the group committer tries again. */
export class CommitFaults {
  readonly #retryMs: number;
  readonly #onFault: ((error: StoreError | null, downMs: number) => void) | undefined;
  #error: StoreError | null = null;
  #since = 0;
  #timer: Timer | null = null;
  #nextRetryMs: number;

  constructor(retryMs: number, onFault: ((error: StoreError | null, downMs: number) => void) | undefined) {
    this.#retryMs = retryMs;
    this.#nextRetryMs = retryMs;
    this.#onFault = onFault;
  }

  /** The error of the last commit while the store keeps failing; null when writes succeed. */
  get error(): StoreError | null {
    return this.#error;
  }

  /** A commit failed with `error`: `tell` tells those who waited on it, then `onFault` hears of a first failure. */
  failed(error: StoreError, tell: () => void): void {
    const first = this.#error === null;
    if (first) this.#since = Date.now();
    this.#error = error;
    tell();
    if (first) this.#onFault?.(error, 0);
  }

  /** Runs `retry` after the backoff, which doubles with each failure in a row. */
  retryLater(retry: () => void): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      retry();
    }, this.#nextRetryMs);
    this.#timer.unref();
    this.#nextRetryMs = Math.min(MAX_RETRY_MS, this.#nextRetryMs * 2);
  }

  /** A commit succeeded: if the store was failing, it is back (`onFault` is told how long it was down). */
  succeeded(): void {
    if (this.#error === null) return;
    const downMs = Date.now() - this.#since;
    this.#error = null;
    this.#nextRetryMs = this.#retryMs;
    this.stop();
    this.#onFault?.(null, downMs);
  }

  /** Cancels the retry due. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** Any failure of a write to the store at `location`, as the `StoreError` callers get. */
export function toStoreError(err: unknown, location: string): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof CodomyrmexError && err.code === ErrorCode.SHUTTING_DOWN ? 'the store is closed' : message;
  return new StoreError(`could not write to the store ${location}: ${code}`, ErrorCode.STORE_WRITE_FAILED, {
    cause: err,
  });
}
