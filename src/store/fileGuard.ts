/**
 * What keeps a database file safe before SQLite touches it: a header and size check that refuses files that are
 * not SQLite or are cut short (they are never opened for writing, so never overwritten), and the lock that keeps
 * a database to one engine at a time.
 */
import { closeSync, existsSync, lstatSync, openSync, readlinkSync, readSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
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
 *
 * The main file alone is not the database when a WAL (`<path>-wal`) lies beside it: a process killed inside a
 * checkpoint leaves page 1 (counting the grown database) in the main file while the later pages are still only in
 * the WAL. So when the main file looks wrong and a WAL exists, SQLite itself judges: the file passes when a
 * read-only connection (which reads through the WAL and writes neither file) opens it and `PRAGMA quick_check`
 * finds it intact. A database SQLite checks intact is never refused.
 */
export function checkDatabaseHeader(path: string): void {
  const problem = headerProblem(path);
  if (problem === null) return;
  const sqliteSays = hasWal(path) ? judgeThroughWal(path) : null;
  if (sqliteSays === 'ok') return;
  throw corrupt(
    path,
    sqliteSays === null ? problem : `${problem}, and its WAL does not complete it (SQLite: ${sqliteSays})`,
  );
}

/** What is wrong with the main file's header or size, or null. */
function headerProblem(path: string): string | null {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return null;
  }
  if (size === 0) return null;
  if (size < 100) return `is ${size} bytes long, shorter than a SQLite header (truncated or not a database)`;
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1', 0, 16) !== MAGIC) return 'is not a SQLite database (its header is wrong)';
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0)
    return `has an impossible page size (${raw}) in its header`;
  if (size % pageSize !== 0)
    return `is ${size} bytes long, not a whole number of ${pageSize}-byte pages (truncated or damaged)`;
  const changeCounter = header.readUInt32BE(24);
  const pages = header.readUInt32BE(28);
  const validFor = header.readUInt32BE(92);
  if (pages > 0 && validFor === changeCounter && size < pages * pageSize) {
    return `is truncated: its header says ${pages} pages (${pages * pageSize} bytes) but the file has ${size} bytes`;
  }
  return null;
}

/** A WAL with at least one frame beside the database (a WAL header alone is 32 bytes). */
function hasWal(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 32;
  } catch {
    return false;
  }
}

/** `'ok'` when SQLite opens the database read-only (through its WAL) and checks it intact, else what SQLite said. */
function judgeThroughWal(path: string): string {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((m) => m !== 'ok');
    return problems.length === 0 ? 'ok' : problems.join('; ');
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    db?.close();
  }
}

/** Who holds a database, as written to its `meta` table. */
export interface LockOwner {
  pid: number;
  host: string;
  engineId: string;
  since: string;
  /** The database file's `device:inode` (absent in databases written before it was recorded). */
  file?: string;
}

export function currentOwner(engineId: string, dbPath?: string): LockOwner {
  const file = dbPath === undefined ? null : fileKey(dbPath);
  return { pid: process.pid, host: hostname(), engineId, since: new Date().toISOString(), ...(file ? { file } : {}) };
}

/** `device:inode` of a file, or null when it does not exist. */
export function fileKey(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * The path an engine opens and locks: symlinks resolved, to the last step (a dangling link is followed to where
 * it points). Two names of one file (a symlink and its target) then lock the same `<file>.lock`.
 */
export function realDatabasePath(path: string): string {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    try {
      return realpathSync(p);
    } catch {
      /* missing: the folder may be real, the name a dangling link */
    }
    let link: string | null = null;
    try {
      if (lstatSync(p).isSymbolicLink()) link = readlinkSync(p);
    } catch {
      /* does not exist at all */
    }
    if (link === null) {
      let dir = dirname(p);
      try {
        dir = realpathSync(dir);
      } catch {
        /* the folder is made later */
      }
      return join(dir, basename(p));
    }
    p = resolve(dirname(p), link);
  }
  throw new StoreError(
    `the database path ${path} is a chain of more than 40 symbolic links; point dbPath at the file itself`,
    ErrorCode.STORE_UNAVAILABLE,
  );
}

/**
 * Refuses a database file with more than one hard link: another name of it would lock another `<name>.lock`, so a
 * second engine could open it through that name.
 */
export function refuseHardLinks(path: string): void {
  let links: number;
  try {
    links = lstatSync(path).nlink;
  } catch {
    return;
  }
  if (links > 1) {
    throw new StoreError(
      `the database ${path} has ${links} hard links: an engine opening it under another name would not see this one's lock, so both could run its tasks. Keep one name (delete the other links) or copy the file`,
      ErrorCode.STORE_UNAVAILABLE,
    );
  }
}

/** Database files (by `device:inode`) an engine of this process holds: a second engine here is refused even if the lock file was deleted. */
const heldHere = new Map<string, LockOwner>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

function inUse(dbPath: string, who: string, why: string, cause?: unknown): StoreError {
  return new StoreError(
    `the database ${dbPath} is in use by ${who}${why}; one database serves one engine at a time. Stop that engine, or give this one another dbPath`,
    ErrorCode.STORE_LOCKED,
    cause === undefined ? undefined : { cause },
  );
}

function describeOwner(owner: LockOwner | null): string {
  return owner
    ? `engine ${owner.engineId} (pid ${owner.pid}${owner.pid === process.pid && owner.host === hostname() ? ', this process' : ''} on ${owner.host}, since ${owner.since})`
    : 'another engine';
}

/** Reads a JSON value of the database's `meta` table (readable while another engine holds the file), or null. */
function readMetaJson<T>(dbPath: string, key: string): T | null {
  let db: Database.Database | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 200');
    const row = db.prepare(`SELECT value FROM meta WHERE key = ?`).get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : null;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/** Reads the owner a running engine recorded in the database, if it can be read. */
function readOwner(dbPath: string): LockOwner | null {
  return readMetaJson<LockOwner>(dbPath, 'owner');
}

/** Where a daemon holding a database serves its HTTP API, as it recorded in the database's `meta` (key `daemon`). */
export interface DaemonAddress {
  url: string;
  pid: number;
  host: string;
  engineId: string;
  since: string;
}

/** The meta key a daemon records its {@link DaemonAddress} under. */
export const DAEMON_META_KEY = 'daemon';

/**
 * The address of the daemon that holds `dbPath`, or null: none recorded, or recorded by a process of this host that
 * is gone (a daemon killed before it could say so).
 */
export function readDaemonAddress(dbPath: string): DaemonAddress | null {
  const a = readMetaJson<DaemonAddress>(dbPath, DAEMON_META_KEY);
  if (!a || typeof a.url !== 'string' || a.url === '') return null;
  if (a.host === hostname()) {
    try {
      process.kill(a.pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return null;
    }
  }
  return a;
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
  readonly #dbPath: string;
  #db: Database.Database | null;
  #held: string | null = null;

  private constructor(path: string, dbPath: string, db: Database.Database) {
    this.path = path;
    this.#dbPath = dbPath;
    this.#db = db;
  }

  /**
   * Locks `dbPath` (give it resolved: {@link realDatabasePath}). Besides the kernel lock on `<db>.lock`: a database
   * file held by an engine of this process is refused, and when the lock file had to be made afresh while the
   * database says a live process on this host holds this very file (its lock file was deleted), that is refused too.
   */
  static acquire(dbPath: string): DatabaseLock {
    const path = `${dbPath}.lock`;
    const key = fileKey(dbPath);
    const holder = key === null ? undefined : heldHere.get(key);
    if (holder !== undefined) throw inUse(dbPath, describeOwner(holder), '');
    const fresh = !existsSync(path);
    const lock = DatabaseLock.#lock(path, dbPath);
    if (fresh && key !== null) {
      const owner = readOwner(dbPath);
      if (owner && owner.file === key && owner.pid !== process.pid && owner.host === hostname() && isAlive(owner.pid)) {
        lock.release();
        throw inUse(dbPath, describeOwner(owner), ` (its lock file ${path} was deleted; that process still runs)`);
      }
    }
    return lock;
  }

  /** Marks the database file as held by `engineId` in this process (once it exists). */
  hold(engineId: string): void {
    const key = fileKey(this.#dbPath);
    if (key === null) return;
    this.#held = key;
    heldHere.set(key, currentOwner(engineId));
  }

  /**
   * Makes the lock file again if it was deleted while held (health checks call this): a later engine then finds it
   * held. Throws `STORE_LOCKED` when another engine took the new one first.
   */
  check(): void {
    if (!this.#db || existsSync(this.path)) return;
    const again = DatabaseLock.#lock(this.path, this.#dbPath);
    this.#db.close();
    this.#db = again.#db;
  }

  static #lock(path: string, dbPath: string): DatabaseLock {
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      db.pragma('busy_timeout = 0');
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = MEMORY');
      db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS lock (held_since TEXT); COMMIT;');
      return new DatabaseLock(path, dbPath, db);
    } catch (err) {
      db?.close();
      const code = (err as { code?: unknown }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
        throw inUse(dbPath, describeOwner(readOwner(dbPath)), '', err);
      throw new StoreError(
        `cannot lock the database ${dbPath} through ${path}: ${(err as Error).message}`,
        ErrorCode.STORE_UNAVAILABLE,
        { cause: err },
      );
    }
  }

  release(): void {
    if (this.#held !== null) heldHere.delete(this.#held);
    this.#held = null;
    this.#db?.close();
    this.#db = null;
  }
}
