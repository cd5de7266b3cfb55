/**
 * What keeps a database file safe before SQLite touches it: a header and size check that refuses files that are
 * not SQLite or are cut short (they are never opened for writing, so never overwritten), and the lock that keeps
 * a database to one engine at a time.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { ErrorCode, StoreError } from '../errors.js';

const MAGIC = 'SQLite format 3\0';

function corrupt(path: string, why: string): StoreError {
  return new StoreError(
    `the database file ${path} ${why}; it was left untouched. Restore it from a backup, move it aside, or point dbPath at another file`,
    ErrorCode.STORE_CORRUPT,
  );
}

/**
 * Throws `STORE_CORRUPT` when an existing, non-empty file is not a whole SQLite database: wrong magic header, a
 * page size SQLite never writes, or fewer bytes than the header says the database has. An empty or missing file
 * passes (SQLite makes a new database in it).
 */
export function checkDatabaseHeader(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return;
  }
  if (size === 0) return;
  if (size < 100) throw corrupt(path, `is ${size} bytes long, shorter than a SQLite header (truncated or not a database)`);
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1', 0, 16) !== MAGIC) throw corrupt(path, 'is not a SQLite database (its header is wrong)');
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw corrupt(path, `has an impossible page size (${raw}) in its header`);
  if (size % pageSize !== 0) throw corrupt(path, `is ${size} bytes long, not a whole number of ${pageSize}-byte pages (truncated or damaged)`);
  const changeCounter = header.readUInt32BE(24);
  const pages = header.readUInt32BE(28);
  const validFor = header.readUInt32BE(92);
  if (pages > 0 && validFor === changeCounter && size < pages * pageSize) {
    throw corrupt(path, `is truncated: its header says ${pages} pages (${pages * pageSize} bytes) but the file has ${size} bytes`);
  }
}

/** Who holds a database, as written to its `meta` table. */
export interface LockOwner {
  pid: number;
  host: string;
  engineId: string;
  since: string;
}

export function currentOwner(engineId: string): LockOwner {
  return { pid: process.pid, host: hostname(), engineId, since: new Date().toISOString() };
}

/** Reads the owner a running engine recorded in the database, if it can be read. */
function readOwner(dbPath: string): LockOwner | null {
  let db: Database.Database | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 200');
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'owner'`).get() as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as LockOwner) : null;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/**
 * An exclusive lock on `<db>.lock`, a small SQLite file held in SQLite's exclusive locking mode. The lock is a
 * POSIX record lock: the kernel releases it when the holder exits, however it exits (SIGKILL included), so it can
 * never go stale; a second engine, in this process or another, gets `STORE_LOCKED` at once. The database itself
 * stays in normal WAL mode, so read-only readers (`codomyrmex events`) can open it while an engine runs.
 * The lock file is never deleted (deleting a lock file another process is about to open would split the lock).
 */
export class DatabaseLock {
  readonly path: string;
  #db: Database.Database | null;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.#db = db;
  }

  static acquire(dbPath: string): DatabaseLock {
    const path = `${dbPath}.lock`;
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      db.pragma('busy_timeout = 0');
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = MEMORY');
      db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS lock (held_since TEXT); COMMIT;');
      return new DatabaseLock(path, db);
    } catch (err) {
      db?.close();
      const code = (err as { code?: unknown }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        const owner = readOwner(dbPath);
        const who = owner
          ? `engine ${owner.engineId} (pid ${owner.pid}${owner.pid === process.pid && owner.host === hostname() ? ', this process' : ''} on ${owner.host}, since ${owner.since})`
          : 'another engine';
        throw new StoreError(
          `the database ${dbPath} is in use by ${who}; one database serves one engine at a time. Stop that engine, or give this one another dbPath`,
          ErrorCode.STORE_LOCKED,
          { cause: err },
        );
      }
      throw new StoreError(`cannot lock the database ${dbPath} through ${path}: ${(err as Error).message}`, ErrorCode.STORE_UNAVAILABLE, { cause: err });
    }
  }

  release(): void {
    this.#db?.close();
    this.#db = null;
  }
}
