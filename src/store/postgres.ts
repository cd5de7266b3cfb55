/**
 * The shared store: PostgreSQL, through node-postgres on a thread of its own (postgres.worker.ts). Opening
 * connects, brings the schema up with the versioned migrations of postgresSchema.ts (refusing a newer one), and
 * takes the database's lease (one engine writes at a time; see the README's "State in PostgreSQL"). Writes are
 * the engine's group commits, one statement each, fenced by the lease's epoch. Reads answer synchronously, as the
 * `Store` interface asks: the engine's thread waits for the store's thread (postgresThread.ts).
 */
import { hostname } from 'node:os';
import { ErrorCode, ShuttingDownError, StoreError } from '../errors.js';
import type { TaskStatus } from '../model/task.js';
import { commitOnThread } from './parts.js';
import type { PgOpenRequest, PgOpened } from './postgresProtocol.js';
import { PG_SCHEMA_VERSION, pgTable } from './postgresSchema.js';
import { PgThread, PgThreadError } from './postgresThread.js';
import { RECORD_COLUMNS, TASK_COLUMNS, readJournal, recordOf, taskOf, unknownRecordKind } from './rows.js';
import type { EventChunkRow, RecordReadRow, TaskReadRow } from './rows.js';
import { isPostgresUrl, openError, redactUrl } from './postgresOpen.js';
import { BatchEncoder } from './sqliteWrites.js';
import type { RetentionLimits } from './sqliteWrites.js';
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

/** How to open a {@link PostgresStore}: the database URL, durability, journal and history limits, the lease. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (the password may also come from `PGPASSWORD`). */
  url: string;
  /** `strict` (default): a commit is acknowledged once PostgreSQL flushed it (`synchronous_commit = on`); `relaxed`: `off`. */
  durability?: 'strict' | 'relaxed';
  /** Journal entries kept (default 100 000; 0 keeps none). */
  journalMaxEvents?: number;
  /** Journal entries older than this are deleted (default 0: no age limit). */
  journalMaxAgeMs?: number;
  /** Who holds the lease: shown to other engines refused the database (default: a random id). */
  engineId?: string;
  /** Finished history kept (see `EngineOptions.storeRetention`); default: everything. */
  retention?: RetentionLimits;
  /** Open for reading only: no lease, no migrations, no writes. */
  readonly?: boolean;
  /** Bring the schema up to date at open (default true); false refuses a database that is behind (`store migrate`). */
  migrate?: boolean;
  /** The lease's time to live: a standby takes over this long after the active stopped renewing (default 10 000). */
  leaseTtlMs?: number;
  /** A lease this engine already took at this epoch (a standby's takeover, see `waitForLease`). */
  adoptEpoch?: number;
  /** How long connecting may take (default 5000). */
  connectTimeoutMs?: number;
  /** How long one statement may run, and a read may block the engine's thread (default 10 000). */
  queryTimeoutMs?: number;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  /** The URL without its password. */
  readonly location: string;
  readonly persistent = true;
  /** The schema version the database had when opened (0 for a new one). */
  readonly openedAtVersion: number;
  /** The lease's epoch this store writes with (0 when read-only). */
  readonly epoch: number;
  readonly commitAsync?: (batch: WriteBatch) => Promise<void>;
  readonly #thread: PgThread;
  readonly #encoder: BatchEncoder | null;
  readonly #queryTimeoutMs: number;
  #closed = false;
  #fenced: StoreError | null = null;
  readonly #fencedListeners: ((error: StoreError) => void)[] = [];

  private constructor(thread: PgThread, location: string, opened: PgOpened, options: PostgresStoreOptions) {
    this.#thread = thread;
    this.location = location;
    this.openedAtVersion = opened.version;
    this.epoch = opened.epoch;
    this.#queryTimeoutMs = options.queryTimeoutMs ?? 10_000;
    this.#encoder =
      options.readonly === true ? null : new BatchEncoder(opened.lastSeq, (options.journalMaxEvents ?? 100_000) > 0);
    if (this.#encoder) this.commitAsync = (batch) => this.#commitAsync(batch);
    thread.onLeaseLost((message) => this.#fence(new StoreError(message, ErrorCode.STORE_FENCED)));
  }

  /**
   * Opens the database at `options.url`, blocking this thread until it is connected, migrated and leased. Throws a
   * `StoreError` naming the URL (never its password): unreachable or refused login (`STORE_UNAVAILABLE`), a newer
   * schema (`STORE_VERSION`), the lease held by another engine (`STORE_LOCKED`).
   */
  static open(options: PostgresStoreOptions): PostgresStore {
    const { thread, request, location } = PostgresStore.#prepare(options);
    try {
      const opened = thread.callSync<PgOpened>(
        { type: 'open', open: request },
        request.connectTimeoutMs * 3 + request.statementTimeoutMs,
      );
      return new PostgresStore(thread, location, opened, options);
    } catch (err) {
      thread.kill();
      throw openError(err, location);
    }
  }

  /** {@link open} without blocking this thread (the daemon's start, the `store` commands). */
  static async openAsync(options: PostgresStoreOptions): Promise<PostgresStore> {
    const { thread, request, location } = PostgresStore.#prepare(options);
    try {
      const opened = await thread.call<PgOpened>({ type: 'open', open: request });
      return new PostgresStore(thread, location, opened, options);
    } catch (err) {
      thread.kill();
      throw openError(err, location);
    }
  }

  /**
   * Brings the schema of the database at `url` up to this code's version, without taking the lease (daemons may
   * run meanwhile; stop them first when a migration changes what they write). Resolves with the versions before and
   * after; rejects like {@link open} (a newer schema: `STORE_VERSION`).
   */
  static async migrate(
    url: string,
    options: { connectTimeoutMs?: number } = {},
  ): Promise<{ location: string; from: number; to: number }> {
    const { thread, request, location } = PostgresStore.#prepare({ url, ...options });
    try {
      const opened = await thread.call<PgOpened>({ type: 'open', open: { ...request, lease: false } });
      await thread.close(false);
      return { location, from: opened.version, to: PG_SCHEMA_VERSION };
    } catch (err) {
      thread.kill();
      throw openError(err, location);
    }
  }

  static #prepare(options: PostgresStoreOptions): { thread: PgThread; request: PgOpenRequest; location: string } {
    if (!isPostgresUrl(options.url))
      throw new StoreError(
        `not a PostgreSQL URL: "${redactUrl(options.url)}" (expected postgres://user:password@host:port/database)`,
        ErrorCode.STORE_UNAVAILABLE,
      );
    const location = redactUrl(options.url);
    const holder = options.engineId ?? `engine-${process.pid}-${Date.now().toString(36)}`;
    const request: PgOpenRequest = {
      url: options.url,
      shownUrl: location,
      durability: options.durability ?? 'strict',
      readonly: options.readonly === true,
      migrate: options.migrate !== false,
      lease: true,
      holder,
      holderInfo: { engineId: holder, host: hostname(), pid: process.pid, since: new Date().toISOString() },
      leaseTtlMs: options.leaseTtlMs ?? 10_000,
      adoptEpoch: options.adoptEpoch ?? null,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      statementTimeoutMs: options.queryTimeoutMs ?? 10_000,
      journal: { maxEvents: options.journalMaxEvents ?? 100_000, maxAgeMs: options.journalMaxAgeMs ?? 0 },
      retention: options.retention && Object.values(options.retention).some((v) => v > 0) ? options.retention : null,
      recordKinds: RECORD_KINDS,
    };
    return { thread: new PgThread(), request, location };
  }

  /** Called once if this store's lease is taken over (its writes are refused from then on). */
  onFenced(fn: (error: StoreError) => void): void {
    if (this.#fenced) fn(this.#fenced);
    else this.#fencedListeners.push(fn);
  }

  /** The error writes fail with since the lease was taken over; null while this store holds it. */
  get fenced(): StoreError | null {
    return this.#fenced;
  }

  #fence(error: StoreError): void {
    if (this.#fenced) return;
    this.#fenced = error;
    for (const fn of this.#fencedListeners.splice(0)) fn(error);
  }

  // ---------------------------------------------------------------- writes

  #writable(): BatchEncoder {
    if (this.#closed) throw new ShuttingDownError(`the store ${this.location} is closed`);
    if (!this.#encoder)
      throw new StoreError(`the store ${this.location} was opened read-only`, ErrorCode.STORE_WRITE_FAILED);
    if (this.#fenced) throw this.#fenced;
    return this.#encoder;
  }

  commit(batch: WriteBatch): void {
    const encoder = this.#writable();
    const encoded = encoder.encode(batch);
    try {
      this.#thread.callSync({ type: 'write', batch: encoded }, this.#queryTimeoutMs + 1000);
    } catch (err) {
      encoder.rollback(encoded);
      throw this.#writeError(err);
    }
  }

  async #commitAsync(batch: WriteBatch): Promise<void> {
    const encoder = this.#writable();
    await commitOnThread(
      this.#thread,
      encoder,
      batch,
      () => this.#closed,
      (err) => this.#writeError(err),
    );
  }

  #writeError(err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    if (err instanceof PgThreadError && err.kind === 'fenced') {
      const error = new StoreError(`${this.location}: ${err.message}`, ErrorCode.STORE_FENCED, { cause: err });
      this.#fence(error);
      return error;
    }
    const message = err instanceof Error ? err.message : String(err);
    return new StoreError(
      `could not write to the database ${this.location}: ${message}`,
      ErrorCode.STORE_WRITE_FAILED,
      { cause: err },
    );
  }

  putTasks(tasks: readonly StoredTask[]): void {
    this.commit({ ...emptyBatch(), tasks: [...tasks] });
  }

  // ---------------------------------------------------------------- reads

  #query<T>(sql: string, params: unknown[] = []): T[] {
    if (this.#closed) throw new ShuttingDownError(`the store ${this.location} is closed`);
    try {
      return this.#thread.callSync<T[]>({ type: 'query', sql, params }, this.#queryTimeoutMs + 1000);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new StoreError(
        `could not read from the database ${this.location}: ${message}`,
        ErrorCode.STORE_UNAVAILABLE,
        { cause: err },
      );
    }
  }

  getTask(id: string): StoredTask | undefined {
    const row = this.#query<TaskReadRow>(`SELECT ${TASK_COLUMNS} FROM ${pgTable('tasks')} WHERE id = $1`, [id])[0];
    return row ? taskOf(row, this.location, pgTable('tasks')) : undefined;
  }

  getTaskStatus(id: string): TaskStatus | undefined {
    return this.#query<{ status: TaskStatus }>(`SELECT status FROM ${pgTable('tasks')} WHERE id = $1`, [id])[0]?.status;
  }

  getTaskStatuses(ids: readonly string[]): Map<string, TaskStatus> {
    if (ids.length === 0) return new Map();
    const rows = this.#query<{ id: string; status: TaskStatus }>(
      `SELECT id, status FROM ${pgTable('tasks')} WHERE id = ANY($1::text[])`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  listTasks(filter: TaskPage = {}): StoredTask[] {
    const params: unknown[] = [];
    let sql = `SELECT ${TASK_COLUMNS} FROM ${pgTable('tasks')}`;
    if (filter.status) {
      if (filter.status.length === 0) return [];
      params.push(filter.status);
      sql += ` WHERE status = ANY($1::text[])`;
    }
    sql += filter.newest ? ' ORDER BY ord DESC' : ' ORDER BY ord';
    if (filter.limit !== undefined) {
      params.push(filter.limit);
      sql += ` LIMIT $${params.length}`;
    }
    if (filter.offset !== undefined) {
      params.push(filter.offset);
      sql += ` OFFSET $${params.length}`;
    }
    return this.#query<TaskReadRow>(sql, params).map((r) => taskOf(r, this.location, pgTable('tasks')));
  }

  readEvents(query: EventQuery = {}): JournalEntry[] {
    // Chunks holding entries after `after`, a page at a time, as long as entries are wanted.
    const query64 = (from: number): EventChunkRow[] =>
      this.#query<EventChunkRow>(
        `SELECT seq, last_seq, data FROM ${pgTable('events')} WHERE last_seq > $1 ORDER BY seq LIMIT 64`,
        [from],
      );
    return readJournal(query, function* (after) {
      let from = after;
      for (;;) {
        const rows = query64(from);
        for (const row of rows) {
          yield row;
          from = row.last_seq;
        }
        if (rows.length < 64) return;
      }
    });
  }

  lastEventSeq(): number {
    return this.#query<{ last: number | null }>(`SELECT max(last_seq) AS last FROM ${pgTable('events')}`)[0]?.last ?? 0;
  }

  getRecord<T = unknown>(kind: RecordKind, id: string): StoredRecord<T> | undefined {
    const row = this.#query<RecordReadRow>(`SELECT ${RECORD_COLUMNS} FROM ${recordTableOf(kind)} WHERE id = $1`, [
      id,
    ])[0];
    return row ? recordOf<T>(row, pgTable(kind), this.location) : undefined;
  }

  listRecords<T = unknown>(kind: RecordKind, query: RecordQuery = {}): StoredRecord<T>[] {
    const table = recordTableOf(kind);
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.parent !== undefined) {
      params.push(query.parent);
      where.push(`parent = $${params.length}`);
    }
    if (query.status) {
      if (query.status.length === 0) return [];
      params.push(query.status);
      where.push(`status = ANY($${params.length}::text[])`);
    }
    if (query.createdFrom !== undefined) {
      params.push(query.createdFrom);
      where.push(`created_at >= $${params.length}`);
    }
    if (query.createdTo !== undefined) {
      params.push(query.createdTo);
      where.push(`created_at < $${params.length}`);
    }
    if (query.after !== undefined) {
      // A missing id compares with NULL: no rows, an empty page.
      params.push(query.after);
      where.push(`ord ${query.newest === true ? '<' : '>'} (SELECT ord FROM ${table} WHERE id = $${params.length})`);
    }
    let sql = `SELECT ${RECORD_COLUMNS} FROM ${table}`;
    if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
    sql += query.newest === true ? ' ORDER BY ord DESC' : ' ORDER BY ord';
    if (query.limit !== undefined) {
      params.push(query.limit);
      sql += ` LIMIT $${params.length}`;
    }
    return this.#query<RecordReadRow>(sql, params).map((r) => recordOf<T>(r, table, this.location));
  }

  getMeta(key: string): string | undefined {
    return this.#query<{ value: string }>(`SELECT value FROM ${pgTable('meta')} WHERE key = $1`, [key])[0]?.value;
  }

  listMeta(): Record<string, string> {
    const rows = this.#query<{ key: string; value: string }>(`SELECT key, value FROM ${pgTable('meta')} ORDER BY key`);
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  /** Any read-only query (the `store` commands, status): rows as node-postgres gives them, int8 as numbers. */
  query<T>(sql: string, params: unknown[] = []): T[] {
    return this.#query<T>(sql, params);
  }

  checkWritable(): void {
    this.#writable();
    this.commit({ ...emptyBatch(), meta: { heartbeat: new Date().toISOString() } });
  }

  /** Waits for the commits sent, releases the lease (a standby takes over at once) and closes the connections. */
  async drain(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#thread.close(true).catch(() => undefined);
  }

  /** Closes at once; the lease is not released (it expires). Call {@link drain} first for an orderly stop. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#thread.kill();
  }
}

function recordTableOf(kind: RecordKind): string {
  if (!(RECORD_KINDS as readonly string[]).includes(kind)) throw unknownRecordKind(kind);
  return pgTable(kind);
}
