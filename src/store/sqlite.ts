/**
 * The durable store: one SQLite file (better-sqlite3, WAL). Opening it (sqliteOpen.ts) checks the file, takes the
 * engine lock and runs the migrations the file lacks. Writes arrive as batches (one transaction each) from the
 * engine's group committer and are written on a writer thread (writerThread.ts; the writes are in
 * sqliteWrites.ts); the read queries of the Store interface run here, on the engine's thread.
 */
import type Database from 'better-sqlite3';
import { ErrorCode, ShuttingDownError, StoreError } from '../errors.js';
import type { TaskStatus } from '../model/task.js';
import { TASK_COLUMNS, readJournal, recordOf, taskOf, unknownRecordKind } from './rows.js';
import type { EventChunkRow, RecordReadRow as RecordRow, TaskReadRow as TaskRow } from './rows.js';
import type { DatabaseLock } from './fileGuard.js';
import { currentOwner } from './fileGuard.js';
import { BatchEncoder, BatchWriter, describeSqliteError } from './sqliteWrites.js';
import type { RetentionLimits } from './sqliteWrites.js';
import { WriterThread } from './writerThread.js';
import { commitOnThread } from './parts.js';
import { RECORD_KIND_SINCE } from './migrations.js';
import { openSqliteFile } from './sqliteOpen.js';
import type { OpenedSqliteFile, SqliteFileSettings } from './sqliteOpen.js';
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
import { RECORD_KINDS, emptyBatch } from './store.js';

/** How to open a {@link SqliteStore}: the file, durability, journal and history limits. */
export interface SqliteStoreOptions {
  /** The database file, or `:memory:`. Its folder is created when missing. */
  path: string;
  /** `strict`: `synchronous = FULL` (each commit is fsynced); `relaxed`: `synchronous = NORMAL`. Default strict. */
  durability?: 'strict' | 'relaxed';
  /** How long a statement waits on a lock held by a reader or checkpoint (default 5000). */
  busyTimeoutMs?: number;
  /** Journal entries kept; older ones are deleted (default 100 000; 0 keeps none). */
  journalMaxEvents?: number;
  /** Journal entries older than this are deleted (default 0: no age limit). */
  journalMaxAgeMs?: number;
  /** Recorded as the owner, so a refused second engine can say who holds the file. */
  engineId?: string;
  /** Finished history kept (see `EngineOptions.storeRetention`); default: everything. */
  retention?: RetentionLimits;
  /** Open for reading only: no lock, no migrations, no writes (tailing the journal of a running engine). */
  readonly?: boolean;
  /**
   * Give `commitAsync` a writer thread of its own connection, so SQLite's work (statements, commit, fsync, WAL
   * checkpoints) runs off the engine's thread (default true for a file; `:memory:` always writes in-thread).
   */
  writerThread?: boolean;
  /** SQLite's `wal_autocheckpoint` for the connections that write (default 1000 pages; 0: no automatic checkpoints). */
  walAutocheckpointPages?: number;
}

type Statement = Database.Statement<unknown[]>;

/**
 * A commit written in place of a writer-thread round trip (strict, see `#commitOnThread`) holds at most `rows` tasks,
 * events and records, and at most `run` go in a row: then one goes to the thread, which prunes the journal and
 * checkpoints the WAL even when nothing else comes (an idle daemon's events).
 */
const IN_PLACE = { rows: 16, run: 32 };

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  readonly persistent: boolean;
  /** The schema version the file had when opened (0 for a new file). */
  readonly openedAtVersion: number;
  /** Present when writes can go through a writer thread (a file opened for writing). */
  readonly commitAsync?: (batch: WriteBatch) => Promise<void>;
  readonly #db: Database.Database;
  readonly #lock: DatabaseLock | null;
  readonly #readonly: boolean;
  #closed = false;
  #reads!: {
    getTask: Statement;
    getTaskStatus: Statement;
    getTaskStatuses: Statement;
    getMeta: Statement;
    records: Map<RecordKind, Statement>;
  };
  /** Null when opened read-only. */
  readonly #encoder: BatchEncoder | null = null;
  readonly #writer: BatchWriter | null = null;
  readonly #thread: WriterThread | null = null;
  /** Small unsynced commits may be written on this thread while the writer thread is idle (strict, see #commitOnThread). */
  readonly #inline: boolean = false;
  /** Commits written here since the writer thread's last one (which prunes, applies retention and checkpoints). */
  #inlineRun = 0;

  private constructor(opened: OpenedSqliteFile, settings: SqliteFileSettings, options: SqliteStoreOptions) {
    const db = (this.#db = opened.db);
    this.location = opened.path;
    this.persistent = opened.path !== ':memory:';
    this.#lock = opened.lock;
    this.openedAtVersion = opened.version;
    this.#readonly = settings.readonly;
    this.#prepare();
    if (this.#readonly) return;
    const journal = { maxEvents: options.journalMaxEvents ?? 100_000, maxAgeMs: options.journalMaxAgeMs ?? 0 };
    // Pruning may empty the table: the cursor it reached is kept in meta, so sequence numbers never repeat.
    const last = (db.prepare('SELECT max(last_seq) FROM events').pluck().get() as number | null) ?? 0;
    this.#encoder = new BatchEncoder(
      Math.max(last, Number(this.getMeta('journal.last_seq') ?? 0)),
      journal.maxEvents > 0,
    );
    this.#writer = new BatchWriter(db, journal, RECORD_KINDS, options.retention);
    if (this.persistent && options.writerThread !== false) {
      const thread = new WriterThread({
        path: this.location,
        durability: settings.durability,
        busyTimeoutMs: settings.busyTimeoutMs,
        walAutocheckpointPages: settings.walAutocheckpointPages,
        journal,
        recordKinds: RECORD_KINDS,
        ...(options.retention ? { retention: options.retention } : {}),
      });
      this.#thread = thread;
      this.commitAsync = (batch) => this.#commitOnThread(thread, batch);
      this.#inline = settings.durability === 'strict';
      // Checkpoints are the writer thread's: a commit written here (see #commitOnThread) never runs one.
      db.pragma('wal_autocheckpoint = 0');
    }
  }

  /**
   * Opens (creating when missing) the database at `options.path`. Throws a `StoreError` naming the file when it is
   * corrupt or truncated (`STORE_CORRUPT`; the file is not modified), held by another engine (`STORE_LOCKED`),
   * written by newer code (`STORE_VERSION`), or cannot be created (`STORE_UNAVAILABLE`).
   */
  static open(options: SqliteStoreOptions): SqliteStore {
    const settings: SqliteFileSettings = {
      path: options.path,
      readonly: options.readonly === true,
      durability: options.durability ?? 'strict',
      busyTimeoutMs: Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000)),
      walAutocheckpointPages: Math.max(0, Math.floor(options.walAutocheckpointPages ?? 1000)),
      engineId: options.engineId ?? 'unknown',
    };
    return openSqliteFile(settings, (opened) => new SqliteStore(opened, settings, options));
  }

  claim(engineId: string): void {
    if (this.#readonly || this.#closed || !this.persistent) return;
    this.#db
      .prepare(
        `INSERT INTO meta (key, value) VALUES ('owner', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      )
      .run(JSON.stringify(currentOwner(engineId, this.location)));
  }

  #prepare(): void {
    const db = this.#db;
    const hasRecords = this.#readonly ? this.openedAtVersion >= 2 : true;
    const kinds = hasRecords
      ? RECORD_KINDS.filter((k) => !this.#readonly || this.openedAtVersion >= (RECORD_KIND_SINCE[k] ?? 2))
      : [];
    this.#reads = {
      getTask: db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`),
      getTaskStatus: db.prepare('SELECT status FROM tasks WHERE id = ?').pluck(),
      getTaskStatuses: db.prepare('SELECT id, status FROM tasks WHERE id IN (SELECT value FROM json_each(?))'),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      records: new Map(
        kinds.map((k) => [
          k,
          db.prepare(`SELECT id, parent, status, data, created_at, updated_at FROM ${k} WHERE id = ?`),
        ]),
      ),
    };
  }

  // ---------------------------------------------------------------- writes

  /** Writes one batch on this thread, in one transaction. */
  commit(batch: WriteBatch): void {
    if (this.#closed) throw new ShuttingDownError(`the store ${this.location} is closed`);
    const encoder = this.#encoder;
    if (!encoder) throw new StoreError(`the store ${this.location} was opened read-only`, ErrorCode.STORE_WRITE_FAILED);
    this.#write(encoder, batch, true);
  }

  #write(encoder: BatchEncoder, batch: WriteBatch, maintain: boolean): void {
    const writer = this.#writer;
    if (!writer) throw new StoreError(`the store ${this.location} was opened read-only`, ErrorCode.STORE_WRITE_FAILED);
    const encoded = encoder.encode(batch);
    try {
      writer.write(encoded, maintain);
    } catch (err) {
      // The transaction rolled back: nothing of the batch is on disk.
      encoder.rollback(encoded);
      throw this.#writeError(err);
    }
  }

  /**
   * Encodes here, writes on the writer thread. The committer sends one batch at a time. A large batch goes in
   * parts, yielding between them, and is still written in one transaction (parts.ts).
   *
   * Under strict durability, a small batch nobody is answered on (`deferSync`: the row a task waits for before it
   * starts) is written here instead when the writer thread is idle: an unsynced commit of a few rows costs tens of
   * microseconds, a round trip to a sleeping thread (woken, then waking this one) several times that, on the path
   * of every task started one at a time. The next synced commit, on the writer thread, makes it durable with the
   * rest (one WAL, synced in order); pruning, retention and checkpoints stay with the writer thread's commits.
   */
  async #commitOnThread(thread: WriterThread, batch: WriteBatch): Promise<void> {
    if (this.#closed) throw new ShuttingDownError(`the store ${this.location} is closed`);
    const encoder = this.#encoder;
    if (!encoder) throw new StoreError(`the store ${this.location} was opened read-only`, ErrorCode.STORE_WRITE_FAILED);
    const inPlace = this.#inline && batch.deferSync === true && thread.idle && this.#inlineRun < IN_PLACE.run;
    if (inPlace && batch.tasks.length + batch.events.length + batch.records.length <= IN_PLACE.rows) {
      this.#inlineRun++;
      return this.#write(encoder, batch, false);
    }
    this.#inlineRun = 0;
    await commitOnThread(
      thread,
      encoder,
      batch,
      () => this.#closed,
      (err) => this.#writeError(err),
    );
  }

  #writeError(err: unknown): StoreError {
    return new StoreError(
      `could not write to the database ${this.location}: ${describeSqliteError(err)}`,
      ErrorCode.STORE_WRITE_FAILED,
      { cause: err },
    );
  }

  putTasks(tasks: readonly StoredTask[]): void {
    this.commit({ ...emptyBatch(), tasks: [...tasks] });
  }

  // ---------------------------------------------------------------- reads

  getTask(id: string): StoredTask | undefined {
    const row = this.#reads.getTask.get(id) as TaskRow | undefined;
    return row ? taskOf(row, this.location) : undefined;
  }

  getTaskStatus(id: string): TaskStatus | undefined {
    return this.#reads.getTaskStatus.get(id) as TaskStatus | undefined;
  }

  getTaskStatuses(ids: readonly string[]): Map<string, TaskStatus> {
    const rows = this.#reads.getTaskStatuses.all(JSON.stringify(ids)) as { id: string; status: TaskStatus }[];
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  listTasks(filter: TaskPage = {}): StoredTask[] {
    const params: unknown[] = [];
    let sql = `SELECT ${TASK_COLUMNS} FROM tasks`;
    if (filter.status) {
      if (filter.status.length === 0) return [];
      sql += ` WHERE status IN (${filter.status.map(() => '?').join(', ')})`;
      params.push(...filter.status);
    }
    sql += filter.newest ? ' ORDER BY rowid DESC' : ' ORDER BY rowid';
    if (filter.limit !== undefined || filter.offset !== undefined) {
      sql += ' LIMIT ? OFFSET ?';
      params.push(filter.limit ?? -1, filter.offset ?? 0);
    }
    return (this.#db.prepare(sql).all(...params) as TaskRow[]).map((r) => taskOf(r, this.location));
  }

  readEvents(query: EventQuery = {}): JournalEntry[] {
    return readJournal(query, (after) => {
      // The chunk holding `after + 1`, then the ones after it.
      const start =
        (this.#db
          .prepare('SELECT seq FROM events WHERE seq <= ? ORDER BY seq DESC LIMIT 1')
          .pluck()
          .get(after + 1) as number | undefined) ?? 0;
      return this.#db
        .prepare('SELECT seq, last_seq, data FROM events WHERE seq >= ? ORDER BY seq')
        .iterate(start) as IterableIterator<EventChunkRow>;
    });
  }

  lastEventSeq(): number {
    // What is committed (a batch in flight on the writer thread is not yet readable).
    return (this.#db.prepare('SELECT max(last_seq) FROM events').pluck().get() as number | null) ?? 0;
  }

  getRecord<T = unknown>(kind: RecordKind, id: string): StoredRecord<T> | undefined {
    const row = this.#recordStatement(kind).get(id) as RecordRow | undefined;
    return row ? recordOf<T>(row, kind, this.location) : undefined;
  }

  listRecords<T = unknown>(kind: RecordKind, query: RecordQuery = {}): StoredRecord<T>[] {
    this.#recordStatement(kind);
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.parent !== undefined) {
      where.push('parent = ?');
      params.push(query.parent);
    }
    if (query.status) {
      if (query.status.length === 0) return [];
      where.push(`status IN (${query.status.map(() => '?').join(', ')})`);
      params.push(...query.status);
    }
    // Records are written in time order, so created_at grows with the rowid: a time bound becomes a rowid bound found
    // by binary search (a few index lookups), and the scan reads only the rows of that range.
    if (query.createdFrom !== undefined) {
      where.push('rowid >= ?', 'created_at >= ?');
      params.push(this.#firstRowidAt(kind, query.createdFrom), query.createdFrom);
    }
    if (query.createdTo !== undefined) {
      where.push('rowid < ?', 'created_at < ?');
      params.push(this.#firstRowidAt(kind, query.createdTo), query.createdTo);
    }
    if (query.after !== undefined) {
      // A missing id compares with NULL: no rows, an empty page.
      where.push(`rowid ${query.newest === true ? '<' : '>'} (SELECT rowid FROM ${kind} WHERE id = ?)`);
      params.push(query.after);
    }
    let sql = `SELECT id, parent, status, data, created_at, updated_at FROM ${kind}`;
    if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
    sql += query.newest === true ? ' ORDER BY rowid DESC' : ' ORDER BY rowid';
    if (query.limit !== undefined) {
      sql += ' LIMIT ?';
      params.push(query.limit);
    }
    return (this.#db.prepare(sql).all(...params) as RecordRow[]).map((r) => recordOf<T>(r, kind, this.location));
  }

  /** The first rowid of `kind` whose `created_at` is at or after `t` (one past the last when none is). */
  #firstRowidAt(kind: RecordKind, t: number): number {
    const next = this.#db.prepare(
      `SELECT rowid AS r, created_at AS c FROM ${kind} WHERE rowid >= ? ORDER BY rowid LIMIT 1`,
    );
    const last = (this.#db.prepare(`SELECT max(rowid) FROM ${kind}`).pluck().get() as number | null) ?? 0;
    let lo = 0;
    let hi = last + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = next.get(mid) as { r: number; c: number } | undefined;
      if (!row || row.c >= t) hi = mid;
      else lo = row.r + 1;
    }
    return lo;
  }

  #recordStatement(kind: RecordKind): Statement {
    const st = this.#reads.records.get(kind);
    if (!st) throw unknownRecordKind(kind);
    return st;
  }

  getMeta(key: string): string | undefined {
    return (this.#reads.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  listMeta(): Record<string, string> {
    const rows = this.#db.prepare('SELECT key, value FROM meta ORDER BY key').all() as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  /** SQLite settings as applied (for tests and diagnostics). */
  pragma(name: 'synchronous' | 'journal_mode' | 'user_version' | 'busy_timeout'): unknown {
    return this.#db.pragma(name, { simple: true });
  }

  checkWritable(): void {
    if (this.#closed) throw new ShuttingDownError(`the store ${this.location} is closed`);
    this.#lock?.check();
    this.commit({ ...emptyBatch(), meta: { heartbeat: new Date().toISOString() } });
  }

  async warm(): Promise<void> {
    await this.#thread?.warm().catch(() => undefined);
  }

  /** Lets the writer thread finish what it was sent and stops it. Call before `close()`. */
  async drain(): Promise<void> {
    await this.#thread?.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#thread?.kill();
    try {
      this.#db.close();
    } finally {
      this.#lock?.release();
    }
  }
}
