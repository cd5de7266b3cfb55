/**
 * Reading tasks: one by id, a page by status, and why one is where it is. A task held in memory is shown as it is
 * now; one that is not (ended and evicted, or ended before a restart) is read from the store.
 */
import { NotFoundError } from '../../errors.js';
import type { TaskListFilter } from '../../model/taskRequests.js';
import type { TaskExplanation, TaskView } from '../../model/taskView.js';
import type { Store } from '../../store/store.js';
import type { ExplainContext } from './explain.js';
import { explainRecord } from './explain.js';
import type { TaskRecord } from './record.js';
import { recordView, storedView } from './record.js';

export class TaskQueries {
  readonly #records: ReadonlyMap<string, TaskRecord>;
  readonly #store: Store;
  readonly #strict: () => boolean;
  readonly #explain: () => Omit<ExplainContext, 'dependency'>;

  /**
   * `strict`: every task is written before it is answered (strict durability), so a durable store has them all;
   * `explain`: the scheduler's state an explanation reads (dependencies are looked up here).
   */
  constructor(
    records: ReadonlyMap<string, TaskRecord>,
    store: Store,
    strict: () => boolean,
    explain: () => Omit<ExplainContext, 'dependency'>,
  ) {
    this.#records = records;
    this.#store = store;
    this.#strict = strict;
    this.#explain = explain;
  }

  get(id: string): TaskView | null {
    const rec = this.#records.get(id);
    if (rec) return recordView(rec);
    const stored = this.#store.getTask(id);
    return stored ? storedView(stored) : null;
  }

  /**
   * Tasks by status, a page at a time. A durable store written before each answer (strict durability) has every
   * task, those ended before a restart too, so the page is read there, each task still held here shown as it is
   * now; otherwise from memory.
   */
  list(filter: TaskListFilter = {}): TaskView[] {
    const statuses =
      filter.status === undefined ? null : Array.isArray(filter.status) ? filter.status : [filter.status];
    const store = this.#store;
    if (store.persistent && this.#strict()) {
      return store
        .listTasks({
          ...(statuses ? { status: statuses } : {}),
          ...(filter.limit !== undefined ? { limit: filter.limit } : {}),
          ...(filter.offset !== undefined ? { offset: filter.offset } : {}),
          newest: filter.newest === true,
        })
        .map((t) => {
          const rec = this.#records.get(t.spec.id);
          return rec ? recordView(rec) : storedView(t);
        });
    }
    const limit = filter.limit ?? Infinity;
    let skip = filter.offset ?? 0;
    const out: TaskView[] = [];
    const records = filter.newest ? [...this.#records.values()].reverse() : this.#records.values();
    for (const rec of records) {
      if (out.length >= limit) break;
      if (statuses && !statuses.includes(rec.status)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(recordView(rec));
    }
    return out;
  }

  /** Why a task is where it is: what it waits for, in words a person can act on. */
  explain(taskId: string): TaskExplanation {
    const rec = this.#records.get(taskId);
    if (!rec) {
      const stored = this.#store.getTask(taskId);
      if (!stored) throw new NotFoundError(`no task with id "${taskId}"`);
      return {
        taskId,
        status: stored.status,
        summary: `task "${stored.spec.name}" ended ${stored.status}${stored.result.error ? `: ${stored.result.error.message}` : ''}`,
        waitingOn: null,
      };
    }
    return explainRecord(rec, {
      ...this.#explain(),
      dependency: (id) => {
        const d = this.#records.get(id);
        if (d) return { name: d.spec.name, status: d.status };
        const st = this.#store.getTask(id);
        return st ? { name: st.spec.name, status: st.status } : null;
      },
    });
  }
}
