/**
 * Issue 16 item 9: one corrupt row at start (a non-JSON `tasks.spec`, `spec = '{}'`, a non-JSON record) refuses
 * the start with a message naming the table, row and column, and releases the threads and the lock: never a
 * message naming something else, never a start that hangs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, StoreError } from '../../src/errors.js';
import { packagePath } from '../../src/config/options.js';
import { testEngine } from '../helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codomyrmex-hostile-corrupt-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A database holding a task "victim" (corrupted later as still ready) and one finished workflow run; returns its path. */
async function seeded(name: string): Promise<{ dbPath: string; runId: string }> {
  const dbPath = join(dir, `${name}.db`);
  const e = testEngine({ threads: 1, store: 'sqlite', dbPath });
  await e.tasks.addTask({ id: 'victim', module: 'core', action: 'echo', parameters: { value: 1 } });
  await e.workflows.createWorkflow('w', [{ name: 'a', module: 'core', action: 'echo', parameters: { value: 1 } }]);
  const run = await e.workflows.executeWorkflow('w');
  await e.shutdown();
  return { dbPath, runId: run.runId };
}

function corrupt(dbPath: string, sql: string, ...params: string[]): void {
  const db = new Database(dbPath);
  db.prepare(sql).run(...params);
  db.close();
}

/** Starts an engine on the database (with the package's definition files, as the CLI does) and returns why it failed. */
async function startError(dbPath: string): Promise<StoreError> {
  const e = testEngine({ threads: 1, store: 'sqlite', dbPath, workflowDirs: [packagePath('config', 'workflows')] });
  const err = await e.ready().then(
    () => null,
    (x: unknown) => x,
  );
  expect(e.state).toBe('failed');
  await e.shutdown();
  expect(err).toBeInstanceOf(StoreError);
  return err as StoreError;
}

describe('a corrupt row at start', () => {
  it('a non-JSON tasks.spec names the table, row and column (not a workflow file)', async () => {
    const { dbPath } = await seeded('spec-json');
    corrupt(dbPath, "UPDATE tasks SET spec = 'not json{', status = 'ready' WHERE id = 'victim'");
    const err = await startError(dbPath);
    expect(err.code).toBe(ErrorCode.STORE_CORRUPT);
    expect(err.message).toMatch(
      new RegExp(
        `^the database ${dbPath.replace(/[.]/g, '\\.')} has a corrupt row: table tasks, row id "victim", column spec: not valid JSON`,
      ),
    );
    expect(err.message).toContain("DELETE FROM tasks WHERE id = 'victim'");
    expect(err.message).not.toContain('.yaml');
    // The refused start released the lock: the row can be fixed and the engine starts.
    corrupt(dbPath, "DELETE FROM tasks WHERE id = 'victim'");
    const e = testEngine({ threads: 1, store: 'sqlite', dbPath });
    await e.ready();
    await e.shutdown();
  });

  it("spec = '{}' is refused at start, naming what is missing, instead of a start that never resolves", async () => {
    const { dbPath } = await seeded('spec-empty');
    corrupt(dbPath, "UPDATE tasks SET spec = '{}', status = 'ready' WHERE id = 'victim'");
    const err = await startError(dbPath);
    expect(err.message).toContain('table tasks, row id "victim", column spec: its id (undefined) is not the row\'s id');
  });

  it('a non-JSON workflow run names the workflow_runs table, row and data column', async () => {
    const { dbPath, runId } = await seeded('run-json');
    corrupt(dbPath, 'UPDATE workflow_runs SET data = ? WHERE id = ?', '{"broken', runId);
    const err = await startError(dbPath);
    expect(err.message).toMatch(
      new RegExp(`has a corrupt row: table workflow_runs, row id "${runId}", column data: not valid JSON`),
    );
  });
});
