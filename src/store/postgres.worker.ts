/**
 * The thread of a PostgreSQL store: owns its connections (node-postgres pools: reads, the writer, the lease) and
 * answers the store's requests (see postgresProtocol.ts). Opening connects, migrates under an advisory lock and
 * takes (or adopts) the lease; the lease is renewed here every third of its time to live, so a busy engine thread
 * does not lose it. Commits are one statement each (postgresWrites.ts), written one at a time, in order.
 */
import type { MessagePort } from 'node:worker_threads';
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import type { EncodedBatch } from './sqliteWrites.js';
import { ReceivedParts } from './parts.js';
import { commitStatement, pruneStatement } from './postgresWrites.js';
import { FENCED_SQLSTATE, PG_MIGRATIONS, PG_SCHEMA_VERSION, pgTable } from './postgresSchema.js';
import type {
  PgErrorKind,
  PgLeaseLost,
  PgOpenRequest,
  PgOpened,
  PgReply,
  PgRequest,
  PgWireError,
} from './postgresProtocol.js';

const { syncPort, flag: flagBuffer } = workerData as { syncPort: MessagePort; flag: SharedArrayBuffer };
const flag = new Int32Array(flagBuffer);

/** int8 (counts, epochs, ms timestamps) as numbers: every value we store fits a double. */
const int8 = (v: string): number => Number(v);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === 20 ? int8 : (pg.types.getTypeParser(oid, format ?? 'text') as unknown)) as typeof pg.types.getTypeParser,
};

class Failure extends Error {
  constructor(
    message: string,
    readonly kind: PgErrorKind,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

let config: PgOpenRequest | null = null;
let pools: { read: pg.Pool; write: pg.Pool; lease: pg.Pool } | null = null;
let epoch = 0;
let lastSeq = 0;
let journalFirst = 0;
let renewTimer: ReturnType<typeof setInterval> | null = null;
let leaseLost = false;
let lastPrune = 0;
let lastAgePrune = 0;
const received = new ReceivedParts();
/** Requests run one at a time, in the order they came (a commit never overtakes another). */
let queue: Promise<unknown> = Promise.resolve();

const PRUNE_EVERY_MS = 1000;
const AGE_PRUNE_EVERY_MS = 60_000;

function makePool(o: PgOpenRequest, max: number, options?: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: o.url,
    max,
    connectionTimeoutMillis: o.connectTimeoutMs,
    statement_timeout: o.statementTimeoutMs,
    application_name: 'codomyrmex',
    types,
    ...(options ? { options } : {}),
  });
  // A connection that breaks while idle (the server restarted) is dropped by the pool; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

function kindOf(err: unknown, fallback: PgErrorKind): PgErrorKind {
  const code = (err as { code?: unknown }).code;
  if (code === FENCED_SQLSTATE) return 'fenced';
  if (code === '28P01' || code === '28000') return 'auth';
  if (
    typeof code === 'string' &&
    (code.startsWith('E') || code === '57P01' || code === '57P03' || code === '3D000' || code.startsWith('08'))
  )
    return 'unavailable';
  if (err instanceof Error && /timeout|terminated|Connection terminated/i.test(err.message) && fallback !== 'fenced')
    return fallback === 'write' ? 'write' : 'unavailable';
  return fallback;
}

function wire(err: unknown, fallback: PgErrorKind): PgWireError {
  if (err instanceof Failure) return { message: err.message, code: err.code, kind: err.kind };
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message || (typeof code === 'string' ? code : 'error') : String(err);
  return { message, code: typeof code === 'string' ? code : null, kind: kindOf(err, fallback) };
}

async function migrate(o: PgOpenRequest, client: pg.PoolClient): Promise<number> {
  if (o.readonly) {
    const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('codomyrmex_schema')::text AS t`);
    if (!exists.rows[0]?.t)
      throw new Failure(
        `the database ${o.shownUrl} has no codomyrmex schema yet (a daemon or \`codomyrmex store migrate\` creates it)`,
        'behind',
      );
    const v = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM codomyrmex_schema');
    return v.rows[0]?.v ?? 0;
  }
  await client.query('BEGIN');
  try {
    // Two engines starting at once: the second waits here, then finds the schema up to date.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('codomyrmex_schema'))`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS codomyrmex_schema (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const found =
      (await client.query<{ v: number | null }>('SELECT max(version) AS v FROM codomyrmex_schema')).rows[0]?.v ?? 0;
    if (found > PG_SCHEMA_VERSION) {
      throw new Failure(
        `the database ${o.shownUrl} has schema version ${found}, but this codomyrmex knows versions up to ${PG_SCHEMA_VERSION}: it was written by a newer release. Upgrade codomyrmex, or point --db at another database; nothing was changed`,
        'version',
      );
    }
    if (found < PG_SCHEMA_VERSION && !o.migrate) {
      throw new Failure(
        `the database ${o.shownUrl} has schema version ${found} and this codomyrmex needs ${PG_SCHEMA_VERSION}; migrations are off for this engine: run \`codomyrmex store migrate --db ${o.shownUrl}\` first`,
        'behind',
      );
    }
    for (const m of PG_MIGRATIONS) {
      if (m.version <= found) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO codomyrmex_schema (version, description) VALUES ($1, $2)', [
        m.version,
        m.description,
      ]);
    }
    await client.query('COMMIT');
    return found;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (err instanceof Failure) throw err;
    throw new Failure(
      `migrating the database ${o.shownUrl} to schema version ${PG_SCHEMA_VERSION} failed (nothing was changed): ${wire(err, 'unavailable').message}`,
      kindOf(err, 'unavailable'),
      wire(err, 'unavailable').code,
    );
  }
}

const ttlSql = `now() + make_interval(secs => $3::double precision / 1000)`;

async function takeLease(o: PgOpenRequest, pool: pg.Pool): Promise<number> {
  const info = JSON.stringify(o.holderInfo);
  if (o.adoptEpoch !== null) {
    const r = await pool.query<{ epoch: number }>(
      `UPDATE codomyrmex_lease SET expires_at = ${ttlSql} WHERE name = 'engine' AND holder = $1 AND epoch = $2 RETURNING epoch`,
      [o.holder, o.adoptEpoch, o.leaseTtlMs],
    );
    if (r.rowCount === 1) return o.adoptEpoch;
    throw new Failure(
      `the lease of ${o.shownUrl} taken at epoch ${o.adoptEpoch} was lost before this engine opened the store`,
      'locked',
    );
  }
  const r = await pool.query<{ epoch: number }>(
    `UPDATE codomyrmex_lease SET holder = $1, holder_info = $2, epoch = epoch + 1, expires_at = ${ttlSql}
     WHERE name = 'engine' AND (holder IS NULL OR expires_at < now() OR holder = $1) RETURNING epoch`,
    [o.holder, info, o.leaseTtlMs],
  );
  const taken = r.rows[0];
  if (taken) return taken.epoch;
  const held = (
    await pool.query<{ holder: string; holder_info: string | null; left_ms: number }>(
      `SELECT holder, holder_info, (extract(epoch FROM expires_at - now()) * 1000)::bigint AS left_ms FROM codomyrmex_lease WHERE name = 'engine'`,
    )
  ).rows[0];
  throw new Failure(
    `the database ${o.shownUrl} is in use by another engine (${held?.holder_info ?? held?.holder ?? 'unknown'}), whose lease runs ${Math.max(0, held?.left_ms ?? 0)} ms more unless renewed. Stop that engine, run this one as a standby (\`codomyrmex daemon --store postgres\` waits for the lease), or point --db at another database`,
    'locked',
  );
}

function startRenewing(o: PgOpenRequest, pool: pg.Pool): void {
  renewTimer = setInterval(
    () => {
      if (leaseLost) return;
      pool
        .query(
          `UPDATE codomyrmex_lease SET expires_at = ${ttlSql} WHERE name = 'engine' AND holder = $1 AND epoch = $2`,
          [o.holder, epoch, o.leaseTtlMs],
        )
        .then((r) => {
          if (r.rowCount === 1 || leaseLost) return;
          leaseLost = true;
          parentPort?.postMessage({
            type: 'lease_lost',
            message: `the lease of ${o.shownUrl} (epoch ${epoch}) was taken over by another engine`,
          } satisfies PgLeaseLost);
        })
        // The database is unreachable: try again next time; the fence keeps writes safe meanwhile.
        .catch(() => undefined);
    },
    Math.max(50, Math.floor(o.leaseTtlMs / 3)),
  );
}

async function open(o: PgOpenRequest): Promise<PgOpened> {
  config = o;
  const read = makePool(o, 2);
  const write = makePool(o, 1, o.durability === 'relaxed' ? '-c synchronous_commit=off' : '-c synchronous_commit=on');
  const lease = makePool(o, 1);
  pools = { read, write, lease };
  const client = await write.connect().catch((err: unknown) => {
    throw new Failure(wire(err, 'unavailable').message, kindOf(err, 'unavailable'), wire(err, 'unavailable').code);
  });
  let version: number;
  try {
    version = await migrate(o, client);
  } finally {
    client.release();
  }
  if (!o.readonly && o.lease) {
    epoch = await takeLease(o, lease);
    startRenewing(o, lease);
    const r = await read.query<{ last: number | null; first: number | null; kept: string | null }>(
      `SELECT (SELECT max(last_seq) FROM ${pgTable('events')}) AS last, (SELECT min(seq) FROM ${pgTable('events')}) AS first, (SELECT value FROM ${pgTable('meta')} WHERE key = 'journal.last_seq') AS kept`,
    );
    const row = r.rows[0];
    lastSeq = Math.max(row?.last ?? 0, Number(row?.kept ?? 0));
    journalFirst = row?.first ?? 0;
  }
  return { version, epoch, lastSeq };
}

async function write(batches: EncodedBatch[]): Promise<void> {
  const o = config;
  if (!o || !pools) throw new Failure('the store thread is not open', 'write');
  if (leaseLost)
    throw new Failure(
      `this engine's lease of ${o.shownUrl} (epoch ${epoch}) was taken over; it may no longer write`,
      'fenced',
      FENCED_SQLSTATE,
    );
  const st = commitStatement(batches, epoch, new Set(o.recordKinds));
  if (!st) return;
  await pools.write.query(st.text, st.values);
  for (const b of batches) {
    if (!b.events) continue;
    lastSeq = Math.max(lastSeq, b.events.last);
    if (journalFirst === 0) journalFirst = b.events.first;
  }
  await prune(o, pools.write).catch(() => undefined);
}

/** Retention and the journal's bounds, at most once a second (ages once a minute); never fails a commit. */
async function prune(o: PgOpenRequest, pool: pg.Pool): Promise<void> {
  const now = Date.now();
  if (now - lastPrune < PRUNE_EVERY_MS) return;
  lastPrune = now;
  const byAge = now - lastAgePrune >= AGE_PRUNE_EVERY_MS;
  if (byAge) lastAgePrune = now;
  const { maxEvents } = o.journal;
  const slack = Math.max(1000, Math.floor(maxEvents / 10));
  const over = maxEvents > 0 && journalFirst > 0 && lastSeq - journalFirst + 1 > maxEvents + slack;
  const journalFrom = over ? lastSeq - maxEvents + 1 : null;
  const st = pruneStatement({ epoch, now, retention: o.retention, byAge, journal: o.journal, lastSeq, journalFrom });
  if (!st) return;
  await pool.query(st.text, st.values);
  if (journalFrom !== null) journalFirst = journalFrom;
}

async function close(release: boolean): Promise<void> {
  if (renewTimer) clearInterval(renewTimer);
  renewTimer = null;
  const p = pools;
  pools = null;
  if (!p) return;
  if (release && config && !config.readonly && !leaseLost) {
    // Let a standby (or the next engine) take over at once instead of after the lease's time to live.
    await p.lease
      .query(
        `UPDATE codomyrmex_lease SET holder = NULL, expires_at = now() WHERE name = 'engine' AND holder = $1 AND epoch = $2`,
        [config.holder, epoch],
      )
      .catch(() => undefined);
  }
  await Promise.allSettled([p.read.end(), p.write.end(), p.lease.end()]);
}

async function handle(req: Exclude<PgRequest, { type: 'part' } | { type: 'discard' }>): Promise<unknown> {
  switch (req.type) {
    case 'open':
      return open(req.open);
    case 'query': {
      if (!pools) throw new Failure('the store is closed', 'read');
      return (await pools.read.query(req.sql, req.params)).rows;
    }
    case 'write': {
      if (req.parts) {
        const missing = (have: number, count: number): Error =>
          new Failure(
            `the store thread has ${have} of the ${count} parts of this commit; nothing was written`,
            'write',
          );
        await write(received.finish(req.parts, req.batch, missing));
        return null;
      }
      await write([req.batch]);
      return null;
    }
    case 'close':
      await close(req.release);
      return null;
  }
}

function serve(req: PgRequest, reply: (r: PgReply) => void): void {
  if (received.take(req)) return;
  const fallback: PgErrorKind = req.type === 'write' ? 'write' : req.type === 'open' ? 'unavailable' : 'read';
  // Reads do not wait for commits in flight (they use other connections): only writes and closing are queued. The
  // queue goes on after a failed request: a write that failed while the database was down must not fail every
  // write after it with the same error once the database is back.
  let run: Promise<unknown>;
  if (req.type === 'query') run = handle(req);
  else {
    run = queue.then(() => handle(req));
    queue = run.catch(() => undefined);
  }
  run.then(
    (value) => reply({ type: 'done', id: req.id, value }),
    (err: unknown) => reply({ type: 'failed', id: req.id, error: wire(err, fallback) }),
  );
}

syncPort.on('message', (req: PgRequest) =>
  serve(req, (r) => {
    syncPort.postMessage(r);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  }),
);
parentPort?.on('message', (req: PgRequest) => serve(req, (r) => parentPort?.postMessage(r)));
