/**
 * Issue 16 item 3: the one-engine-per-database lock cannot be bypassed by a symlink to the database, a hard link,
 * or a deleted `state.db.lock`, in this process or from another one.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { ErrorCode, StoreError } from '../../src/errors.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const dirs: string[] = [];
const open: SqliteStore[] = [];
const children: ChildProcess[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'codomyrmex-hostile-lock-'));
  dirs.push(d);
  return d;
};
const openStore = (path: string, engineId: string): SqliteStore => {
  const s = SqliteStore.open({ path, engineId });
  open.push(s);
  return s;
};
const openError = (path: string): StoreError => {
  try {
    openStore(path, 'second');
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return err as StoreError;
  }
  throw new Error(`a second store opened ${path}`);
};
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('one engine per database, whatever the name', () => {
  it('a symlink to the database locks the same file', () => {
    const dir = tempDir();
    const db = join(dir, 'state.db');
    openStore(db, 'first');
    symlinkSync(db, join(dir, 'alias.db'));
    const err = openError(join(dir, 'alias.db'));
    expect(err.code).toBe(ErrorCode.STORE_LOCKED);
    expect(err.message).toContain(`the database ${db} is in use by engine first`);
  });

  it('a dangling symlink opened first makes the database where it points; that file and a symlinked folder are refused', () => {
    const dir = tempDir();
    const real = join(dir, 'real');
    mkdirSync(real);
    const db = join(real, 'state.db');
    symlinkSync(db, join(dir, 'alias.db'));
    openStore(join(dir, 'alias.db'), 'first');
    expect(existsSync(db)).toBe(true);
    expect(existsSync(`${db}.lock`)).toBe(true);
    symlinkSync('real', join(dir, 'linkdir'));
    expect(openError(db).code).toBe(ErrorCode.STORE_LOCKED);
    expect(openError(join(dir, 'linkdir', 'state.db')).code).toBe(ErrorCode.STORE_LOCKED);
  });

  it('refuses a database with more than one hard link', () => {
    const dir = tempDir();
    const db = join(dir, 'state.db');
    openStore(db, 'first').close();
    linkSync(db, join(dir, 'other.db'));
    const err = openError(join(dir, 'other.db'));
    expect(err.code).toBe(ErrorCode.STORE_UNAVAILABLE);
    expect(err.message).toMatch(
      /has 2 hard links: an engine opening it under another name would not see this one's lock/,
    );
    expect(openError(db).message).toMatch(/has 2 hard links/);
  });

  it('a deleted lock file does not let a second engine of this process in, and the holder makes it again', () => {
    const dir = tempDir();
    const db = join(dir, 'state.db');
    const first = openStore(db, 'first');
    unlinkSync(`${db}.lock`);
    const err = openError(db);
    expect(err.code).toBe(ErrorCode.STORE_LOCKED);
    expect(err.message).toContain(`in use by engine first (pid ${process.pid}, this process`);
    first.checkWritable();
    expect(existsSync(`${db}.lock`)).toBe(true);
  });

  it('a deleted lock file does not let a second engine in while another process holds the database', async () => {
    const dir = tempDir();
    const db = join(dir, 'state.db');
    const child = spawn(process.execPath, [packagePath('dist', 'test', 'fixtures', 'lockHolder.js'), db], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        if (b.toString().includes('held')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
    });
    expect(openError(db).code).toBe(ErrorCode.STORE_LOCKED);
    unlinkSync(`${db}.lock`);
    const err = openError(db);
    expect(err.code).toBe(ErrorCode.STORE_LOCKED);
    expect(err.message).toMatch(
      new RegExp(
        `in use by engine child-holder \\(pid ${child.pid} on .*\\) \\(its lock file .*state\\.db\\.lock was deleted; that process still runs\\)`,
      ),
    );
    // Once the holder is gone, the database opens again (a fresh lock file and a dead owner are fine).
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end();
    await exited;
    unlinkSync(`${db}.lock`);
    expect(() => openStore(db, 'third')).not.toThrow();
  });
});
