import type { BusEvent } from '../model/events.js';
import { ShuttingDownError } from '../errors.js';
import { inspectResult } from '../model/results.js';
import type { TaskStatus } from '../model/task.js';
import type {
  EventQuery,
  JournalEntry,
  RecordKind,
  RecordQuery,
  Store,
  StoredRecord,
  StoredTask,
  TaskPage,
  WriteBatch,
} from './store.js';
import { emptyBatch } from './store.js';

export interface MemoryStoreOptions {
  /** Journal entries kept (default 0: no journal). */
  journalMaxEvents?: number;
  /** Tasks kept; the first written go first (default 100 000), so a long-lived engine stays bounded. */
  maxTasks?: number;
  /**
   * Bytes of task results kept (estimated as stored; default 256 MiB, the engine passes `retainFinishedTaskBytes`):
   * past it the first written go first too, so a few huge results cannot hold the heap.
   */
  maxResultBytes?: number;
}

/**
 * Keeps state in this process only. Records are stored as given: callers hand over copies they no longer mutate.
 * The journal, when on, is a ring of the newest `journalMaxEvents` entries.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly location = 'memory';
  readonly persistent = false;
  readonly #tasks = new Map<string, StoredTask>();
  /**
   * Task ids in the order they were first written, from `#orderHead` on: eviction takes the oldest in constant
   * time. (`Map.keys().next()` after many deletes walks the deleted slots: 100k tasks in, it slowed adds 5x.)
   */
  #order: string[] = [];
  #orderHead = 0;
  readonly #records = new Map<RecordKind, Map<string, StoredRecord>>();
  readonly #meta = new Map<string, string>();
  readonly #journalMax: number;
  readonly #maxTasks: number;
  readonly #maxResultBytes: number;
  /** Estimated bytes of each kept task's result (only those above a few bytes), and their sum. */
  readonly #resultBytes = new Map<string, number>();
  #totalResultBytes = 0;
  #journal: JournalEntry[] = [];
  #seq = 0;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#journalMax = options.journalMaxEvents ?? 0;
    this.#maxTasks = options.maxTasks ?? 100_000;
    this.#maxResultBytes = options.maxResultBytes ?? 256 * 1024 * 1024;
  }

  commit(batch: WriteBatch): void {
    this.checkWritable();
    const tasks = this.#tasks;
    for (const t of batch.tasks) {
      const id = t.spec.id;
      if (!tasks.has(id)) this.#order.push(id);
      tasks.set(id, t.specStored === undefined ? t : withoutSpecStored(t));
      this.#sizeResult(id, t.result.result);
    }
    while (
      (tasks.size > this.#maxTasks || this.#totalResultBytes > this.#maxResultBytes) &&
      this.#orderHead < this.#order.length
    ) {
      const oldest = this.#order[this.#orderHead++];
      if (oldest === undefined) continue;
      tasks.delete(oldest);
      this.#sizeResult(oldest, undefined);
    }
    if (this.#orderHead > 4096 && this.#orderHead * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#orderHead);
      this.#orderHead = 0;
    }
    if (this.#journalMax > 0) for (const e of batch.events) this.#append(e);
    const now = Date.now();
    for (const r of batch.records) {
      let table = this.#records.get(r.kind);
      if (!table) this.#records.set(r.kind, (table = new Map<string, StoredRecord>()));
      if (r.delete === true) {
        table.delete(r.id);
        continue;
      }
      const old = table.get(r.id);
      table.set(r.id, {
        id: r.id,
        parent: r.parent ?? null,
        status: r.status ?? null,
        data: r.data,
        createdAt: old?.createdAt ?? now,
        updatedAt: now,
      });
    }
    for (const [k, v] of Object.entries(batch.meta)) this.#meta.set(k, v);
  }

  /** Keeps the byte count of `id`'s result (a plain value costs nothing to track; `undefined`: it is gone). */
  #sizeResult(id: string, result: unknown): void {
    const bytes =
      result === undefined || result === null || (typeof result !== 'object' && typeof result !== 'string')
        ? 0
        : inspectResult(result, Infinity).bytes;
    const old = this.#resultBytes.get(id) ?? 0;
    if (bytes === old) return;
    this.#totalResultBytes += bytes - old;
    if (bytes === 0) this.#resultBytes.delete(id);
    else this.#resultBytes.set(id, bytes);
  }

  putTasks(tasks: readonly StoredTask[]): void {
    this.commit({ ...emptyBatch(), tasks: [...tasks] });
  }

  getTask(id: string): StoredTask | undefined {
    return this.#tasks.get(id);
  }

  getTaskStatus(id: string): TaskStatus | undefined {
    return this.#tasks.get(id)?.status;
  }

  getTaskStatuses(ids: readonly string[]): Map<string, TaskStatus> {
    const out = new Map<string, TaskStatus>();
    for (const id of ids) {
      const t = this.#tasks.get(id);
      if (t) out.set(id, t.status);
    }
    return out;
  }

  listTasks(filter: TaskPage = {}): StoredTask[] {
    const out: StoredTask[] = [];
    const limit = filter.limit ?? Infinity;
    let skip = filter.offset ?? 0;
    const all = filter.newest ? [...this.#tasks.values()].reverse() : this.#tasks.values();
    for (const t of all) {
      if (out.length >= limit) break;
      if (filter.status && !filter.status.includes(t.status)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(t);
    }
    return out;
  }

  #append(e: BusEvent): void {
    this.#journal.push({ seq: ++this.#seq, type: e.type, timestamp: e.timestamp, data: e.data });
    if (this.#journal.length > this.#journalMax * 1.25 + 64) this.#journal = this.#journal.slice(-this.#journalMax);
  }

  readEvents(query: EventQuery = {}): JournalEntry[] {
    const after = query.afterSeq ?? 0;
    const limit = query.limit ?? 1000;
    const oldest = Math.max(0, this.#journal.length - this.#journalMax);
    const out: JournalEntry[] = [];
    for (let i = oldest; i < this.#journal.length && out.length < limit; i++) {
      const e = this.#journal[i];
      if (e && e.seq > after && (!query.types || query.types.includes(e.type))) out.push(e);
    }
    return out;
  }

  lastEventSeq(): number {
    return this.#seq;
  }

  getRecord<T = unknown>(kind: RecordKind, id: string): StoredRecord<T> | undefined {
    return this.#records.get(kind)?.get(id) as StoredRecord<T> | undefined;
  }

  listRecords<T = unknown>(kind: RecordKind, query: RecordQuery = {}): StoredRecord<T>[] {
    const out: StoredRecord<T>[] = [];
    const limit = query.limit ?? Infinity;
    const all = [...(this.#records.get(kind)?.values() ?? [])];
    if (query.newest === true) all.reverse();
    let from = 0;
    if (query.after !== undefined) {
      from = all.findIndex((r) => r.id === query.after) + 1;
      if (from === 0) return out;
    }
    for (let i = from; i < all.length; i++) {
      const r = all[i]!;
      if (query.createdFrom !== undefined && r.createdAt < query.createdFrom) continue;
      if (query.createdTo !== undefined && r.createdAt >= query.createdTo) continue;
      if (out.length >= limit) break;
      if (query.parent !== undefined && r.parent !== query.parent) continue;
      if (query.status && (r.status === null || !query.status.includes(r.status))) continue;
      out.push(r as StoredRecord<T>);
    }
    return out;
  }

  getMeta(key: string): string | undefined {
    return this.#meta.get(key);
  }

  listMeta(): Record<string, string> {
    return Object.fromEntries(this.#meta);
  }

  checkWritable(): void {
    if (this.#closed) throw new ShuttingDownError('the store is closed');
  }

  close(): void {
    this.#closed = true;
  }
}

/** The task as read back: `specStored` is a hint to the writer, not part of the stored task. */
function withoutSpecStored(t: StoredTask): StoredTask {
  const { specStored: _hint, ...stored } = t;
  return stored;
}
