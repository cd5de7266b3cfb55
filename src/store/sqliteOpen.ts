/**
 * Opening a SQLite database file for a store: the folder and file checks (writable, not hard-linked, a SQLite
 * header, `PRAGMA quick_check`), the engine lock, the connection's pragmas (WAL, synchronous, busy timeout,
 * checkpoints), refusing a schema newer than the code or a task status it does not know, and the migrations the
 * file lacks. Every failure is a `StoreError` naming the file, which is left untouched.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, StoreError } from '../errors.js';
import { TASK_STATUSES, unknownStatus } from './rows.js';
import { DatabaseLock, checkDatabaseHeader, realDatabasePath, refuseHardLinks } from './fileGuard.js';
import { describeSqliteError } from './sqliteWrites.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

/** How a database is opened: `SqliteStoreOptions` with the defaults applied. */
export interface SqliteFileSettings {
  /** The database file as given, or `:memory:`. */
  path: string;
  readonly: boolean;
  durability: 'strict' | 'relaxed';
  busyTimeoutMs: number;
  walAutocheckpointPages: number;
  /** Recorded as the lock's holder. */
  engineId: string;
}

/** A database opened, checked and migrated (or opened read-only), with the lock that keeps it this engine's. */
export interface OpenedSqliteFile {
  db: Database.Database;
  /** The real path (symlinks resolved), or `:memory:`. */
  path: string;
  /** Null for `:memory:` and read-only. */
  lock: DatabaseLock | null;
  /** The schema version the file had when opened (0 for a new file). */
  version: number;
}

/**
 * Opens (creating when missing) the database of `settings` and hands it to `make`, whose store then owns it. Throws
 * a `StoreError` naming the file when it is corrupt or truncated (`STORE_CORRUPT`), held by another engine
 * (`STORE_LOCKED`), written by newer code (`STORE_VERSION`), or cannot be created (`STORE_UNAVAILABLE`); the
 * database and lock are closed again when opening or `make` fails.
 */
export function openSqliteFile<T>(settings: SqliteFileSettings, make: (opened: OpenedSqliteFile) => T): T {
  const memory = settings.path === ':memory:';
  const readonly = settings.readonly;
  // Symlinks resolved: every name of one file opens, and locks, the same real file.
  const path = memory ? ':memory:' : readonly ? resolve(settings.path) : realDatabasePath(settings.path);
  if (!memory && !readonly) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new StoreError(
        `cannot create the folder of the database ${path}: ${(err as Error).message}`,
        ErrorCode.STORE_UNAVAILABLE,
        { cause: err },
      );
    }
  }
  if (!memory && !readonly) checkWritableFolder(path);
  if (!memory && readonly && !existsSync(path)) {
    throw new StoreError(`no database at ${path} (an engine creates it on first start)`, ErrorCode.STORE_UNAVAILABLE);
  }
  if (!memory && !readonly) refuseHardLinks(path);
  const lock = memory || readonly ? null : DatabaseLock.acquire(path);
  let db: Database.Database | undefined;
  try {
    const existed = !memory && existsSync(path) && statSync(path).size > 0;
    if (!memory) checkDatabaseHeader(path);
    db = openDatabase(path, readonly);
    if (existed) integrityCheck(db, path);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StoreError(
        `the database ${path} has schema version ${version}, but this codomyrmex knows versions up to ${SCHEMA_VERSION}: it was written by a newer release. Upgrade codomyrmex, or point dbPath at another file; the file was left untouched`,
        ErrorCode.STORE_VERSION,
      );
    }
    if (readonly) {
      if (version < 1)
        throw new StoreError(
          `the database ${path} has no codomyrmex schema yet (an engine creates it on first start)`,
          ErrorCode.STORE_UNAVAILABLE,
        );
      return make({ db, path, lock: null, version });
    }
    if (version >= 1) refuseUnknownStatuses(db, path);
    configure(db, path, settings);
    migrate(db, path, version);
    lock?.hold(settings.engineId);
    return make({ db, path, lock, version });
  } catch (err) {
    db?.close();
    lock?.release();
    if (err instanceof StoreError) throw err;
    if (isCorruption(err)) {
      throw new StoreError(
        `the database file ${path} is corrupt (${describeSqliteError(err)}); it was left untouched. Restore it from a backup, move it aside, or point dbPath at another file`,
        ErrorCode.STORE_CORRUPT,
        { cause: err },
      );
    }
    throw new StoreError(`cannot open the database ${path}: ${describeSqliteError(err)}`, ErrorCode.STORE_UNAVAILABLE, {
      cause: err,
    });
  }
}

function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    code === 'SQLITE_CORRUPT' ||
    code === 'SQLITE_NOTADB' ||
    (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'))
  );
}

/** A database needs a writable folder (for its -wal and -shm files) and a writable file. */
function checkWritableFolder(path: string): void {
  for (const [target, what] of [
    [dirname(path), 'the folder of the database'],
    [path, 'the database'],
  ] as const) {
    if (target === path && !existsSync(path)) continue;
    try {
      accessSync(target, constants.W_OK);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      const why =
        code === 'EROFS'
          ? 'is on a read-only file system'
          : code === 'EACCES' || code === 'EPERM'
            ? 'is not writable by this user'
            : `cannot be written (${code})`;
      throw new StoreError(
        `${what} ${target} ${why}; the engine needs to write there. Make it writable, or point dbPath elsewhere`,
        ErrorCode.STORE_UNAVAILABLE,
        { cause: err },
      );
    }
  }
}

function openDatabase(path: string, readonly: boolean): Database.Database {
  return readonly ? new Database(path, { readonly: true, fileMustExist: true }) : new Database(path);
}

function integrityCheck(db: Database.Database, path: string): void {
  const rows = db.pragma('quick_check(20)') as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check).filter((m) => m !== 'ok');
  if (problems.length) {
    throw new StoreError(
      `the database file ${path} fails its integrity check (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; ...' : ''}); it was left untouched. Restore it from a backup, move it aside, or point dbPath at another file`,
      ErrorCode.STORE_CORRUPT,
    );
  }
}

function configure(db: Database.Database, path: string, settings: SqliteFileSettings): void {
  db.pragma(`busy_timeout = ${settings.busyTimeoutMs}`);
  if (path !== ':memory:') {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal')
      throw new StoreError(
        `the database ${path} cannot use WAL mode (got "${String(mode)}")`,
        ErrorCode.STORE_UNAVAILABLE,
      );
  }
  db.pragma(`synchronous = ${settings.durability === 'relaxed' ? 'NORMAL' : 'FULL'}`);
  db.pragma(`wal_autocheckpoint = ${settings.walAutocheckpointPages}`);
  db.pragma('foreign_keys = OFF');
}

function migrate(db: Database.Database, path: string, from: number): void {
  if (from === SCHEMA_VERSION) return;
  const run = db.transaction(() => {
    for (const m of MIGRATIONS) {
      if (m.version <= from) continue;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }
    const now = new Date().toISOString();
    const set = db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    if (from === 0) set.run('created_at', now);
    set.run('migrated_at', now);
    set.run('migrated_from', String(from));
  });
  try {
    run.immediate();
  } catch (err) {
    throw new StoreError(
      `migrating the database ${path} from schema version ${from} to ${SCHEMA_VERSION} failed (nothing was changed): ${describeSqliteError(err)}`,
      ErrorCode.STORE_UNAVAILABLE,
      { cause: err },
    );
  }
}

/** Refuses a database with a task row whose status this code does not know: it would never be resumed nor listed. */
function refuseUnknownStatuses(db: Database.Database, location: string): void {
  const row = db
    .prepare(`SELECT id, status FROM tasks WHERE status NOT IN (${TASK_STATUSES.map(() => '?').join(', ')}) LIMIT 1`)
    .get(...TASK_STATUSES) as { id: string; status: string } | undefined;
  if (row) throw unknownStatus(location, row.id, row.status);
}
