/**
 * Issue 20 item 9: a start refused because of a corrupt row changes no byte of the database (its message says
 * nothing was changed), and a task row whose status is unknown is refused like any corrupt row rather than started
 * silently. The start runs in a real child process on a real file.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { testEngine } from '../helpers.js';

const CHILD = packagePath('dist', 'test', 'fixtures', 'startChild.js');
const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-refused-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function seeded(name: string): Promise<string> {
  const dbPath = join(dir, `${name}.db`);
  const e = testEngine({ threads: 1, store: 'sqlite', dbPath });
  await e.tasks.addTask({ id: 'victim', module: 'core', action: 'echo', parameters: { value: 1 } });
  await e.tasks.executeTask({ id: 'done', module: 'core', action: 'echo', parameters: { value: 2 } });
  await e.shutdown();
  return dbPath;
}

function sql(dbPath: string, statement: string): void {
  const db = new Database(dbPath);
  db.exec(statement);
  db.close();
}

/** The database's files, each with a digest of its bytes (a WAL left with frames would be a change too). */
function snapshot(dbPath: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const suffix of ['', '-wal']) {
    const f = dbPath + suffix;
    if (existsSync(f) && statSync(f).size > 0)
      files[suffix || 'db'] = createHash('sha256').update(readFileSync(f)).digest('hex');
  }
  return files;
}

async function start(dbPath: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CHILD, dbPath]);
  return stdout.trim();
}

describe('a refused start', () => {
  it('changes no byte of the database on a corrupt row', async () => {
    const dbPath = await seeded('corrupt');
    sql(dbPath, "UPDATE tasks SET spec = 'not json{', status = 'ready' WHERE id = 'victim'");
    const before = snapshot(dbPath);
    const said = await start(dbPath);
    expect(said).toMatch(
      /^refused STORE_CORRUPT the database .* has a corrupt row: table tasks, row id "victim", column spec: not valid JSON/,
    );
    expect(said).toContain('Nothing was changed');
    expect(snapshot(dbPath)).toEqual(before);
  }, 60_000);

  it('refuses a task row whose status is unknown, naming it, and changes nothing', async () => {
    const dbPath = await seeded('status');
    sql(dbPath, "UPDATE tasks SET status = 'paused' WHERE id = 'victim'");
    const before = snapshot(dbPath);
    const said = await start(dbPath);
    expect(said).toMatch(
      /^refused STORE_CORRUPT the database .* has a corrupt row: table tasks, row id "victim", column status: "paused" is not a task status/,
    );
    expect(snapshot(dbPath)).toEqual(before);
    // Fixed, it starts.
    sql(dbPath, "UPDATE tasks SET status = 'ready' WHERE id = 'victim'");
    expect(await start(dbPath)).toBe('started');
  }, 60_000);
});
