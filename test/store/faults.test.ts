import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  openSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { createOrchestrationEngine, ErrorCode, SqliteStore, StoreError } from '../../src/index.js';
import { storedTask, tempDirs } from './helpers.js';

const dirs = tempDirs();
const engines: OrchestrationEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.shutdown({ graceMs: 0 })));
});
afterAll(() => dirs.cleanup());

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function openError(path: string): StoreError {
  try {
    SqliteStore.open({ path }).close();
  } catch (err) {
    if (err instanceof StoreError) return err;
    throw err;
  }
  throw new Error(`${path} opened`);
}

/** A real database with enough rows to span many pages. */
function filledDatabase(): string {
  const path = join(dirs.make(), 'state.db');
  const s = SqliteStore.open({ path });
  for (let b = 0; b < 20; b++) s.putTasks(Array.from({ length: 50 }, (_, i) => storedTask(`t${b}-${i}`, 'completed')));
  s.close();
  return path;
}

describe('corrupt or truncated database files', () => {
  it('refuses a file that is not SQLite, names it, and never writes to it', () => {
    const path = join(dirs.make(), 'state.db');
    writeFileSync(path, randomBytes(8192));
    const before = sha(path);
    const err = openError(path);
    expect(err.code).toBe(ErrorCode.STORE_CORRUPT);
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/not a SQLite database/);
    expect(sha(path)).toBe(before);
    // The engine refuses in its constructor, before any thread starts.
    expect(() => createOrchestrationEngine({ store: 'sqlite', dbPath: path })).toThrow(StoreError);
    expect(sha(path)).toBe(before);
  });

  it('refuses a file shorter than a header', () => {
    const path = join(dirs.make(), 'state.db');
    writeFileSync(path, 'hello');
    expect(openError(path).message).toMatch(/shorter than a SQLite header/);
    expect(readFileSync(path, 'utf8')).toBe('hello');
  });

  it('refuses a truncated database (fewer pages than its header says)', () => {
    const path = filledDatabase();
    const pageSize = readFileSync(path).readUInt16BE(16);
    truncateSync(path, Math.floor(statSync(path).size / pageSize / 2) * pageSize);
    const before = sha(path);
    const err = openError(path);
    expect(err.code).toBe(ErrorCode.STORE_CORRUPT);
    expect(err.message).toMatch(/is truncated: its header says \d+ pages/);
    expect(sha(path)).toBe(before);
  });

  it('refuses a database cut mid-page', () => {
    const path = filledDatabase();
    truncateSync(path, statSync(path).size - 100);
    expect(openError(path).message).toMatch(/not a whole number of \d+-byte pages/);
  });

  it('refuses a database whose pages are damaged (PRAGMA quick_check), and leaves it as it was', () => {
    const path = filledDatabase();
    const pageSize = readFileSync(path).readUInt16BE(16);
    const fd = openSync(path, 'r+');
    // Overwrite a run of pages in the middle of the tasks table with garbage; header and size stay right.
    for (let page = 4; page < 8; page++) writeSync(fd, randomBytes(pageSize), 0, pageSize, page * pageSize);
    closeSync(fd);
    const before = sha(path);
    const err = openError(path);
    expect(err.code).toBe(ErrorCode.STORE_CORRUPT);
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/integrity check|corrupt|malformed/);
    expect(sha(path)).toBe(before);
  });
});

/**
 * The files a SIGKILL leaves when it lands inside a WAL checkpoint that grows the database: the checkpoint writes
 * pages in ascending order, so page 1 (whose header now counts the grown database) is in the main file while the
 * pages past its old end are still only in the WAL. Made by copying a live database's files, then doing the first
 * write of that checkpoint by hand.
 */
function killedMidCheckpoint(): { path: string; ids: string[]; headerPages: number; filePages: number } {
  const live = join(dirs.make('live'), 'state.db');
  const ids: string[] = [];
  const s = SqliteStore.open({ path: live, writerThread: false });
  s.putTasks([storedTask('first', 'completed')]);
  s.close(); // checkpointed: the main file holds everything so far
  const again = SqliteStore.open({ path: live, writerThread: false });
  for (let b = 0; b < 10; b++) {
    const batch = Array.from({ length: 40 }, (_, i) => storedTask(`g${b}-${i}`, 'completed'));
    again.putTasks(batch);
    ids.push(...batch.map((t) => t.spec.id));
  }
  const path = join(dirs.make('killed'), 'state.db');
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(live + suffix)) copyFileSync(live + suffix, path + suffix);
  again.close();

  const wal = readFileSync(`${path}-wal`);
  const pageSize = wal.readUInt32BE(8);
  let page1: Buffer | null = null;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at) === 1) page1 = wal.subarray(at + 24, at + 24 + pageSize);
  }
  if (!page1) throw new Error('the WAL holds no page 1');
  const fd = openSync(path, 'r+');
  writeSync(fd, page1, 0, pageSize, 0);
  closeSync(fd);
  return {
    path,
    ids: ['first', ...ids],
    headerPages: page1.readUInt32BE(28),
    filePages: statSync(path).size / pageSize,
  };
}

describe('a kill inside a WAL checkpoint', () => {
  it('opens the database the WAL completes (SQLite checks it intact), with every row, though its main file is shorter than its header says', () => {
    const { path, ids, headerPages, filePages } = killedMidCheckpoint();
    expect(headerPages).toBeGreaterThan(filePages);
    const store = SqliteStore.open({ path });
    try {
      for (const id of ids) expect(store.getTask(id)?.status, id).toBe('completed');
    } finally {
      store.close();
    }
    // Opening replayed the WAL: the main file is whole again.
    expect(statSync(path).size / readFileSync(path).readUInt16BE(16)).toBeGreaterThanOrEqual(headerPages);
  });

  it('opens it read-only too (a reader tailing the journal)', () => {
    const { path, ids } = killedMidCheckpoint();
    const store = SqliteStore.open({ path, readonly: true });
    try {
      expect(store.getTask(ids.at(-1)!)?.status).toBe('completed');
    } finally {
      store.close();
    }
  });

  it('still refuses, untouched, a short main file whose WAL does not hold the missing pages', () => {
    const { path } = killedMidCheckpoint();
    const pageSize = readFileSync(path).readUInt16BE(16);
    truncateSync(path, 3 * pageSize);
    const before = [sha(path), sha(`${path}-wal`)];
    const err = openError(path);
    expect(err.code).toBe(ErrorCode.STORE_CORRUPT);
    expect(err.message).toMatch(/is truncated: its header says \d+ pages/);
    expect([sha(path), sha(`${path}-wal`)]).toEqual(before);
  });
});

describe('one engine per database', () => {
  it('refuses a second engine on the same file with STORE_LOCKED, naming the file and the holder; frees it on shutdown', async () => {
    const path = join(dirs.make(), 'state.db');
    const first = createOrchestrationEngine({ store: 'sqlite', dbPath: path, threads: 1 });
    engines.push(first);
    await first.ready();
    let err: unknown;
    try {
      engines.push(createOrchestrationEngine({ store: 'sqlite', dbPath: path, threads: 1 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe(ErrorCode.STORE_LOCKED);
    expect((err as StoreError).message).toContain(path);
    expect((err as StoreError).message).toContain(`engine ${first.id} (pid ${process.pid}, this process`);
    // The refused engine did no harm: the first one goes on working.
    const r = await first
      .getTaskOrchestrator()
      .executeTask({ module: 'core', action: 'echo', parameters: { value: 1 } });
    expect(r.result).toBe(1);
    await first.shutdown();
    const second = createOrchestrationEngine({ store: 'sqlite', dbPath: path, threads: 1 });
    engines.push(second);
    expect(await second.getTaskOrchestrator().getTask(r.taskId)).toMatchObject({ status: 'completed' });
  });
});

describe('a folder this user cannot write', () => {
  // Root writes through permissions: the read-only case runs for real on a read-only mount in diskFault.test.ts.
  it.skipIf(process.getuid?.() === 0)('refuses to open, naming the folder', async () => {
    const { chmodSync } = await import('node:fs');
    const dir = dirs.make('ro');
    chmodSync(dir, 0o555);
    try {
      const err = openError(join(dir, 'state.db'));
      expect(err.code).toBe(ErrorCode.STORE_UNAVAILABLE);
      expect(err.message).toContain(`the folder of the database ${dir} is not writable by this user`);
    } finally {
      chmodSync(dir, 0o755);
    }
  });
});
