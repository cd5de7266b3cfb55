/**
 * The write path of the SQLite store, in two halves so they can run on different threads:
 * {@link BatchEncoder} (the engine's thread) turns a {@link WriteBatch} into rows of strings and numbers, JSON
 * encoded once; {@link BatchWriter} (the writer thread, or the same thread) writes those rows in one transaction.
 * Nothing here imports the engine, so the writer thread loads only this file and better-sqlite3.
 */
import type Database from 'better-sqlite3';
import { toJson } from './json.js';
import { TERMINAL_TASK_STATUSES } from '../model/task.js';
import { TERMINAL_RUN_STATUSES } from '../model/workflow.js';
import { statusIn } from './rows.js';
import type { WriteBatch } from './store.js';

/** [id, name, module, action, priority, status, attempts, spec, result, retryAt, updatedAt] */
export type TaskRow = [string, string, string, string, string, string, number, string, string, number | null, number];
/** [kind, id, parent, status, data]; data null deletes the record. */
export type RecordRow = [string, string, string | null, string | null, string | null];

/** A batch as plain rows: cheap to send to another thread (strings are copied, not walked). */
export interface EncodedBatch {
  tasks: TaskRow[];
  /** The journal chunk: events `first..last` as one JSON array of [type, timestamp, data]. */
  events: { first: number; last: number; ts: number; json: string } | null;
  records: RecordRow[];
  meta: [string, string][];
  /** See `WriteBatch.deferSync`. */
  deferSync?: boolean;
}

/** Turns batches into rows and hands out the journal's sequence numbers. One per store, on the engine's thread. */
export class BatchEncoder {
  #lastSeq: number;
  readonly #journal: boolean;

  constructor(lastSeq: number, journal: boolean) {
    this.#lastSeq = lastSeq;
    this.#journal = journal;
  }

  /** The newest sequence number handed out (committed or in flight). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  encode(batch: WriteBatch): EncodedBatch {
    const tasks: TaskRow[] = new Array<TaskRow>(batch.tasks.length);
    for (let i = 0; i < batch.tasks.length; i++) {
      const t = batch.tasks[i];
      if (!t) continue;
      const spec = t.spec;
      // A row already in the store keeps its spec (the upserts do not update it): not encoded again, and not kept
      // encoded either (a cache of every queued task's spec JSON was ~280 B per task, a third of its heap).
      const specJson = t.specStored === true ? '' : toJson(spec);
      tasks[i] = [
        spec.id,
        spec.name,
        spec.module,
        spec.action,
        spec.priority,
        t.status,
        t.result.attempts,
        specJson,
        toJson(t.result, t.binary === true),
        t.retryAt ?? null,
        t.updatedAt,
      ];
    }
    let events: EncodedBatch['events'] = null;
    const n = batch.events.length;
    if (n > 0 && this.#journal) {
      const chunk = new Array<[string, number, unknown]>(n);
      for (let i = 0; i < n; i++) {
        const e = batch.events[i];
        if (e) chunk[i] = [e.type, e.timestamp, e.data];
      }
      const first = this.#lastSeq + 1;
      this.#lastSeq += n;
      events = { first, last: this.#lastSeq, ts: batch.events[0]?.timestamp ?? Date.now(), json: toJson(chunk) };
    }
    const records: RecordRow[] = batch.records.map((r) =>
      r.delete === true
        ? [r.kind, r.id, null, null, null]
        : [r.kind, r.id, r.parent ?? null, r.status ?? null, r.json ?? toJson(r.data, true)],
    );
    const encoded: EncodedBatch = { tasks, events, records, meta: Object.entries(batch.meta) };
    if (batch.deferSync === true) encoded.deferSync = true;
    return encoded;
  }

  /** The batch was not written: its sequence numbers are handed out again. Call before encoding the next one. */
  rollback(b: EncodedBatch): void {
    if (b.events) this.#lastSeq = b.events.first - 1;
  }
}

export interface JournalLimits {
  /** Entries kept; 0 keeps none (the encoder then sends no events). */
  maxEvents: number;
  /** Entries older than this are deleted; 0: no age limit. */
  maxAgeMs: number;
}

/** How much finished history is kept: the newest `tasks` tasks / `runs` runs, and none older than the ages (0: no limit). */
export interface RetentionLimits {
  tasks: number;
  taskAgeMs: number;
  runs: number;
  runAgeMs: number;
}

export const NO_RETENTION: RetentionLimits = { tasks: 0, taskAgeMs: 0, runs: 0, runAgeMs: 0 };

/** How often count-based retention runs, at most (it deletes by rowid range: cheap). */
const RETAIN_EVERY_MS = 1000;

/** How often age-based journal pruning runs, at most. */
const AGE_PRUNE_EVERY_MS = 60_000;

/**
 * Writes encoded batches, one transaction each, on whichever thread owns its connection.
 *
 * @internal Left out of the published declarations: its constructor takes a better-sqlite3 connection, whose types
 * are a dev dependency.
 */
export class BatchWriter {
  readonly #db: Database.Database;
  readonly #limits: JournalLimits;
  readonly #tx: (b: EncodedBatch, maintain: boolean) => void;
  readonly #txAll: (bs: readonly EncodedBatch[]) => void;
  readonly #upsertTask: Database.Statement;
  readonly #insertEvents: Database.Statement;
  readonly #pruneBefore: Database.Statement;
  readonly #pruneOlder: Database.Statement;
  readonly #setMeta: Database.Statement;
  readonly #records = new Map<string, { upsert: Database.Statement; remove: Database.Statement }>();
  #firstSeq: number;
  #lastAgePrune = 0;
  readonly #retention: RetentionLimits;
  readonly #retain: {
    tasksBelow: Database.Statement;
    tasksOlder: Database.Statement;
    runsBelow: Database.Statement;
    runsOlder: Database.Statement;
    maxTask: Database.Statement;
    maxRun: Database.Statement;
  } | null;
  #lastRetain = 0;
  #lastAgeRetain = 0;
  /** The connection fsyncs every commit (`synchronous = FULL`, strict durability). */
  readonly #strict: boolean;
  /** `synchronous` is FULL now (strict only: a commit nobody waits on runs at NORMAL, see {@link write}). */
  #full: boolean;

  constructor(
    db: Database.Database,
    limits: JournalLimits,
    recordKinds: readonly string[],
    retention: RetentionLimits = NO_RETENTION,
  ) {
    this.#db = db;
    // 2 is FULL (3 EXTRA also syncs every commit; it is kept as it is).
    this.#strict = this.#full = db.pragma('synchronous', { simple: true }) === 2;
    this.#limits = limits;
    this.#retention = retention;
    const on = retention.tasks > 0 || retention.taskAgeMs > 0 || retention.runs > 0 || retention.runAgeMs > 0;
    const doneTasks = statusIn(TERMINAL_TASK_STATUSES);
    const doneRuns = statusIn(TERMINAL_RUN_STATUSES);
    this.#retain = on
      ? {
          tasksBelow: db.prepare(`DELETE FROM tasks WHERE rowid <= ? AND ${doneTasks}`),
          tasksOlder: db.prepare(`DELETE FROM tasks WHERE updated_at < ? AND ${doneTasks}`),
          runsBelow: db.prepare(`DELETE FROM workflow_runs WHERE rowid <= ? AND ${doneRuns}`),
          runsOlder: db.prepare(`DELETE FROM workflow_runs WHERE updated_at < ? AND ${doneRuns}`),
          maxTask: db.prepare('SELECT max(rowid) FROM tasks').pluck(),
          maxRun: db.prepare('SELECT max(rowid) FROM workflow_runs').pluck(),
        }
      : null;
    this.#upsertTask = db.prepare(
      `INSERT INTO tasks (id, name, module, action, priority, status, attempts, spec, result, retry_at, updated_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts, result = excluded.result,
         retry_at = excluded.retry_at, updated_at = excluded.updated_at`,
    );
    this.#insertEvents = db.prepare('INSERT INTO events (seq, last_seq, ts, data) VALUES (?, ?, ?, ?)');
    this.#pruneBefore = db.prepare('DELETE FROM events WHERE seq < ? AND last_seq < ?');
    this.#pruneOlder = db.prepare(
      'DELETE FROM events WHERE seq < coalesce((SELECT seq FROM events WHERE ts >= ? ORDER BY seq LIMIT 1), ?)',
    );
    this.#setMeta = db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    for (const kind of recordKinds) {
      this.#records.set(kind, {
        upsert: db.prepare(
          `INSERT INTO ${kind} (id, parent, status, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET parent = excluded.parent, status = excluded.status, data = excluded.data, updated_at = excluded.updated_at`,
        ),
        remove: db.prepare(`DELETE FROM ${kind} WHERE id = ?`),
      });
    }
    this.#firstSeq = (db.prepare('SELECT min(seq) FROM events').pluck().get() as number | null) ?? 0;
    this.#tx = db.transaction((b: EncodedBatch, maintain: boolean) => this.#write(b, maintain));
    this.#txAll = db.transaction((bs: readonly EncodedBatch[]) => {
      for (const b of bs) this.#write(b);
    });
  }

  /** Writes the parts of one large batch in one transaction: all of them, or (when SQLite refuses one) none. */
  writeAll(bs: readonly EncodedBatch[]): void {
    this.#sync(true);
    this.#txAll(bs);
  }

  /**
   * Writes the batch in one transaction; throws (and writes nothing) when SQLite refuses it. Under strict durability
   * a batch nobody waits on (`deferSync`) is committed without its fsync: the WAL is appended in order and synced
   * whole, so the next commit someone waits on makes it durable too, and nobody was told of it before then.
   * `maintain: false` leaves pruning the journal and applying retention to the other writer's commits (a small
   * commit written on the engine's thread while its writer thread is idle).
   */
  write(b: EncodedBatch, maintain = true): void {
    this.#sync(b.deferSync !== true);
    this.#tx(b, maintain);
  }

  #sync(full: boolean): void {
    if (!this.#strict || full === this.#full) return;
    this.#db.pragma(`synchronous = ${full ? 'FULL' : 'NORMAL'}`);
    this.#full = full;
  }

  #write(b: EncodedBatch, maintain = true): void {
    const now = Date.now();
    for (const t of b.tasks) this.#upsertTask.run(...t, now);
    if (b.events) {
      this.#insertEvents.run(b.events.first, b.events.last, b.events.ts, b.events.json);
      if (this.#firstSeq === 0) this.#firstSeq = b.events.first;
      if (maintain) this.#prune(b.events.last, now);
    }
    for (const [kind, id, parent, status, data] of b.records) {
      const st = this.#records.get(kind);
      if (!st) throw new Error(`unknown record kind "${kind}"`);
      if (data === null) st.remove.run(id);
      else st.upsert.run(id, parent, status, data, now, now);
    }
    for (const [k, v] of b.meta) this.#setMeta.run(k, v);
    if (this.#retain && maintain) this.#applyRetention(now);
  }

  /**
   * Deletes finished history past the retention limits, inside the commit: by count at most once a second (a rowid
   * range, so it costs what it deletes), by age once a minute. Unfinished tasks and runs are never deleted.
   */
  #applyRetention(now: number): void {
    const st = this.#retain;
    if (!st || now - this.#lastRetain < RETAIN_EVERY_MS) return;
    this.#lastRetain = now;
    const r = this.#retention;
    if (r.tasks > 0) {
      const max = (st.maxTask.get() as number | null) ?? 0;
      if (max > r.tasks) st.tasksBelow.run(max - r.tasks);
    }
    if (r.runs > 0) {
      const max = (st.maxRun.get() as number | null) ?? 0;
      if (max > r.runs) st.runsBelow.run(max - r.runs);
    }
    if (now - this.#lastAgeRetain < AGE_PRUNE_EVERY_MS) return;
    this.#lastAgeRetain = now;
    if (r.taskAgeMs > 0) st.tasksOlder.run(now - r.taskAgeMs);
    if (r.runAgeMs > 0) st.runsOlder.run(now - r.runAgeMs);
  }

  /**
   * Deletes the oldest entries in chunks, not one per commit: when the journal is 10% (at least 1000 entries) over
   * its bound, and by age once a minute. The cursor reached is kept in meta, so sequence numbers never repeat even
   * when pruning empties the table.
   */
  #prune(lastSeq: number, now: number): void {
    const { maxEvents, maxAgeMs } = this.#limits;
    const slack = Math.max(1000, Math.floor(maxEvents / 10));
    let pruned = false;
    if (lastSeq - this.#firstSeq + 1 > maxEvents + slack) {
      const keepFrom = lastSeq - maxEvents + 1;
      this.#pruneBefore.run(keepFrom, keepFrom);
      this.#firstSeq = keepFrom;
      pruned = true;
    }
    if (maxAgeMs > 0 && now - this.#lastAgePrune >= AGE_PRUNE_EVERY_MS) {
      this.#lastAgePrune = now;
      pruned = this.#pruneOlder.run(now - maxAgeMs, lastSeq + 1).changes > 0 || pruned;
      this.#firstSeq = (this.#db.prepare('SELECT min(seq) FROM events').pluck().get() as number | null) ?? 0;
    }
    if (pruned) this.#setMeta.run('journal.last_seq', String(lastSeq));
  }
}

/** `message (SQLITE_CODE)` for an error from SQLite (better-sqlite3's `code`, or a writer thread's data `sqliteCode`). */
export function describeSqliteError(err: unknown): string {
  const e = err as { code?: unknown; data?: { sqliteCode?: unknown } };
  const code = e.data ? e.data.sqliteCode : e.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? `${message} (${code})` : message;
}
