/**
 * Group commit: every component's state changes reach the store through one {@link GroupCommitter}, which writes
 * them in one transaction per batch, so a burst of changes costs one commit (one fsync in strict mode).
 *
 * Callers that must not answer before their change is durable register an ack with {@link GroupCommitter.onCommit}:
 * it runs after the commit holding everything changed before it, or fails with the `StoreError` of that commit.
 * Only commits somebody is answered on (an ack) pay for an fsync under strict durability; the others are marked
 * `deferSync` and made durable by the next synced commit (SQLite's WAL is synced in order).
 *
 * When a commit goes adapts to load (commitTiming.ts): a change somebody waits for (an ack, a task held for its
 * row) is committed at the end of its event-loop turn when the writer is idle, and batched behind the commit in
 * flight when it is not; a change nobody waits for may wait a window (`delayMs`, `unawaitedDelayMs`) to share a
 * later commit instead of costing one of its own. Retrying a failing store is commitFaults.ts.
 */
import { ErrorCode, StoreError } from '../errors.js';
import { CommitFaults, toStoreError } from './commitFaults.js';
import { CommitTimer } from './commitTiming.js';
import type { RecordKind, RecordWrite, Store, WriteBatch } from './store.js';
import { emptyBatch, isEmptyBatch } from './store.js';

/** A component with changes to write. The committer calls it at each commit. */
export interface CommitSource {
  /** Moves the changes made since the last commit into `batch`. */
  collect(batch: WriteBatch): void;
  /** The batch holding what `collect` gave is on disk. */
  committed(): void;
  /** The batch was not written (the transaction rolled back): nothing `collect` gave is on disk. */
  failed(error: StoreError): void;
  /**
   * Something is held until what `collect` gave is written (a task that may start only once its row is): the
   * commit goes at once even when no {@link GroupCommitter.onCommit} waits for it (see `unawaitedDelayMs`).
   */
  waiting?(): boolean;
}

/** How a {@link GroupCommitter} batches commits and what it tells about faults. */
export interface GroupCommitterOptions {
  /**
   * Longest wait before a change nobody waits for is committed, in ms (a window to batch in; default 0: the end of
   * the current event-loop turn). A change somebody waits for goes at the end of its turn while no commit is in
   * flight, whatever the window.
   */
  delayMs?: number;
  /** Commit at the next turn once this many changes are waiting, even before `delayMs` (default 10 000). */
  maxBatch?: number;
  /**
   * How long a commit nobody waits on (no ack, no source {@link CommitSource.waiting}) may wait for one that somebody
   * does, in ms, when longer than `delayMs` (default 0: no longer than `delayMs`). With strict durability the engine sets it, so that one task
   * at a time is written by the commit its answer waits on instead of also by one of its own just before.
   */
  unawaitedDelayMs?: number;
  /** After a failed commit, the first retry waits this long (doubling up to 5 s). Default 100. */
  retryMs?: number;
  /** Told when the store starts or stops failing. */
  onFault?: (error: StoreError | null, downMs: number) => void;
  /**
   * Told when a change that can never be written (its record could not even be built) was dropped, so that it does
   * not fail every later commit. `what` names it: `workflow_runs/<id>`.
   */
  onDropped?: (what: string, error: StoreError) => void;
}

interface Ack {
  ok: () => void;
  fail: (error: StoreError) => void;
}

/** Counts of a {@link GroupCommitter} since it started. */
export interface CommitStats {
  commits: number;
  failures: number;
  /** Tasks, events and records written, in total. */
  written: number;
  lastCommitMs: number;
  /** Changes dropped because they could never be written (see `GroupCommitterOptions.onDropped`). */
  dropped: number;
}

/** Writes every component's changes to the store, one transaction per batch, and runs the acks of callers waiting for durability (see this module's description). */
export class GroupCommitter {
  readonly store: Store;
  readonly #timer: CommitTimer;
  readonly #faults: CommitFaults;
  readonly #onDropped: GroupCommitterOptions['onDropped'];
  readonly #sources: CommitSource[] = [];
  #acks: Ack[] = [];
  #closed = false;
  #committing = false;
  /** A commit sent to the store's writer thread and not yet answered. */
  #inFlight: Promise<boolean> | null = null;
  readonly #stats: CommitStats = { commits: 0, failures: 0, written: 0, lastCommitMs: 0, dropped: 0 };

  constructor(store: Store, options: GroupCommitterOptions = {}) {
    this.store = store;
    const delays = {
      delayMs: options.delayMs ?? 0,
      maxBatch: options.maxBatch ?? 10_000,
      unawaitedDelayMs: options.unawaitedDelayMs ?? 0,
    };
    this.#timer = new CommitTimer(delays, {
      flush: () => this.flush(),
      awaited: () => this.#acks.length > 0 || this.#sources.some((s) => s.waiting?.() === true),
      held: () => this.#faults.error !== null || this.#inFlight !== null,
    });
    this.#faults = new CommitFaults(options.retryMs ?? 100, options.onFault);
    this.#onDropped = options.onDropped;
  }

  /** A source dropped a change that can never be written (see `onDropped`): say so, once, and go on. */
  dropped(what: string, cause: unknown): void {
    const message = cause instanceof Error ? cause.message : String(cause);
    const error = new StoreError(
      `${what} could not be written and was dropped (it would fail every commit): ${message}`,
      ErrorCode.STORE_WRITE_FAILED,
      { cause },
    );
    this.#stats.dropped++;
    this.#onDropped?.(what, error);
  }

  /** The error of the last commit while the store keeps failing; null when writes succeed. */
  get fault(): StoreError | null {
    return this.#faults.error;
  }

  /** Commits, failures, writes and drops so far. */
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
    if (!this.#closed) this.#timer.request();
  }

  /**
   * Calls `ok` once everything changed before this call is committed, or `fail` with the error of the commit that
   * should have written it.
   */
  onCommit(ok: () => void, fail: (error: StoreError) => void): void {
    if (this.#closed) {
      fail(
        new StoreError(
          `the store ${this.store.location} is closed; the change was not written`,
          ErrorCode.STORE_WRITE_FAILED,
        ),
      );
      return;
    }
    this.#acks.push({ ok, fail });
    this.schedule();
  }

  /** Resolves with `value` once everything changed before this call is committed. */
  afterCommit<T>(value: T): Promise<T> {
    return new Promise<T>((resolve, reject) => this.onCommit(() => resolve(value), reject));
  }

  /**
   * Commits what is waiting, now. Returns false when the commit failed (the sources and acks were told). With a
   * store that writes off-thread the commit is only sent: the outcome comes later (see {@link idle}); a flush while
   * one is in flight is done when that one is answered.
   */
  flush(): boolean {
    if (this.#committing || this.#closed) return true;
    if (this.#inFlight) {
      this.#timer.queued();
      return true;
    }
    this.#timer.started();
    const batch = emptyBatch();
    const acks = this.#acks;
    this.#acks = [];
    this.#committing = true;
    let sent = false;
    try {
      for (const s of this.#sources) s.collect(batch);
      // A failing store gets a real write as a probe even when there is nothing else to write.
      if (this.#faults.error && isEmptyBatch(batch)) batch.meta['heartbeat'] = new Date().toISOString();
      if (isEmptyBatch(batch)) {
        for (const s of this.#sources) s.committed();
        for (const a of acks) a.ok();
        return true;
      }
      // Nobody is answered on this commit: its fsync can ride with the next one somebody is answered on. (A task held
      // for its row's commit needs the write to succeed, not the fsync: a crash before the next fsync loses only
      // what nobody was told of, and such a task runs again as its caller retries or its run resumes.)
      if (acks.length === 0 && !this.#faults.error) batch.deferSync = true;
      const t0 = performance.now();
      const commitAsync = this.store.commitAsync;
      if (commitAsync) {
        sent = true;
        this.#inFlight = commitAsync(batch).then(
          () => this.#settle(null, batch, acks, t0),
          (err: unknown) => this.#settle(err, batch, acks, t0),
        );
        return true;
      }
      try {
        this.store.commit(batch);
      } catch (err) {
        return this.#settle(err, batch, acks, t0);
      }
      return this.#settle(null, batch, acks, t0);
    } finally {
      this.#committing = false;
      if (!sent) this.#next();
    }
  }

  /** Resolves once no commit is in flight, with the outcome of the last one (true when none was in flight). */
  async idle(): Promise<boolean> {
    // Changes held back only because nobody waited for them are waited for now.
    if (this.#timer.lazy) this.flush();
    let ok = true;
    while (this.#inFlight) ok = await this.#inFlight;
    return ok;
  }

  #settle(err: unknown, batch: WriteBatch, acks: Ack[], t0: number): boolean {
    const async = this.#inFlight !== null;
    this.#inFlight = null;
    let ok = true;
    if (err !== null) {
      this.#failed(toStoreError(err, this.store.location), acks);
      ok = false;
    } else {
      this.#stats.commits++;
      this.#stats.lastCommitMs = performance.now() - t0;
      this.#stats.written += batch.tasks.length + batch.events.length + batch.records.length;
      this.#faults.succeeded();
      for (const s of this.#sources) s.committed();
      for (const a of acks) a.ok();
    }
    if (async) this.#next(true);
    return ok;
  }

  /**
   * After a commit: changes made meanwhile (a source told of the commit started a task; changes that waited for an
   * off-thread commit) are committed too (see {@link CommitTimer.resume}).
   */
  #next(now = false): void {
    if (this.#closed || this.#faults.error || this.#inFlight) return;
    if (this.#timer.pending === 0 && this.#acks.length === 0) return;
    this.#timer.resume(now);
  }

  #failed(error: StoreError, acks: Ack[]): void {
    this.#stats.failures++;
    const tell = (): void => {
      for (const s of this.#sources) s.failed(error);
      for (const a of acks) a.fail(error);
    };
    this.#faults.failed(error, tell);
    if (!this.#closed) this.#faults.retryLater(() => this.flush());
  }

  /** Stops without writing what is waiting (a start refused as corrupt leaves the database as it was); later acks fail. */
  abandon(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer.stop();
    this.#faults.stop();
    const acks = this.#acks;
    this.#acks = [];
    const error = new StoreError(
      `the store ${this.store.location} was refused at start; the change was not written`,
      ErrorCode.STORE_WRITE_FAILED,
    );
    for (const a of acks) a.fail(error);
  }

  /** Commits what is waiting and stops. Later changes are not written; later acks fail. Resolves with the last commit's outcome. */
  async close(): Promise<boolean> {
    if (this.#closed) return true;
    await this.idle();
    let ok = this.flush();
    if (this.#inFlight) ok = await this.idle();
    this.#closed = true;
    this.#faults.stop();
    const acks = this.#acks;
    this.#acks = [];
    const error = new StoreError(
      `the store ${this.store.location} closed before the change was written`,
      ErrorCode.STORE_WRITE_FAILED,
    );
    for (const a of acks) a.fail(error);
    return ok;
  }
}

/**
 * Records a component wants written, coalesced by kind and id until the next commit (the last write of a record
 * wins; a thunk is evaluated at commit time, so a record that changes often is encoded once per commit). A
 * commit that fails puts its records back, unless a newer write of the same record is already waiting.
 */
export class RecordQueue {
  readonly #commits: GroupCommitter;
  #pending = new Map<string, RecordWrite | (() => RecordWrite)>();
  #inFlight: Map<string, RecordWrite | (() => RecordWrite)> | null = null;

  constructor(commits: GroupCommitter) {
    this.#commits = commits;
    commits.register({
      collect: (batch) => {
        for (const [key, w] of this.#pending) {
          if (typeof w !== 'function') {
            batch.records.push(w);
            continue;
          }
          // A record that cannot be built now never will be (retrying it would fail every commit): drop it.
          try {
            batch.records.push(w());
          } catch (err) {
            this.#pending.delete(key);
            commits.dropped(key.replace('\u0000', '/'), err);
          }
        }
        this.#inFlight = this.#pending;
        this.#pending = new Map();
      },
      committed: () => {
        this.#inFlight = null;
      },
      failed: () => {
        const lost = this.#inFlight;
        this.#inFlight = null;
        if (!lost) return;
        for (const [key, w] of lost) if (!this.#pending.has(key)) this.#pending.set(key, w);
      },
    });
  }

  /** Queues a write (or a delete) of one record for the next commit. */
  write(kind: RecordKind, id: string, record: RecordWrite | (() => RecordWrite)): void {
    this.#pending.set(`${kind}\u0000${id}`, record);
    this.#commits.schedule();
  }
}
