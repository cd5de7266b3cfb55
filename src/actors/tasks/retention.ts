/**
 * Finished tasks kept in memory: the most recent ones, bounded by count and by the bytes of their results. Older
 * ones leave the record table (their rows stay in the store), oldest first, when the commit that wrote them lands.
 */
import type { TaskDurability } from './durability.js';
import type { TaskRecord } from './record.js';

/** What retention reads: the record table it trims, durability (what is written yet) and the two bounds. */
export interface RetentionDeps {
  records: Map<string, TaskRecord>;
  durable: TaskDurability;
  /** Finished tasks kept in memory, at most. */
  retainFinished: number;
  /** Bytes of finished tasks' results kept in memory, at most. */
  retainFinishedBytes: number;
}

/** The finished records in the order they finished, and the bounds that drop the oldest. */
export class FinishedRetention {
  readonly #deps: RetentionDeps;
  readonly #order: string[] = [];
  #head = 0;
  #bytes = 0;
  /** Finished tasks dropped from memory so far (intake checks whether its store lookups still hold). */
  evictions = 0;

  constructor(deps: RetentionDeps) {
    this.#deps = deps;
  }

  /**
   * Counts a task that just finished. What the bounds no longer keep is dropped when the commit that writes it lands
   * ({@link evict}): a finished record can only leave once written, and every finish asks for a commit, so dropping
   * the oldest here too would only put that work (cold records, a large map) before the finished task's callers.
   */
  finished(rec: TaskRecord): void {
    this.#order.push(rec.id);
    this.#bytes += rec.outputBytes;
  }

  /**
   * Drops the oldest finished records past `retainFinished` (count) or `retainFinishedBytes` (their results), in the
   * order they finished, stopping at the first one no commit has written yet. Runs when a commit lands.
   */
  evict(): void {
    const { records, durable, retainFinished: keep, retainFinishedBytes: keepBytes } = this.#deps;
    while (this.#order.length - this.#head > keep || (this.#bytes > keepBytes && this.#head < this.#order.length)) {
      const id = this.#order[this.#head];
      if (id === undefined) break;
      const rec = records.get(id);
      // Not yet written to the store: keep it until a commit has it.
      if (rec && durable.unwritten(rec)) break;
      this.#head++;
      this.evictions++;
      records.delete(id);
      if (rec) this.#bytes -= rec.outputBytes;
    }
    if (this.#head > 4096 && this.#head * 2 > this.#order.length) {
      this.#order.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
