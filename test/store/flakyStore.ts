import type { WriteBatch } from '../../src/index.js';
import { ErrorCode, MemoryStore, StoreError } from '../../src/index.js';

/**
 * A store whose writes fail on demand, the way SQLite fails on a full disk. For the semantics of failed writes;
 * the real disk-full and read-only cases run against SQLite on a real filesystem (diskFault.test.ts).
 */
export class FlakyStore extends MemoryStore {
  failing = false;
  commits = 0;
  probes = 0;
  #onWrite: (() => void)[] = [];
  constructor() {
    super({ journalMaxEvents: 10_000 });
  }
  /** Resolves at the next write or probe the store is asked for (whether or not it fails). */
  nextWrite(): Promise<void> {
    return new Promise((resolve) => this.#onWrite.push(resolve));
  }
  #wrote(): void {
    for (const wake of this.#onWrite.splice(0)) wake();
  }
  override commit(batch: WriteBatch): void {
    this.#wrote();
    if (this.failing)
      throw new StoreError(
        'could not write to the database /flaky/state.db: database or disk is full (SQLITE_FULL)',
        ErrorCode.STORE_WRITE_FAILED,
      );
    this.commits++;
    super.commit(batch);
  }
  override checkWritable(): void {
    this.#wrote();
    this.probes++;
    if (this.failing)
      throw new StoreError(
        'could not write to the database /flaky/state.db: database or disk is full (SQLITE_FULL)',
        ErrorCode.STORE_WRITE_FAILED,
      );
  }
}

/** A store that writes "off-thread": each commit waits until the test releases it. */
export class AsyncStore extends FlakyStore {
  readonly sent: WriteBatch[] = [];
  #release: (() => void)[] = [];
  #onSent: (() => void)[] = [];
  readonly commitAsync = (batch: WriteBatch): Promise<void> => {
    this.sent.push(batch);
    for (const wake of this.#onSent.splice(0)) wake();
    return new Promise<void>((resolve, reject) => {
      this.#release.push(() => {
        try {
          this.commit(batch);
          resolve();
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
  };
  /** Resolves once a commit is in flight (at once when one already is). */
  inFlightSoon(): Promise<void> {
    return this.#release.length > 0 ? Promise.resolve() : new Promise((resolve) => this.#onSent.push(resolve));
  }
  /** Lets the oldest commit in flight finish (or fail, if `failing`). */
  release(): void {
    this.#release.shift()?.();
  }
  get inFlight(): number {
    return this.#release.length;
  }
}
