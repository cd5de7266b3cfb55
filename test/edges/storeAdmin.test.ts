/**
 * `codomyrmex store copy` and `store migrate` with the built CLI against a real PostgreSQL: an embedded SQLite
 * installation (a run, tasks, a session, the journal) copied to PostgreSQL and checked, then served from there.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrchestrationEngine, SqliteStore } from '../../src/index.js';
import { PG_SCHEMA_VERSION } from '../../src/store/postgresSchema.js';
import { runCli } from '../support/cli.js';
import { startPostgres } from '../support/postgres.js';
import type { TestPostgres } from '../support/postgres.js';
import { tempDirs } from '../store/helpers.js';

let server: TestPostgres;
const dirs = tempDirs();
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.destroy();
  dirs.cleanup();
});

describe('codomyrmex store', () => {
  it('copies an embedded installation to PostgreSQL, checks every kind, and an engine there carries on', async () => {
    const dir = dirs.make('copy');
    const dbPath = join(dir, 'state.db');
    const a = createOrchestrationEngine({ store: 'sqlite', dbPath, threads: 1, workflowDirs: [] });
    await a.workflows.defineWorkflow({
      name: 'pair',
      steps: [{ name: 'one', module: 'core', action: 'echo', parameters: { value: 41 } }],
    });
    const run = await a.workflows.executeWorkflow('pair');
    await a
      .getTaskOrchestrator()
      .executeTask({ id: 'queued', module: 'core', action: 'echo', parameters: { value: 'later' } });
    const session = await a.createSession({ userId: 'ada' });
    await a.shutdown();
    const before = SqliteStore.open({ path: dbPath, readonly: true });
    const journal = before.lastEventSeq();
    before.close();
    const url = await server.createDatabase();

    const copied = await runCli(dir, ['store', 'copy', '--from', `sqlite:${dbPath}`, '--to', url, '--json']);
    expect(copied.stderr).toBe('');
    expect(copied.code).toBe(0);
    const report = JSON.parse(copied.stdout) as {
      ok: boolean;
      to: string;
      kinds: { kind: string; source: number; target: number }[];
    };
    expect(report.ok).toBe(true);
    expect(report.to).not.toContain(server.password);
    const count = (kind: string): number | undefined => report.kinds.find((k) => k.kind === kind)?.target;
    expect(count('tasks')).toBe(2);
    expect(count('workflow_runs')).toBe(1);
    expect(count('sessions')).toBe(1);
    expect(count('events')).toBe(journal);
    for (const k of report.kinds) expect(k.target, k.kind).toBe(k.source);

    // A second copy into the same database is refused: a copy never merges.
    const again = await runCli(dir, ['store', 'copy', '--from', `sqlite:${dbPath}`, '--to', url]);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/is not empty \(it holds tasks/);

    const b = createOrchestrationEngine({ store: { kind: 'postgres', url }, threads: 1, workflowDirs: [] });
    try {
      await b.ready();
      expect((await b.workflows.getRun(run.runId))?.steps['one']?.result).toBe(41);
      expect(b.store.readEvents({ limit: 1 })[0]?.seq).toBe(1);
      expect(await b.getSession(session)).toMatchObject({ userId: 'ada' });
      expect(await b.getTaskOrchestrator().getTask('queued')).toMatchObject({
        status: 'completed',
        result: { result: 'later' },
      });
      expect(
        (await b.getTaskOrchestrator().executeTask({ module: 'core', action: 'echo', parameters: { value: 'new' } }))
          .result,
      ).toBe('new');
      // The journal carries on from the copied one.
      expect(b.store.lastEventSeq()).toBeGreaterThan(journal);
    } finally {
      await b.shutdown();
    }
  });

  it('migrates a database explicitly, then says it is up to date', async () => {
    const url = await server.createDatabase();
    const first = await runCli(process.cwd(), ['store', 'migrate', '--db', url, '--json']);
    expect(first.stderr).toBe('');
    expect(JSON.parse(first.stdout)).toMatchObject({ store: 'postgres', from: 0, to: PG_SCHEMA_VERSION });
    expect((JSON.parse(first.stdout) as { database: string }).database).not.toContain(server.password);
    const second = await runCli(process.cwd(), ['store', 'migrate', '--db', url]);
    expect(second.stdout).toMatch(/schema version \d+, already up to date/);
  });
});
