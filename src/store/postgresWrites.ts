/**
 * The write path of the PostgreSQL store: a commit (one or more encoded batches, see sqliteWrites.ts) as ONE
 * statement, so it costs one round trip whatever it holds. Each table gets a data-modifying CTE fed by one JSON
 * parameter of rows (`json_to_recordset`) or small arrays (`unnest`), and the statement's result is `codomyrmex_fence(epoch)`: the whole statement is one
 * transaction, so a stale epoch writes nothing. Runs on the store's thread (postgres.worker.ts).
 */
import type { EncodedBatch, RetentionLimits, TaskRow } from './sqliteWrites.js';
import { pgTable } from './postgresSchema.js';
import { TERMINAL_TASK_STATUSES } from '../model/task.js';
import { TERMINAL_RUN_STATUSES } from '../model/workflow.js';
import { statusIn } from './rows.js';

export interface PgStatement {
  text: string;
  values: unknown[];
}

/** Builds SQL with numbered parameters. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown, type: string): string {
    this.values.push(value);
    return `$${this.values.length}::${type}`;
  }
}

const TASKS = pgTable('tasks');
const EVENTS = pgTable('events');
const META = pgTable('meta');

/**
 * The statement writing `parts` (the batches of one commit, in order: a later write of a task or record wins)
 * under `epoch`. Returns null when there is nothing to write.
 */
export function commitStatement(
  parts: readonly EncodedBatch[],
  epoch: number,
  knownKinds: ReadonlySet<string>,
): PgStatement | null {
  const tasks = new Map<string, TaskRow>();
  const chunks: NonNullable<EncodedBatch['events']>[] = [];
  const records = new Map<string, Map<string, [string | null, string | null, string | null]>>();
  const meta = new Map<string, string>();
  for (const b of parts) {
    for (const t of b.tasks) if (t) tasks.set(t[0], t);
    if (b.events) chunks.push(b.events);
    for (const [kind, id, parent, status, data] of b.records) {
      if (!knownKinds.has(kind)) throw new Error(`unknown record kind "${kind}"`);
      let byId = records.get(kind);
      if (!byId) records.set(kind, (byId = new Map<string, [string | null, string | null, string | null]>()));
      byId.set(id, [parent, status, data]);
    }
    for (const [k, v] of b.meta) meta.set(k, v);
  }
  if (tasks.size === 0 && chunks.length === 0 && records.size === 0 && meta.size === 0) return null;
  const p = new Params();
  let nowParam: string | null = null;
  const now = (): string => (nowParam ??= p.add(Date.now(), 'bigint'));
  const ctes: string[] = [];
  if (tasks.size > 0) {
    // One JSON document of rows (json_to_recordset): about three times cheaper, both sides, than array parameters.
    const rows: string[] = [];
    for (const t of tasks.values())
      rows.push(
        JSON.stringify({
          i: t[0],
          n: t[1],
          m: t[2],
          a: t[3],
          p: t[4],
          s: t[5],
          at: t[6],
          sp: t[7],
          r: t[8],
          ra: t[9],
          u: t[10],
        }),
      );
    ctes.push(`t AS (
      INSERT INTO ${TASKS} (id, name, module, action, priority, status, attempts, spec, result, retry_at, updated_at, created_at)
      SELECT i, n, m, a, p, s, at, sp, r, ra, u, ${now()}
      FROM json_to_recordset(${p.add(`[${rows.join(',')}]`, 'json')}) AS x(i text, n text, m text, a text, p text, s text, at integer, sp text, r text, ra bigint, u bigint)
      ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts, result = excluded.result,
        retry_at = excluded.retry_at, updated_at = excluded.updated_at)`);
  }
  if (chunks.length > 0) {
    const arrays = [chunks.map((c) => c.first), chunks.map((c) => c.last), chunks.map((c) => c.ts)].map((a) =>
      p.add(a, 'bigint[]'),
    );
    ctes.push(
      `e AS (INSERT INTO ${EVENTS} (seq, last_seq, ts, data) SELECT * FROM unnest(${arrays.join(', ')}, ${p.add(
        chunks.map((c) => c.json),
        'text[]',
      )}))`,
    );
  }
  let k = 0;
  for (const [kind, byId] of records) {
    const table = pgTable(kind);
    const up: string[] = [];
    const gone: string[] = [];
    for (const [id, [parent, status, data]] of byId) {
      if (data === null) gone.push(id);
      else up.push(JSON.stringify({ i: id, p: parent, s: status, d: data }));
    }
    if (up.length > 0) {
      ctes.push(`r${k} AS (
        INSERT INTO ${table} (id, parent, status, data, created_at, updated_at)
        SELECT i, p, s, d, ${now()}, ${now()} FROM json_to_recordset(${p.add(`[${up.join(',')}]`, 'json')}) AS x(i text, p text, s text, d text)
        ON CONFLICT (id) DO UPDATE SET parent = excluded.parent, status = excluded.status, data = excluded.data, updated_at = excluded.updated_at)`);
    }
    if (gone.length > 0) ctes.push(`d${k} AS (DELETE FROM ${table} WHERE id = ANY(${p.add(gone, 'text[]')}))`);
    k++;
  }
  if (meta.size > 0) {
    ctes.push(`m AS (
      INSERT INTO ${META} (key, value) SELECT * FROM unnest(${p.add([...meta.keys()], 'text[]')}, ${p.add([...meta.values()], 'text[]')})
      ON CONFLICT (key) DO UPDATE SET value = excluded.value)`);
  }
  const fence = `codomyrmex_fence(${p.add(epoch, 'bigint')})`;
  return { text: `WITH ${ctes.join(',\n')}\nSELECT ${fence} AS fenced`, values: p.values };
}

/** How much of the journal to keep; 0 maxEvents keeps none (nothing is journaled then). */
export interface PgJournalLimits {
  maxEvents: number;
  maxAgeMs: number;
}

const DONE_TASKS = statusIn(TERMINAL_TASK_STATUSES);
const DONE_RUNS = statusIn(TERMINAL_RUN_STATUSES);

/**
 * The statement that deletes what retention and the journal's bounds no longer keep (finished tasks and runs past
 * the count or age, the oldest journal chunks), fenced like a commit. Null when nothing is due. Deletes by `ord`
 * range for counts, as SQLite does by rowid. Unfinished tasks and runs are never deleted.
 */
export function pruneStatement(opts: {
  epoch: number;
  now: number;
  retention: RetentionLimits | null;
  byAge: boolean;
  journal: PgJournalLimits;
  lastSeq: number;
  journalFrom: number | null;
}): PgStatement | null {
  const p = new Params();
  const ctes: string[] = [];
  const r = opts.retention;
  if (r) {
    if (r.tasks > 0)
      ctes.push(
        `rt AS (DELETE FROM ${TASKS} WHERE ord <= (SELECT max(ord) FROM ${TASKS}) - ${p.add(r.tasks, 'bigint')} AND ${DONE_TASKS})`,
      );
    if (r.runs > 0) {
      const runs = pgTable('workflow_runs');
      ctes.push(
        `rr AS (DELETE FROM ${runs} WHERE ord <= (SELECT max(ord) FROM ${runs}) - ${p.add(r.runs, 'bigint')} AND ${DONE_RUNS})`,
      );
    }
    if (opts.byAge && r.taskAgeMs > 0)
      ctes.push(
        `at AS (DELETE FROM ${TASKS} WHERE updated_at < ${p.add(opts.now - r.taskAgeMs, 'bigint')} AND ${DONE_TASKS})`,
      );
    if (opts.byAge && r.runAgeMs > 0)
      ctes.push(
        `ar AS (DELETE FROM ${pgTable('workflow_runs')} WHERE updated_at < ${p.add(opts.now - r.runAgeMs, 'bigint')} AND ${DONE_RUNS})`,
      );
  }
  if (opts.journalFrom !== null) {
    const keepFrom = p.add(opts.journalFrom, 'bigint');
    ctes.push(`jc AS (DELETE FROM ${EVENTS} WHERE seq < ${keepFrom} AND last_seq < ${keepFrom})`);
  }
  if (opts.byAge && opts.journal.maxAgeMs > 0) {
    ctes.push(
      `ja AS (DELETE FROM ${EVENTS} WHERE last_seq < ${p.add(opts.lastSeq, 'bigint')} AND ts < ${p.add(opts.now - opts.journal.maxAgeMs, 'bigint')})`,
    );
  }
  if (ctes.length === 0) return null;
  // The cursor reached is kept, so sequence numbers never repeat even when pruning empties the journal.
  ctes.push(
    `jm AS (INSERT INTO ${META} (key, value) VALUES ('journal.last_seq', ${p.add(String(opts.lastSeq), 'text')}) ON CONFLICT (key) DO UPDATE SET value = excluded.value)`,
  );
  return {
    text: `WITH ${ctes.join(',\n')}\nSELECT codomyrmex_fence(${p.add(opts.epoch, 'bigint')}) AS fenced`,
    values: p.values,
  };
}
