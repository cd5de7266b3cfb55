/**
 * PostgresStore against a real PostgreSQL (a throwaway cluster for this file): the shared store conformance
 * suite, then what only a shared database has: migrations recorded in codomyrmex_schema, a newer schema refused,
 * the lease (a second writer refused), fencing by epoch, and clear errors for a wrong password or no server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, StoreError } from '../../src/index.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { PART_ROWS } from '../../src/store/parts.js';
import { PG_SCHEMA_VERSION } from '../../src/store/postgresSchema.js';
import { emptyBatch } from '../../src/store/store.js';
import { query, startPostgres } from '../support/postgres.js';
import type { TestPostgres } from '../support/postgres.js';
import { storeConformance } from './conformance.js';
import { storedTask } from './helpers.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.destroy();
});

const urls = new Map<string, string>();
storeConformance(
  'PostgresStore',
  async () => {
    const url = await server.createDatabase();
    const s = PostgresStore.open({ url });
    urls.set(s.location, url);
    return s;
  },
  { reopen: (s) => PostgresStore.open({ url: urlOf(s) }) },
);

function urlOf(s: { location: string }): string {
  const url = urls.get(s.location);
  if (!url) throw new Error(`no URL for ${s.location}`);
  return url;
}

function caught(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StoreError) return err;
    throw err;
  }
  throw new Error('expected a StoreError');
}

describe('PostgresStore', () => {
  it('records its migrations in codomyrmex_schema and refuses a database from a newer release', async () => {
    const url = await server.createDatabase();
    const s = PostgresStore.open({ url });
    expect(s.openedAtVersion).toBe(0);
    await s.drain();
    s.close();
    expect(
      (await query<{ version: number }>(url, 'SELECT version FROM codomyrmex_schema ORDER BY version')).map(
        (r) => r.version,
      ),
    ).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
    const again = PostgresStore.open({ url });
    expect(again.openedAtVersion).toBe(PG_SCHEMA_VERSION);
    await again.drain();
    again.close();

    await query(url, `INSERT INTO codomyrmex_schema (version, description) VALUES ($1, 'from the future')`, [
      PG_SCHEMA_VERSION + 1,
    ]);
    const err = caught(() => PostgresStore.open({ url }));
    expect(err.code).toBe(ErrorCode.STORE_VERSION);
    expect(err.message).toContain(`schema version ${PG_SCHEMA_VERSION + 1}`);
    expect(err.message).toMatch(/newer release/);
  });

  it('refuses a database that is behind when migrations are off, naming the command that migrates', async () => {
    const url = await server.createDatabase();
    const err = caught(() => PostgresStore.open({ url, migrate: false }));
    expect(err.code).toBe(ErrorCode.STORE_VERSION);
    expect(err.message).toContain('codomyrmex store migrate');
    expect(await query(url, `SELECT to_regclass('codomyrmex_tasks') AS t`)).toEqual([{ t: null }]);
  });

  it('lets one engine write at a time: a second is refused while the first holds the lease, and let in once it let go', async () => {
    const url = await server.createDatabase();
    const a = PostgresStore.open({ url, engineId: 'engine-a' });
    const err = caught(() => PostgresStore.open({ url, engineId: 'engine-b' }));
    expect(err.code).toBe(ErrorCode.STORE_LOCKED);
    expect(err.message).toContain('engine-a');
    // A reader needs no lease.
    const reader = PostgresStore.open({ url, readonly: true });
    expect(reader.listTasks()).toEqual([]);
    reader.close();
    await a.drain();
    a.close();
    const b = PostgresStore.open({ url, engineId: 'engine-b' });
    expect(b.epoch).toBe(a.epoch + 1);
    await b.drain();
    b.close();
  });

  it('fences an engine whose lease was taken over: its writes are refused and change no row', async () => {
    const url = await server.createDatabase();
    const old = PostgresStore.open({ url, engineId: 'old', leaseTtlMs: 60_000 });
    old.putTasks([storedTask('before', 'ready')]);
    const fenced = new Promise<StoreError>((resolve) => old.onFenced(resolve));
    // The old engine paused past its lease: another takes over (a newer epoch).
    await query(url, `UPDATE codomyrmex_lease SET expires_at = now() - interval '1 second'`);
    const next = PostgresStore.open({ url, engineId: 'new' });
    expect(next.epoch).toBe(old.epoch + 1);

    const err = caught(() => old.putTasks([storedTask('after', 'ready'), storedTask('before', 'completed')]));
    expect(err.code).toBe(ErrorCode.STORE_FENCED);
    expect(await fenced).toBe(old.fenced);
    await expect(old.commitAsync!({ ...emptyBatch(), meta: { x: 'y' } })).rejects.toMatchObject({
      code: ErrorCode.STORE_FENCED,
    });
    expect(next.getTask('after')).toBeUndefined();
    expect(next.getTaskStatus('before')).toBe('ready');
    expect(next.getMeta('x')).toBeUndefined();
    old.close();
    await next.drain();
    next.close();
  });

  it('writes a batch larger than a part (sent to its thread in parts) in one commit', async () => {
    const url = await server.createDatabase();
    const s = PostgresStore.open({ url });
    const tasks = Array.from({ length: PART_ROWS * 2 + 1 }, (_, i) => storedTask(`big-${i}`, 'ready'));
    await s.commitAsync!({ ...emptyBatch(), tasks, meta: { last: 'part' } });
    const [row] = await query<{ n: string }>(url, `SELECT count(*) AS n FROM codomyrmex_tasks`);
    expect(Number(row?.n)).toBe(tasks.length);
    expect(s.getMeta('last')).toBe('part');
    s.close();
  });

  it('says who could not log in, without the password', async () => {
    const url = (await server.createDatabase()).replace(encodeURIComponent(server.password), 'wrong-secret');
    const err = caught(() => PostgresStore.open({ url }));
    expect(err.code).toBe(ErrorCode.STORE_UNAVAILABLE);
    expect(err.message).toMatch(/cannot log in to the database postgres:\/\/postgres@127\.0\.0\.1:\d+\/db_/);
    expect(err.message).toMatch(/password/);
    expect(err.message).not.toContain('wrong-secret');
  });

  it('says which database cannot be reached', async () => {
    const err = caught(() =>
      PostgresStore.open({ url: 'postgres://someone:hidden@127.0.0.1:1/nothing', connectTimeoutMs: 2000 }),
    );
    expect(err.code).toBe(ErrorCode.STORE_UNAVAILABLE);
    expect(err.message).toContain('cannot reach the database postgres://someone@127.0.0.1:1/nothing');
    expect(err.message).not.toContain('hidden');
  });
});
