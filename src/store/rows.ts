/**
 * Reading stored rows back, for every SQL store (SQLite, PostgreSQL): the JSON columns are parsed and checked, and
 * a row that cannot be read is a `STORE_CORRUPT` error naming the database, table, row and column. Nothing is
 * changed: the engine refuses to start rather than guess what the row meant.
 */
import { ErrorCode, StoreError } from '../errors.js';
import type { TaskResult, TaskSpec, TaskStatus } from '../model/task.js';
import { TASK_STATUSES } from '../model/task.js';
import { fromJson } from './json.js';
import type { EventQuery, JournalEntry, RecordKind, StoredRecord, StoredTask } from './store.js';
import { RECORD_KINDS } from './store.js';

/** A task row as read: the columns recovery needs. */
export interface TaskReadRow {
  id: string;
  spec: string;
  status: string;
  result: string;
  retry_at: number | null;
  updated_at: number;
}

/** A record row as read. */
export interface RecordReadRow {
  id: string;
  parent: string | null;
  status: string | null;
  data: string;
  created_at: number;
  updated_at: number;
}

/** The task columns every store selects, in {@link TaskReadRow}'s order. */
export const TASK_COLUMNS = 'id, spec, status, result, retry_at, updated_at';

/** The record columns every store selects. */
export const RECORD_COLUMNS = 'id, parent, status, data, created_at, updated_at';

/** A row that cannot be read back: names where it is and what to do. */
export function corruptRow(
  location: string,
  table: string,
  id: string,
  column: string,
  why: string,
  cause?: unknown,
): StoreError {
  return new StoreError(
    `the database ${location} has a corrupt row: table ${table}, row id "${id}", column ${column}: ${why}. Nothing was changed; restore the database from a backup, or delete that row (DELETE FROM ${table} WHERE id = '${id.replace(/'/g, "''")}') and start again`,
    ErrorCode.STORE_CORRUPT,
    cause === undefined ? undefined : { cause },
  );
}

function parseColumn<T>(text: string, location: string, table: string, id: string, column: string): T {
  try {
    return fromJson<T>(text);
  } catch (err) {
    throw corruptRow(location, table, id, column, `not valid JSON (${(err as Error).message})`, err);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is missing from a stored task spec for the scheduler to run it (a spec of `{}` would hang the start). */
function specProblem(spec: unknown, id: string): string | null {
  if (!isObject(spec)) return 'not a task spec object';
  if (spec['id'] !== id) return `its id (${JSON.stringify(spec['id'])}) is not the row's id`;
  for (const k of ['name', 'module', 'action', 'priority'] as const)
    if (typeof spec[k] !== 'string') return `its ${k} is missing or not a string`;
  if (!isObject(spec['parameters'])) return 'its parameters are missing or not an object';
  if (!Array.isArray(spec['dependencies']) || !spec['dependencies'].every((d) => typeof d === 'string'))
    return 'its dependencies are missing or not a list of ids';
  if (!isObject(spec['resources'])) return 'its resources are missing or not an object';
  if (!isObject(spec['retry'])) return 'its retry policy is missing';
  if (typeof spec['maxRetries'] !== 'number') return 'its maxRetries is missing';
  if (!isObject(spec['metadata'])) return 'its metadata is missing or not an object';
  return null;
}

/** Every task status this release knows; a row with another one is corrupt (it would never be resumed nor listed). */
export { TASK_STATUSES };

/** A SQL condition on the `status` column: one of these (the model's own constants, so quoting them is safe). */
export function statusIn(statuses: readonly string[]): string {
  return `status IN (${statuses.map((s) => `'${s}'`).join(', ')})`;
}

/** The error for a task row whose status this release does not know. */
export function unknownStatus(location: string, id: string, status: string, table = 'tasks'): StoreError {
  return corruptRow(
    location,
    table,
    id,
    'status',
    `${JSON.stringify(status)} is not a task status (one of ${TASK_STATUSES.join(', ')})`,
  );
}

/** A task row as a {@link StoredTask}; `table` names it in errors. */
export function taskOf(row: TaskReadRow, location: string, table = 'tasks'): StoredTask {
  if (!(TASK_STATUSES as readonly string[]).includes(row.status))
    throw unknownStatus(location, row.id, row.status, table);
  const spec = parseColumn<TaskSpec>(row.spec, location, table, row.id, 'spec');
  const problem = specProblem(spec, row.id);
  if (problem) throw corruptRow(location, table, row.id, 'spec', problem);
  const result = parseColumn<TaskResult>(row.result, location, table, row.id, 'result');
  if (!isObject(result) || typeof result.attempts !== 'number')
    throw corruptRow(location, table, row.id, 'result', 'not a task result object');
  return {
    spec,
    status: row.status as TaskStatus,
    result,
    retryAt: row.retry_at,
    updatedAt: row.updated_at,
  };
}

/** A record row as a {@link StoredRecord}; `table` names it in errors. */
export function recordOf<T>(row: RecordReadRow, table: string, location: string): StoredRecord<T> {
  return {
    id: row.id,
    parent: row.parent,
    status: row.status,
    data: parseColumn<T>(row.data, location, table, row.id, 'data'),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The error for a record kind no store has a table for. */
export function unknownRecordKind(kind: RecordKind): StoreError {
  return new StoreError(
    `unknown record kind "${String(kind)}"; known: ${RECORD_KINDS.join(', ')}`,
    ErrorCode.STORE_UNAVAILABLE,
  );
}

/** A row of the journal: the events `seq..last_seq`, one chunk, as a JSON array of {@link StoredEvent}. */
export interface EventChunkRow {
  seq: number;
  last_seq: number;
  data: string;
}

/** An event as the journal stores it, inside a chunk. */
type StoredEvent = [type: string, timestamp: number, data: unknown];

/**
 * The journal entries `query` asks for, read from `chunks(after)`: the chunks, in order, from the one holding the
 * entry after `after` on (each store reads its own table; reading stops at the limit).
 */
export function readJournal(query: EventQuery, chunks: (after: number) => Iterable<EventChunkRow>): JournalEntry[] {
  const after = query.afterSeq ?? 0;
  const limit = query.limit ?? 1000;
  const types = query.types ? new Set<string>(query.types) : null;
  const out: JournalEntry[] = [];
  if (limit <= 0 || types?.size === 0) return out;
  for (const row of chunks(after)) {
    if (row.last_seq <= after) continue;
    const chunk = fromJson<StoredEvent[]>(row.data);
    for (let i = 0; i < chunk.length; i++) {
      const seq = row.seq + i;
      const e = chunk[i];
      if (!e || seq <= after || (types && !types.has(e[0]))) continue;
      out.push({ seq, type: e[0] as JournalEntry['type'], timestamp: e[1], data: e[2] });
      if (out.length >= limit) return out;
    }
  }
  return out;
}
