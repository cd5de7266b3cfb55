import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, RECORD_KINDS, SCHEMA_VERSION, SqliteStore, StoreError } from '../../src/index.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

function tables(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (
      db
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
        .pluck()
        .all() as string[]
    ).sort();
  } finally {
    db.close();
  }
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Schema version 1 exactly as it shipped, written out here so later edits to the code cannot change it. */
const V1 = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE tasks (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, module TEXT NOT NULL, action TEXT NOT NULL, priority TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL, spec TEXT NOT NULL, result TEXT NOT NULL, retry_at INTEGER,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
  );
  CREATE INDEX tasks_status ON tasks (status);
  CREATE TABLE events (seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, ts INTEGER NOT NULL, data TEXT NOT NULL);
  PRAGMA user_version = 1;
`;

describe('schema migrations', () => {
  it('numbers migrations 1..SCHEMA_VERSION without gaps', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('builds the whole schema in an empty database', () => {
    const path = join(dirs.make(), 'state.db');
    const s = SqliteStore.open({ path });
    expect(s.openedAtVersion).toBe(0);
    expect(s.pragma('user_version')).toBe(SCHEMA_VERSION);
    expect(s.getMeta('created_at')).toBeDefined();
    s.close();
    expect(tables(path)).toEqual(['events', 'meta', 'tasks', ...RECORD_KINDS].sort());
  });

  it('upgrades a version-1 database, keeping its tasks and journal', () => {
    const path = join(dirs.make(), 'state.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(V1);
    const spec = {
      id: 'old-task',
      name: 'old',
      module: 'core',
      action: 'noop',
      parameters: {},
      priority: 'normal',
      dependencies: [],
      resources: {},
      maxRetries: 3,
      retry: { initialDelay: 1, factor: 2, maxDelay: 60, jitter: 0.1 },
      metadata: {},
    };
    const result = {
      taskId: 'old-task',
      name: 'old',
      status: 'completed',
      success: true,
      result: 42,
      error: null,
      attempts: 1,
      startedAt: 1,
      endedAt: 2,
      durationMs: 1,
    };
    old
      .prepare(
        `INSERT INTO tasks VALUES ('old-task', 'old', 'core', 'noop', 'normal', 'completed', 1, ?, ?, NULL, 1, 2)`,
      )
      .run(JSON.stringify(spec), JSON.stringify(result));
    old.prepare(`INSERT INTO events VALUES (1, 2, 5, ?)`).run(
      JSON.stringify([
        ['engine_started', 5, { engineId: 'e', threads: 1 }],
        ['engine_stopped', 6, { engineId: 'e' }],
      ]),
    );
    old.close();

    const s = SqliteStore.open({ path });
    expect(s.openedAtVersion).toBe(1);
    expect(s.pragma('user_version')).toBe(SCHEMA_VERSION);
    expect(s.getMeta('migrated_from')).toBe('1');
    expect(s.getTask('old-task')).toMatchObject({ status: 'completed', result: { result: 42, attempts: 1 } });
    expect(s.readEvents().map((e) => [e.seq, e.type])).toEqual([
      [1, 'engine_started'],
      [2, 'engine_stopped'],
    ]);
    s.commit({
      tasks: [],
      events: [],
      records: [{ kind: 'sessions', id: 's1', status: 'open', data: { userId: 'u' } }],
      meta: {},
    });
    expect(s.getRecord('sessions', 's1')?.data).toEqual({ userId: 'u' });
    s.close();
    expect(tables(path)).toEqual(['events', 'meta', 'tasks', ...RECORD_KINDS].sort());
  });

  it('refuses a database from a newer release, naming the file and both versions, and leaves it untouched', () => {
    const path = join(dirs.make(), 'state.db');
    const newer = new Database(path);
    newer.exec(`CREATE TABLE future (x); PRAGMA user_version = ${SCHEMA_VERSION + 5};`);
    newer.close();
    const before = sha(path);
    let err: unknown;
    try {
      SqliteStore.open({ path });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe(ErrorCode.STORE_VERSION);
    expect((err as StoreError).message).toContain(path);
    expect((err as StoreError).message).toContain(`schema version ${SCHEMA_VERSION + 5}`);
    expect((err as StoreError).message).toContain(`versions up to ${SCHEMA_VERSION}`);
    expect(sha(path)).toBe(before);
    // The refusal released the lock: a reader (or a fixed release) can still open it.
    expect(() => SqliteStore.open({ path }).close()).toThrow(/newer release/);
  });
});
