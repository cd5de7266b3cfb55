/**
 * An engine on a real PostgreSQL: chosen by the library's `store: { kind: 'postgres', url }` (and by a URL in
 * `dbPath` or `CODOMYRMEX_DATABASE_URL`), its runs and tasks durable across engines, unfinished work resumed by the
 * next one exactly as on SQLite, a strict answer given only once the row is committed, and the database server
 * stopped and started under a running engine.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { compileOptions, createOrchestrationEngine } from '../../src/index.js';
import { query, startPostgres } from '../support/postgres.js';
import type { TestPostgres } from '../support/postgres.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.destroy();
});
const engines: OrchestrationEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.shutdown({ graceMs: 0 })));
});

function engineOn(url: string): OrchestrationEngine {
  const engine = createOrchestrationEngine({ store: { kind: 'postgres', url }, threads: 2, workflowDirs: [] });
  engines.push(engine);
  return engine;
}

describe('an engine on PostgreSQL', () => {
  it('keeps runs and task results for the next engine, and answers a strict caller only after the commit', async () => {
    const url = await server.createDatabase();
    const a = engineOn(url);
    expect(a.store.kind).toBe('postgres');
    const result = await a
      .getTaskOrchestrator()
      .executeTask({ id: 'sum', module: 'core', action: 'echo', parameters: { value: { n: 3 } } });
    expect(result.status).toBe('completed');
    // Strict: answered, so committed.
    expect(await query(url, `SELECT status FROM codomyrmex_tasks WHERE id = 'sum'`)).toEqual([{ status: 'completed' }]);
    await a.workflows.defineWorkflow({
      name: 'pair',
      steps: [
        { name: 'one', module: 'core', action: 'echo', parameters: { value: 1 } },
        { name: 'two', module: 'core', action: 'echo', parameters: { value: '{{one.output}}' }, dependencies: ['one'] },
      ],
    });
    const run = await a.workflows.executeWorkflow('pair');
    expect(run.status).toBe('succeeded');
    await a.shutdown();

    const b = engineOn(url);
    await b.ready();
    expect((await b.workflows.getRun(run.runId))?.status).toBe('succeeded');
    expect(await b.getTaskOrchestrator().getTask('sum')).toMatchObject({ status: 'completed' });
    expect((await b.workflows.executeWorkflow('pair')).steps['two']?.result).toBe(1);
  });

  it('hands unfinished tasks to the next engine, which resumes them', async () => {
    const url = await server.createDatabase();
    const a = engineOn(url);
    const orch = a.getTaskOrchestrator();
    const first = await orch.addTask({ id: 'one', module: 'core', action: 'echo', parameters: { value: 1 } });
    await orch.addTasks([
      { id: 'two', module: 'core', action: 'echo', parameters: { value: 2 }, dependencies: [first] },
    ]);
    await a.shutdown();

    const b = engineOn(url);
    await b.ready();
    const summary = await b.getTaskOrchestrator().startExecution();
    expect(summary.results.map((r) => [r.taskId, r.status, r.result])).toEqual([
      ['one', 'completed', 1],
      ['two', 'completed', 2],
    ]);
  });
});

describe('the database restarted under a running engine', () => {
  it('keeps what was acknowledged, refuses work while it is down naming the database, and runs new work once it is back', async () => {
    const url = await server.createDatabase();
    const engine = engineOn(url);
    const orch = engine.getTaskOrchestrator();
    expect(
      (await orch.executeTask({ id: 'before', module: 'core', action: 'echo', parameters: { value: 'kept' } })).status,
    ).toBe('completed');

    await server.stop('fast');
    // Refused, not acknowledged and lost: the error names the database (without its password) and the cause.
    await expect(
      orch.executeTask({ id: 'during', module: 'core', action: 'echo', parameters: { value: 'late' } }),
    ).rejects.toThrow(
      /could not (read from|write to) the database postgres:\/\/postgres@127\.0\.0\.1:\d+\/\w+: connect ECONNREFUSED/,
    );
    const health = await engine.healthCheck();
    expect(health.overallStatus).toBe('unhealthy');
    expect(health.components['store']?.detail).toMatch(/refuses writes/);

    // pg_ctl start returns once the server accepts connections: the very next write goes through (a write that
    // failed while it was down does not fail the ones after it).
    await server.start();
    expect(
      (await orch.executeTask({ id: 'after', module: 'core', action: 'echo', parameters: { value: 'back' } })).result,
    ).toBe('back');
    expect((await engine.healthCheck()).components['store']?.status).toBe('healthy');
    expect(
      await query<{ id: string; status: string }>(url, `SELECT id, status FROM codomyrmex_tasks ORDER BY id`),
    ).toEqual([
      { id: 'after', status: 'completed' },
      { id: 'before', status: 'completed' },
    ]);
  }, 60_000);
});

describe('choosing the postgres store', () => {
  const url = 'postgres://u:secret@db.example:5432/cx';
  it('by kind and URL, by a URL given as the database, or by CODOMYRMEX_DATABASE_URL where the default is durable', () => {
    expect(compileOptions({ store: { kind: 'postgres', url } }, {}).postgres).toEqual({
      url,
      migrate: true,
      leaseTtlMs: 10_000,
    });
    expect(compileOptions({ store: 'postgres', dbPath: url }, {}).store).toBe('postgres');
    expect(compileOptions({ dbPath: url }, {}).store).toBe('postgres');
    expect(compileOptions({}, { CODOMYRMEX_DATABASE_URL: url }, { store: 'sqlite' }).postgres?.url).toBe(url);
    // Engines made in code stay in memory unless they ask.
    expect(compileOptions({}, { CODOMYRMEX_DATABASE_URL: url }).store).toBe('memory');
    expect(compileOptions({ store: 'postgres' }, { CODOMYRMEX_DATABASE_URL: url }).postgres?.url).toBe(url);
  });

  it('refuses a postgres store without a URL, and a URL given to the sqlite store, naming the fix', () => {
    expect(() => compileOptions({ store: 'postgres' }, {})).toThrow(
      /needs a database URL: --db postgres:\/\/.*CODOMYRMEX_DATABASE_URL/,
    );
    expect(() => compileOptions({ store: 'sqlite', dbPath: url }, {})).toThrow(
      /is a PostgreSQL URL, but the store is sqlite: use --store postgres/,
    );
    expect(() => compileOptions({ store: 'sqlite', dbPath: url }, {})).not.toThrow(/secret/);
    expect(() => compileOptions({ store: { kind: 'postgres', url: 'mysql://x' } }, {})).toThrow(
      /store.*PostgreSQL URL/,
    );
  });
});
