import { ShuttingDownError } from '../errors.js';
import type { TaskStatus } from '../model/task.js';
import type { Store, StoredTask } from './store.js';

/**
 * Keeps finished tasks in this process only, up to `maxTasks` (the oldest go first). Records are stored as given:
 * callers hand over copies they no longer mutate.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly persistsLiveTasks = false;
  readonly #tasks = new Map<string, StoredTask>();
  readonly #maxTasks: number;
  #closed = false;

  constructor(maxTasks = 100_000) {
    this.#maxTasks = maxTasks;
  }

  putTasks(tasks: readonly StoredTask[]): void {
    this.checkWritable();
    for (const t of tasks) {
      this.#tasks.delete(t.spec.id);
      this.#tasks.set(t.spec.id, t);
    }
    while (this.#tasks.size > this.#maxTasks) {
      const oldest = this.#tasks.keys().next().value;
      if (oldest === undefined) break;
      this.#tasks.delete(oldest);
    }
  }

  getTask(id: string): StoredTask | undefined {
    return this.#tasks.get(id);
  }

  listTasks(filter: { status?: readonly TaskStatus[]; limit?: number } = {}): StoredTask[] {
    const out: StoredTask[] = [];
    const limit = filter.limit ?? Infinity;
    for (const t of this.#tasks.values()) {
      if (filter.status && !filter.status.includes(t.status)) continue;
      out.push(t);
      if (out.length >= limit) break;
    }
    return out;
  }

  checkWritable(): void {
    if (this.#closed) throw new ShuttingDownError('the store is closed');
  }

  close(): void {
    this.#closed = true;
  }
}
