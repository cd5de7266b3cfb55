/**
 * The SQLite schema, as numbered migrations. A database records the last one applied in `PRAGMA user_version`;
 * opening runs the missing ones, in order, in one transaction. Never edit a migration that has shipped: add the
 * next one. A database whose version is higher than {@link SCHEMA_VERSION} was written by newer code and is refused.
 *
 * Layout: one table per record type. Values that only the engine reads (task specs, results, record data, event
 * payloads) are JSON text; the columns beside them are the ones queries filter on.
 */
import type { RecordKind } from './store.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

function recordTable(name: string): string {
  return `
    CREATE TABLE ${name} (
      id TEXT PRIMARY KEY,
      parent TEXT,
      status TEXT,
      data TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX ${name}_parent ON ${name} (parent) WHERE parent IS NOT NULL;
    CREATE INDEX ${name}_status ON ${name} (status) WHERE status IS NOT NULL;`;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'tasks, the event journal, meta',
    sql: `
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        module TEXT NOT NULL,
        action TEXT NOT NULL,
        priority TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        spec TEXT NOT NULL,
        result TEXT NOT NULL,
        retry_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX tasks_status ON tasks (status);
      -- The journal, one row per commit: the events seq .. last_seq, as a JSON array of [type, timestamp, data].
      -- (A row per event costs a statement per event on the hot path; a row per commit costs one.)
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        last_seq INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        data TEXT NOT NULL
      );`,
  },
  {
    version: 2,
    description: 'record tables for workflow definitions and runs, sessions, projects, resources and allocations',
    sql: ['workflow_definitions', 'workflow_runs', 'sessions', 'projects', 'resources', 'allocations']
      .map(recordTable)
      .join('\n'),
  },
  {
    version: 3,
    description: 'record tables for named rate limits and idempotency keys (flow control)',
    sql: (['rate_limits', 'idempotency_keys'] satisfies RecordKind[]).map(recordTable).join('\n'),
  },
  {
    version: 4,
    description:
      'signals sent to workflow runs before a step waited for them (kept until a step takes them or the run ends)',
    sql: recordTable('workflow_signals' satisfies RecordKind),
  },
  {
    version: 5,
    description: 'record tables for schedules (definition and slot state) and triggers',
    sql: ['schedules', 'triggers'].map(recordTable).join('\n'),
  },
  {
    version: 6,
    description: 'idempotency keys of workflow runs (a run started with a key already used answers the first run)',
    sql: recordTable('run_idempotency_keys' satisfies RecordKind),
  },
];

/** The schema version that added each record kind after the first record tables (a read-only view of an older file lacks them). */
export const RECORD_KIND_SINCE: Partial<Record<RecordKind, number>> = {
  rate_limits: 3,
  idempotency_keys: 3,
  workflow_signals: 4,
  schedules: 5,
  triggers: 5,
  run_idempotency_keys: 6,
};

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
