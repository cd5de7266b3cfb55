/**
 * Real crashes: a child process (test/fixtures/crashChild.ts, run from dist/) works on a SQLite database in strict
 * mode and is killed with SIGKILL at a moment it announces; then this process opens the same database.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BusEvent, OrchestrationEngine, TaskResult } from '../../src/index.js';
import { createOrchestrationEngine, ErrorCode, SqliteStore, StoreError } from '../../src/index.js';
import type { ProbeLine } from '../fixtures/modules/probe.js';
import { crashScenario, crashWorkflow, FAST_IDS } from '../fixtures/scenario.js';
import { tempDirs } from './helpers.js';

const DIST = fileURLToPath(new URL('../../dist/test/fixtures/', import.meta.url));
const CHILD = join(DIST, 'crashChild.js');
const MODULES = join(DIST, 'modules');

const dirs = tempDirs();
const engines: OrchestrationEngine[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(engines.splice(0).map((e) => e.shutdown({ graceMs: 0 })));
});
afterAll(() => dirs.cleanup());

/** Starts the child and hands each stdout line to `onLine`; resolves with every line once the child is gone. */
function runChild(
  args: string[],
  onLine: (line: string, child: ChildProcess) => void,
): { child: ChildProcess; lines: Promise<string[]>; stderr: () => string } {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const all: string[] = [];
  const rl = createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    all.push(line);
    onLine(line, child);
  });
  const lines = new Promise<string[]>((resolve) => child.on('close', () => resolve(all)));
  return { child, lines, stderr: () => err };
}

function probeLines(log: string): ProbeLine[] {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ProbeLine);
}

function engineOn(dbPath: string): OrchestrationEngine {
  const engine = createOrchestrationEngine({
    store: 'sqlite',
    dbPath,
    durability: 'strict',
    threads: 2,
    moduleDirs: [MODULES],
  });
  engines.push(engine);
  return engine;
}

describe('crash recovery (SIGKILL)', () => {
  it('resumes a workflow killed mid-run: finished steps keep their outputs and are not re-run; the result matches an uninterrupted run', async () => {
    const dir = dirs.make('crash-wf');
    const db = join(dir, 'state.db');
    const log = join(dir, 'probe.log');
    let runId = '';
    const { child, lines, stderr } = runChild(['workflow', db, log, MODULES], (line, c) => {
      if (line.startsWith('run ')) runId = line.slice(4);
      if (line === 'slow-running') c.kill('SIGKILL');
    });
    await lines;
    expect(child.signalCode, `child stderr: ${stderr()}`).toBe('SIGKILL');
    const beforeKill = probeLines(log).map((l) => `${l.taskId.split('.')[1]}#${l.attempt}`);
    // The child is killed once "side" has finished and "slow" runs (see crashChild.ts).
    expect(beforeKill).toEqual(expect.arrayContaining(['prepare#1', 'side#1', 'slow#1']));
    expect(beforeKill).not.toContain('report#1');

    // A new engine on the same database resumes the run by itself.
    const engine = createOrchestrationEngine({
      store: 'sqlite',
      dbPath: db,
      durability: 'strict',
      threads: 2,
      moduleDirs: [MODULES],
      workflowDirs: [],
    });
    engines.push(engine);
    const events: BusEvent[] = [];
    engine.bus.events$().subscribe((e) => events.push(e));
    const result = await engine.workflows.waitForRun(runId);
    expect(result.status).toBe('succeeded');
    const recovery = events.find((e) => e.type === 'recovery' && e.data.component === 'workflowManager');
    expect(recovery?.data).toMatchObject({ resumed: 1, ids: [runId] });

    // Finished steps ran once (in the child); the running one ran again, seeing attempt 2; the rest ran once.
    const ran = probeLines(log).map((l) => `${l.taskId.split('.')[1]}#${l.attempt}`);
    const runsOf = (step: string): string[] => ran.filter((r) => r.startsWith(`${step}#`)).sort();
    expect(runsOf('prepare')).toEqual(['prepare#1']);
    expect(runsOf('slow')).toEqual(['slow#1', 'slow#2']);
    expect(runsOf('report')).toEqual(['report#1']);
    // "side" finished before the kill: it is not run again.
    expect(runsOf('side')).toEqual(['side#1']);
    expect(result.steps['slow']?.attempts).toBe(2);

    // The same outputs as an uninterrupted run of the same definition.
    const fresh = createOrchestrationEngine({ threads: 2, moduleDirs: [MODULES], workflowDirs: [] });
    engines.push(fresh);
    await fresh.workflows.defineWorkflow(crashWorkflow(join(dir, 'fresh.log'), 0));
    const uninterrupted = await fresh.workflows.executeWorkflow('crashy');
    const outputs = (r: typeof result): Record<string, unknown> =>
      Object.fromEntries(Object.entries(r.steps).map(([k, v]) => [k, [v.status, v.result]]));
    expect(outputs(result)).toEqual(outputs(uninterrupted));
    expect(outputs(result)['report']).toEqual(['completed', 'slow gave 3 for a.ts']);
    // The run is durable: a later engine reads it back finished.
    expect((await engine.workflows.getRun(runId))?.status).toBe('succeeded');
  });

  it('resumes after a kill mid-run: finished tasks are not re-run, the running one runs again, results match an uninterrupted run', async () => {
    const dir = dirs.make('crash');
    const db = join(dir, 'state.db');
    const log = join(dir, 'probe.log');
    const fast = new Set(FAST_IDS);
    let lockError: unknown = null;
    let slowRunning = false;
    const { child, lines, stderr } = runChild(['scenario', db, log, MODULES], (line, c) => {
      if (line === 'added') {
        // While the child runs, a second engine on its database is refused.
        try {
          engines.push(createOrchestrationEngine({ store: 'sqlite', dbPath: db }));
        } catch (err) {
          lockError = err;
        }
      }
      const [word, id] = line.split(' ');
      if (word === 'acked' && id) fast.delete(id);
      if (line === 'slow-running') slowRunning = true;
      // Every fast result acknowledged, the slow task running: kill now.
      if (fast.size === 0 && slowRunning) c.kill('SIGKILL');
    });
    const printed = await lines;
    expect(child.signalCode, `child stderr: ${stderr()}`).toBe('SIGKILL');
    expect(printed.filter((l) => l.startsWith('acked'))).toHaveLength(FAST_IDS.length);
    expect(lockError).toBeInstanceOf(StoreError);
    expect((lockError as StoreError).code).toBe(ErrorCode.STORE_LOCKED);
    expect((lockError as StoreError).message).toContain(db);
    expect((lockError as StoreError).message).toContain(`pid ${child.pid}`);

    const beforeRestart = probeLines(log);
    expect(beforeRestart.filter((l) => l.taskId === 'slow').map((l) => l.attempt)).toEqual([1]);

    // A new engine (this process) opens the same database: the kernel released the dead child's lock.
    const engine = engineOn(db);
    const events: BusEvent[] = [];
    engine.bus.events$().subscribe((e) => events.push(e));
    const orch = engine.getTaskOrchestrator();
    const [slow, after] = await Promise.all([orch.waitForTask('slow'), orch.waitForTask('after-slow')]);
    expect(slow).toMatchObject({ status: 'completed', result: 'slow-done', attempts: 2 });
    expect(after).toMatchObject({ status: 'completed', result: 'after', attempts: 1 });

    const recovery = events.find((e) => e.type === 'recovery' && e.data.component === 'taskOrchestrator');
    expect(recovery?.data).toMatchObject({
      component: 'taskOrchestrator',
      store: db,
      resumed: 2,
      rerun: ['slow'],
      executing: true,
    });
    expect((recovery?.data as { byStatus: Record<string, number> }).byStatus).toEqual({ running: 1, pending: 1 });

    // Every finished task ran exactly once, in the child; the slow one ran twice and saw its re-run.
    const ran = probeLines(log);
    for (const id of FAST_IDS)
      expect(
        ran.filter((l) => l.taskId === id),
        id,
      ).toHaveLength(1);
    expect(ran.filter((l) => l.taskId === 'slow')).toEqual([
      { taskId: 'slow', attempt: 1, idempotencyKey: 'key-slow' },
      { taskId: 'slow', attempt: 2, idempotencyKey: 'key-slow' },
    ]);
    expect(ran.filter((l) => l.taskId === 'after-slow')).toHaveLength(1);
    const started = events.filter((e) => e.type === 'task_started').map((e) => (e.data as { taskId: string }).taskId);
    expect(started.sort()).toEqual(['after-slow', 'slow']);
    for (const id of FAST_IDS) expect(await orch.getTask(id)).toMatchObject({ status: 'completed', attempts: 1 });

    // The same tasks, uninterrupted, in a fresh database: the same outcome.
    const refDir = dirs.make('crash-ref');
    const ref = engineOn(join(refDir, 'state.db'));
    const refOrch = ref.getTaskOrchestrator();
    await refOrch.addTasks(crashScenario(join(refDir, 'probe.log'), 10));
    const refResults = (await refOrch.startExecution()).results;
    const outcome = (r: TaskResult): unknown => [r.taskId, r.status, r.result];
    const recovered = await Promise.all(refResults.map((r) => orch.waitForTask(r.taskId)));
    expect(recovered.map(outcome)).toEqual(refResults.map(outcome));
  });

  it('strict mode never acknowledges a result that a crash then loses', async () => {
    const dir = dirs.make('acks');
    const db = join(dir, 'state.db');
    let done = 0;
    const { child, lines, stderr } = runChild(['acks', db], (line, c) => {
      if (line.startsWith('done ') && ++done === 300) c.kill('SIGKILL');
    });
    const printed = await lines;
    expect(child.signalCode, `child stderr: ${stderr()}`).toBe('SIGKILL');
    const acked = printed.filter((l) => l.startsWith('done ')).map((l) => l.split(' ')[1]!);
    const added = printed.filter((l) => l.startsWith('added ')).map((l) => l.split(' ')[1]!);
    expect(acked.length).toBeGreaterThanOrEqual(300);
    expect(added.length).toBeGreaterThan(0);

    const store = SqliteStore.open({ path: db, readonly: true });
    try {
      for (const id of acked) {
        const t = store.getTask(id);
        expect(t?.status, id).toBe('completed');
        expect(t?.result.result, id).toBe(id);
      }
      for (const id of added) expect(store.getTask(id), id).toBeDefined();
      // The kill did land mid-flight: the database also holds work that was never acknowledged.
      const unacked = store
        .listTasks()
        .filter((t) => t.spec.id !== 'blocker' && !acked.includes(t.spec.id) && !added.includes(t.spec.id));
      expect(unacked.length).toBeGreaterThan(0);
    } finally {
      store.close();
    }
  });
});
