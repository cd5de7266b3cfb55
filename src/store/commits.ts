/**
 * Group commit: every component's state changes reach the store through one {@link GroupCommitter}, which writes
 * them in one transaction per batch. A batch closes at the end of the event-loop turn that opened it (or after
 * `delayMs`, or as soon as `maxBatch` changes are waiting), so a burst of changes costs one commit (one fsync in
 * strict mode), and a change waits at most about one turn (or `delayMs`) to be written.
 *
 * Callers that must not answer before their change is durable register an ack with {@link GroupCommitter.onCommit}:
 * it runs after the commit holding everything changed before it, or fails with the `StoreError` of that commit.
 */
import { CodomyrmexError, ErrorCode, StoreError } from '../errors.js';
import type { Store, WriteBatch } from './store.js';
import { emptyBatch, isEmptyBatch } from './store.js';

/** A component with changes to write. The committer calls it at each commit. */
export interface CommitSource {
  /** Moves the changes made since the last commit into `batch`. */
  collect(batch: WriteBatch): void;
  /** The batch holding what `collect` gave is on disk. */
  committed(): void;
  /** The batch was not written (the transaction rolled back): nothing `collect` gave is on disk. */
  failed(error: StoreError): void;
}

export interface GroupCommitterOptions {
  /** Longest wait before a change is committed, in ms. 0: at the end of the current event-loop turn. */
  delayMs?: number;
  /** Commit at the next turn once this many changes are waiting, even before `delayMs` (default 10 000). */
  maxBatch?: number;
  /** After a failed commit, the first retry waits this long (doubling up to 5 s). Default 100. */
  retryMs?: number;
  /** Told when the store starts or stops failing. */
  onFault?: (error: StoreError | null, downMs: number) => void;
}

type Timer = ReturnType<typeof setTimeout>;

interface Ack {
  ok: () => void;
  fail: (error: StoreError) => void;
}

export interface CommitStats {
  commits: number;
  failures: number;
  /** Tasks, events and records written, in total. */
  written: number;
  lastCommitMs: number;
}

const MAX_RETRY_MS = 5000;

export class GroupCommitter {
  readonly store: Store;
  readonly #delayMs: number;
  readonly #maxBatch: number;
  readonly #retryMs: number;
  readonly #onFault: GroupCommitterOptions['onFault'];
  readonly #sources: CommitSource[] = [];
  #acks: Ack[] = [];
  #scheduled = false;
  #immediate: ReturnType<typeof setImmediate> | null = null;
  #timer: Timer | null = null;
  #pending = 0;
  #fault: StoreError | null = null;
  #faultSince = 0;
  #retryTimer: Timer | null = null;
  #nextRetryMs: number;
  #closed = false;
  #committing = false;
  readonly #stats: CommitStats = { commits: 0, failures: 0, written: 0, lastCommitMs: 0 };

  constructor(store: Store, options: GroupCommitterOptions = {}) {
    this.store = store;
    this.#delayMs = options.delayMs ?? 0;
    this.#maxBatch = options.maxBatch ?? 10_000;
    this.#retryMs = options.retryMs ?? 100;
    this.#nextRetryMs = this.#retryMs;
    this.#onFault = options.onFault;
  }

  /** The error of the last commit while the store keeps failing; null when writes succeed. */
  get fault(): StoreError | null {
    return this.#fault;
  }

  stats(): CommitStats {
    return { ...this.#stats };
  }

  /** Adds a source of changes. Returns a function that removes it. */
  register(source: CommitSource): () => void {
    this.#sources.push(source);
    return () => {
      const i = this.#sources.indexOf(source);
      if (i >= 0) this.#sources.splice(i, 1);
    };
  }

  /** Asks for a commit within the delay bound: call it after each change. Cheap when one is already due. */
  schedule(): void {
    if (this.#closed) return;
    this.#pending++;
    if (this.#scheduled) {
      if (this.#timer && this.#pending >= this.#maxBatch) {
        clearTimeout(this.#timer);
        this.#timer = null;
        this.#immediate = setImmediate(this.#run);
      }
      return;
    }
    this.#scheduled = true;
    // While the store fails, the retry timer commits: no commit per change against a broken disk.
    if (this.#fault) return;
    if (this.#delayMs === 0) this.#immediate = setImmediate(this.#run);
    else this.#timer = setTimeout(this.#run, this.#delayMs);
  }

  readonly #run = (): void => {
    this.#immediate = null;
    this.#timer = null;
    this.flush();
  };

  /**
   * Calls `ok` once everything changed before this call is committed, or `fail` with the error of the commit that
   * should have written it.
   */
  onCommit(ok: () => void, fail: (error: StoreError) => void): void {
    if (this.#closed) {
      fail(new StoreError(`the store ${this.store.location} is closed; the change was not written`, ErrorCode.STORE_WRITE_FAILED));
      return;
    }
    this.#acks.push({ ok, fail });
    this.schedule();
  }

  /** Resolves with `value` once everything changed before this call is committed. */
  afterCommit<T>(value: T): Promise<T> {
    return new Promise<T>((resolve, reject) => this.onCommit(() => resolve(value), reject));
  }

  /** Commits what is waiting, now. Returns false when the commit failed (the sources and acks were told). */
  flush(): boolean {
    if (this.#committing) return true;
    if (this.#immediate) clearImmediate(this.#immediate);
    if (this.#timer) clearTimeout(this.#timer);
    this.#immediate = null;
    this.#timer = null;
    this.#scheduled = false;
    this.#pending = 0;
    const batch = emptyBatch();
    const acks = this.#acks;
    this.#acks = [];
    this.#committing = true;
    try {
      for (const s of this.#sources) s.collect(batch);
      const t0 = performance.now();
      try {
        // A failing store gets a real write as a probe even when there is nothing else to write.
        if (!isEmptyBatch(batch)) this.store.commit(batch);
        else if (this.#fault) this.store.checkWritable();
      } catch (err) {
        this.#failed(toStoreError(err, this.store.location), acks);
        return false;
      }
      this.#stats.commits++;
      this.#stats.lastCommitMs = performance.now() - t0;
      this.#stats.written += batch.tasks.length + batch.events.length + batch.records.length;
      if (this.#fault) this.#recovered();
      for (const s of this.#sources) s.committed();
      for (const a of acks) a.ok();
      return true;
    } finally {
      this.#committing = false;
      // A source may have changed more while being told (a released task started): commit that too.
      if (this.#pending > 0 && !this.#scheduled && !this.#closed && !this.#fault) {
        this.#pending--;
        this.schedule();
      }
    }
  }

  #failed(error: StoreError, acks: Ack[]): void {
    this.#stats.failures++;
    const first = this.#fault === null;
    if (first) this.#faultSince = Date.now();
    this.#fault = error;
    for (const s of this.#sources) s.failed(error);
    for (const a of acks) a.fail(error);
    if (first) this.#onFault?.(error, 0);
    if (!this.#closed) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        this.flush();
      }, this.#nextRetryMs);
      this.#retryTimer.unref();
      this.#nextRetryMs = Math.min(MAX_RETRY_MS, this.#nextRetryMs * 2);
    }
  }

  #recovered(): void {
    const downMs = Date.now() - this.#faultSince;
    this.#fault = null;
    this.#nextRetryMs = this.#retryMs;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#onFault?.(null, downMs);
  }

  /** Commits what is waiting and stops. Later changes are not written; later acks fail. Returns the last commit's outcome. */
  close(): boolean {
    if (this.#closed) return true;
    const ok = this.flush();
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const acks = this.#acks;
    this.#acks = [];
    const error = new StoreError(`the store ${this.store.location} closed before the change was written`, ErrorCode.STORE_WRITE_FAILED);
    for (const a of acks) a.fail(error);
    return ok;
  }
}

function toStoreError(err: unknown, location: string): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof CodomyrmexError && err.code === ErrorCode.SHUTTING_DOWN ? 'the store is closed' : message;
  return new StoreError(`could not write to the store ${location}: ${code}`, ErrorCode.STORE_WRITE_FAILED, { cause: err });
}
