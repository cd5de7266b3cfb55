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
  constructor() {
    super({ journalMaxEvents: 10_000 });
  }
  override commit(batch: WriteBatch): void {
    if (this.failing) throw new StoreError('could not write to the database /flaky/state.db: database or disk is full (SQLITE_FULL)', ErrorCode.STORE_WRITE_FAILED);
    this.commits++;
    super.commit(batch);
  }
  override checkWritable(): void {
    this.probes++;
    if (this.failing) throw new StoreError('could not write to the database /flaky/state.db: database or disk is full (SQLITE_FULL)', ErrorCode.STORE_WRITE_FAILED);
  }
}
