import type { BusEvent, EventName } from '../model/events.js';
import type { TaskResult, TaskSpec, TaskStatus } from '../model/task.js';

/** A task as the store keeps it. */
export interface StoredTask {
  spec: TaskSpec;
  status: TaskStatus;
  /** Where the task is (or how it ended): attempts, timestamps, output or error. */
  result: TaskResult;
  /** When a `retrying` task runs again (epoch ms); null otherwise. */
  retryAt?: number | null;
  updatedAt: number;
  /** Its result holds binary data (stored as base64, read back as a Buffer). */
  binary?: boolean;
  /**
   * Its row is in the store with an open status (so retention, which deletes only ended tasks, cannot have removed
   * it): a store may skip writing the spec, which never changes.
   */
  specStored?: boolean;
}

/** Which stored tasks to list: by status, a page of `limit` after skipping `offset`, oldest (default) or newest first. */
export interface TaskPage {
  status?: readonly TaskStatus[];
  limit?: number;
  offset?: number;
  newest?: boolean;
}

/** Statuses of tasks that have not ended: what recovery restores. */
export { OPEN_TASK_STATUSES } from '../model/task.js';

/** One entry of the event journal. `seq` is the journal's own cursor: it grows by one per event and never repeats. */
export interface JournalEntry {
  seq: number;
  type: EventName;
  timestamp: number;
  data: unknown;
}

/** Which journal entries `listEvents` returns: after a sequence number, how many, of which types. */
export interface EventQuery {
  /** Entries with a larger `seq` than this (default 0: from the oldest kept). */
  afterSeq?: number;
  /** At most this many (default 1000). */
  limit?: number;
  /** Only these event types. */
  types?: readonly EventName[];
}

/**
 * Kinds of record kept one table each, for the components that arrive after tasks (workflows, sessions,
 * projects, resources, schedules with their slot state, triggers). Each record is `{ id, parent, status, data }`: `parent` groups records (the workflow a run
 * or a definition version belongs to, the holder of an allocation), `status` finds the ones still in flight.
 */
export const RECORD_KINDS = [
  'workflow_definitions',
  'workflow_runs',
  'sessions',
  'projects',
  'resources',
  'allocations',
  'rate_limits',
  'idempotency_keys',
  'workflow_signals',
  'schedules',
  'triggers',
  'run_idempotency_keys',
] as const;
/** One of {@link RECORD_KINDS}: the table a record lives in. */
export type RecordKind = (typeof RECORD_KINDS)[number];

/** A record as stored: its id, grouping `parent`, `status` (for the ones in flight), its data and times (epoch ms). */
export interface StoredRecord<T = unknown> {
  id: string;
  parent: string | null;
  status: string | null;
  data: T;
  createdAt: number;
  updatedAt: number;
}

/**
 * A record to write (`data`), or to delete (`delete: true`). `json`: `data` already encoded as the store would
 * (`toJson(data, true)`), for a large record whose parts are encoded once and reused; a durable store writes it
 * as given, the memory store keeps `data`.
 */
export type RecordWrite =
  | {
      kind: RecordKind;
      id: string;
      parent?: string | null;
      status?: string | null;
      data: unknown;
      json?: string | undefined;
      delete?: false;
    }
  | { kind: RecordKind; id: string; delete: true };

/** Which records `listRecords` returns: by parent, by status, how many. */
export interface RecordQuery {
  parent?: string;
  status?: readonly string[];
  limit?: number;
  /** Newest first (default: in the order they were first written). */
  newest?: boolean;
  /**
   * A page's cursor: only records beyond this one in the listing's order (written before it when `newest`, after
   * it otherwise). An id that is not stored gives an empty page.
   */
  after?: string;
  /** Only records first written at or after this time (epoch ms). */
  createdFrom?: number;
  /** Only records first written before this time (epoch ms). */
  createdTo?: number;
}

/** Everything one commit writes, atomically: all of it or none of it. */
export interface WriteBatch {
  tasks: StoredTask[];
  /** Events for the journal, in publish order. */
  events: BusEvent[];
  records: RecordWrite[];
  /** Small named values (`scheduler.executing`, ...). */
  meta: Record<string, string>;
  /**
   * Nobody is answered on this commit: under strict durability its fsync may be left to the next commit somebody is
   * answered on, whose fsync then carries it too (a SQLite WAL is synced in order). Set by the group committer; a
   * batch without it is synced as the store's durability says. Stores that cannot defer a sync ignore it.
   */
  deferSync?: boolean;
}

export function emptyBatch(): WriteBatch {
  return { tasks: [], events: [], records: [], meta: {} };
}

export function isEmptyBatch(b: WriteBatch): boolean {
  return b.tasks.length === 0 && b.events.length === 0 && b.records.length === 0 && Object.keys(b.meta).length === 0;
}

/**
 * Where state lives: {@link SqliteStore} (durable, the embedded default of the daemon and CLI),
 * {@link PostgresStore} (durable and shared by active and standby daemons) or {@link MemoryStore} (this process
 * only). Reads are synchronous (a PostgreSQL store waits for its own thread: see postgresThread.ts). Components never write directly: they hand their changes to the
 * engine's {@link GroupCommitter}, which writes one batch per commit. Reads are for recovery, for records no longer
 * held in memory, and for the journal.
 */
export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** The database file, `:memory:`, `memory`, or a PostgreSQL URL without its password. */
  readonly location: string;
  /** True when what is written outlives the process (a SQLite file, a PostgreSQL database). */
  readonly persistent: boolean;
  /** Writes one batch in one transaction. Throws a `StoreError` (`STORE_WRITE_FAILED`) and writes nothing on failure. */
  commit(batch: WriteBatch): void;
  /**
   * Writes one batch off this thread, when the store can (a SQLite file: its writer thread). Resolves once it is
   * committed; rejects with a `StoreError` and writes nothing on failure. The caller sends one batch at a time.
   */
  readonly commitAsync?: (batch: WriteBatch) => Promise<void>;
  /** Shorthand for a commit of tasks only. */
  putTasks(tasks: readonly StoredTask[]): void;
  /** A stored task by id; undefined when there is none. */
  getTask(id: string): StoredTask | undefined;
  /** The status alone (cheap: for existence and dependency checks on the hot path). */
  getTaskStatus(id: string): TaskStatus | undefined;
  /** The statuses of those of `ids` that are stored (one query for many ids). */
  getTaskStatuses(ids: readonly string[]): Map<string, TaskStatus>;
  /** Tasks in the order they were first written (newest first with `newest`), skipping `offset` of them. */
  listTasks(filter?: TaskPage): StoredTask[];
  /** Journal entries in `seq` order. */
  readEvents(query?: EventQuery): JournalEntry[];
  /** The `seq` of the newest journal entry (0 when empty). */
  lastEventSeq(): number;
  /** One record of a kind by id; undefined when there is none. */
  getRecord<T = unknown>(kind: RecordKind, id: string): StoredRecord<T> | undefined;
  /** Records of a kind, filtered by `query`. */
  listRecords<T = unknown>(kind: RecordKind, query?: RecordQuery): StoredRecord<T>[];
  /** A meta value (schema version, owner, ...); undefined when it is not set. */
  getMeta(key: string): string | undefined;
  /** Every meta value (`store copy`). */
  listMeta(): Record<string, string>;
  /** Throws when the store cannot take writes (health checks). Writes a heartbeat on a durable store. */
  checkWritable(): void;
  /**
   * Starts what writes off-thread now and resolves once it can write (the engine awaits it while it starts, so
   * the first write does not pay for a thread's boot). Never rejects: a thread that cannot open fails the first
   * write, as before.
   */
  warm?(): Promise<void>;
  /** Waits for writes sent off-thread to finish and stops that thread. Call before `close()`. */
  drain?(): Promise<void>;
  /**
   * Records `engineId` (with this process and host) as the database's owner, which a refused second engine names.
   * The engine calls it once its start succeeded: a refused start writes nothing.
   */
  claim?(engineId: string): void;
  /** Closes the store; the engine calls it last on shutdown. */
  close(): void;
}
