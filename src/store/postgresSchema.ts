/**
 * The PostgreSQL schema, as numbered migrations. The database records each one applied in `codomyrmex_schema`;
 * opening runs the missing ones, in order, in one transaction, under an advisory lock (two daemons starting at
 * once migrate once). Never edit a migration that has shipped: add the next one. A database whose version is
 * higher than {@link PG_SCHEMA_VERSION} was written by newer code and is refused.
 *
 * Every table is prefixed `codomyrmex_`, so the schema can share a database with others. The layout follows the
 * SQLite store's (one table per record kind, JSON text beside the columns queries filter on); `ord` (an identity
 * column) keeps the first-write order SQLite gets from its rowid. A store made a new record kind? Add a migration
 * creating its table with {@link recordTable}: the store conformance suite fails until you do.
 *
 * The lease row and `codomyrmex_fence()` are the fencing of active/standby daemons: every commit calls
 * `codomyrmex_fence(epoch)`, which takes a share lock on the lease row and raises `CXFEN` when the lease's epoch is
 * no longer the writer's. A takeover's `UPDATE` of the row waits for commits in flight, and every commit after it
 * sees the new epoch: an old active can never write after a new one has started restoring.
 */

export interface PgMigration {
  version: number;
  description: string;
  sql: string;
}

/** The SQLSTATE `codomyrmex_fence()` raises when the writer's epoch is stale. */
export const FENCED_SQLSTATE = 'CXFEN';

/** The prefixed table of a store table or record kind. */
export function pgTable(name: string): string {
  return `codomyrmex_${name}`;
}

/** A record kind's table (id, parent, status, JSON data) with its indexes. */
export function recordTable(kind: string): string {
  const t = pgTable(kind);
  return `
    CREATE TABLE ${t} (
      ord bigint GENERATED ALWAYS AS IDENTITY,
      id text PRIMARY KEY,
      parent text,
      status text,
      data text NOT NULL,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL
    );
    CREATE INDEX ${t}_ord ON ${t} (ord);
    CREATE INDEX ${t}_parent ON ${t} (parent) WHERE parent IS NOT NULL;
    CREATE INDEX ${t}_status ON ${t} (status) WHERE status IS NOT NULL;`;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'tasks, the event journal, meta, record tables, the lease and the daemons seen',
    sql: `
      CREATE TABLE codomyrmex_meta (
        key text PRIMARY KEY,
        value text NOT NULL
      );
      CREATE TABLE codomyrmex_tasks (
        ord bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        name text NOT NULL,
        module text NOT NULL,
        action text NOT NULL,
        priority text NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL,
        spec text NOT NULL,
        result text NOT NULL,
        retry_at bigint,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      );
      CREATE INDEX codomyrmex_tasks_ord ON codomyrmex_tasks (ord);
      CREATE INDEX codomyrmex_tasks_status ON codomyrmex_tasks (status);
      -- The journal, one row per commit: the events seq .. last_seq, as a JSON array of [type, timestamp, data].
      CREATE TABLE codomyrmex_events (
        seq bigint PRIMARY KEY,
        last_seq bigint NOT NULL,
        ts bigint NOT NULL,
        data text NOT NULL
      );
      ${['workflow_definitions', 'workflow_runs', 'sessions', 'projects', 'resources', 'allocations'].map(recordTable).join('\n')}
      -- The active engine's lease: one row. epoch grows by one at each takeover (the fencing token).
      CREATE TABLE codomyrmex_lease (
        name text PRIMARY KEY,
        holder text,
        holder_info text,
        epoch bigint NOT NULL,
        expires_at timestamptz NOT NULL
      );
      INSERT INTO codomyrmex_lease (name, holder, holder_info, epoch, expires_at) VALUES ('engine', NULL, NULL, 0, now());
      -- Daemons that share the database, active or standby, as last seen (for status).
      CREATE TABLE codomyrmex_daemons (
        id text PRIMARY KEY,
        role text NOT NULL,
        info text NOT NULL,
        seen_at timestamptz NOT NULL
      );
      CREATE FUNCTION codomyrmex_fence(writer_epoch bigint) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $fence$
      DECLARE
        current_epoch bigint;
      BEGIN
        SELECT epoch INTO current_epoch FROM codomyrmex_lease WHERE name = 'engine' FOR SHARE;
        IF current_epoch IS DISTINCT FROM writer_epoch THEN
          RAISE EXCEPTION 'the lease of this database was taken over (epoch % is newer than this engine''s %): this engine may no longer write', current_epoch, writer_epoch
            USING ERRCODE = '${FENCED_SQLSTATE}';
        END IF;
        RETURN true;
      END
      $fence$;`,
  },
  {
    version: 2,
    description: 'record tables for named rate limits and idempotency keys (flow control)',
    sql: ['rate_limits', 'idempotency_keys'].map(recordTable).join('\n'),
  },
  {
    version: 3,
    description:
      'signals sent to workflow runs before a step waited for them (kept until a step takes them or the run ends)',
    sql: recordTable('workflow_signals'),
  },
  {
    version: 4,
    description: 'record tables for schedules (definition and slot state) and triggers',
    sql: ['schedules', 'triggers'].map(recordTable).join('\n'),
  },
  {
    version: 5,
    description: 'idempotency keys of workflow runs',
    sql: recordTable('run_idempotency_keys'),
  },
];

/** The schema version this code writes. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;
