/**
 * Console benchmark: what the console and its API cost, on this machine.
 *
 *  1. runs list: `GET /api/v1/runs` with 100,000 runs stored (written straight into the SQLite file, then an engine
 *     opened on it): the first page, a status filter, a workflow filter, a page 1,000 runs deep (cursor), a time
 *     range. Median of BENCH_REPEATS requests each.
 *  2. big run: a 2,000-step fan-out (one root, 1,998 parallel `core.noop` steps, one join) run to its end, then opened
 *     in headless Chromium (`/usr/bin/chromium`): time from navigation until every step node is drawn (dagre layout
 *     included), and the layout alone as the page measures it.
 *  3. live followers: no-op task throughput (BENCH_TASKS tasks, `addTasks` + `startExecution`) with 0 and with 50 SSE
 *     clients following `/api/v1/events` (in a child process, reading every frame), alternated, medians compared.
 *
 * Run: `npm run bench:console`. Env: BENCH_RUNS (100000), BENCH_FAN (2000), BENCH_TASKS (20000), BENCH_FOLLOWERS (50),
 * BENCH_REPEATS (5), BENCH_CASES (list,big,live). Writes benchmarks/results/console-<timestamp>.json and console-latest.json.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine, SqliteStore } from '../src/index.js';
import type { RecordWrite } from '../src/store/store.js';
import Database from 'better-sqlite3';
import { envInt, log, median, round, writeResults } from './support.js';

const RUNS = envInt('BENCH_RUNS', 100_000);
const FAN = envInt('BENCH_FAN', 2000);
const TASKS = envInt('BENCH_TASKS', 20_000);
const FOLLOWERS = envInt('BENCH_FOLLOWERS', 50, 0);
const REPEATS = envInt('BENCH_REPEATS', 5);
const CASES = (process.env['BENCH_CASES'] ?? 'list,big,live').split(',');

/** An engine on the SQLite file `dbPath`, its HTTP edge (API and console) on a free port. */
function httpEngine(dbPath: string, threads: number): OrchestrationEngine {
  return createOrchestrationEngine({ store: 'sqlite', dbPath, threads, workflowDirs: [], http: { port: 0 } });
}

async function timeGet(url: string): Promise<{ ms: number; count: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = (await res.json()) as { ok: boolean; result: { runs: unknown[] } };
  const ms = performance.now() - t0;
  if (!body.ok) throw new Error(`${url}: ${JSON.stringify(body)}`);
  return { ms, count: body.result.runs.length };
}

/** Case 1: writes RUNS finished runs of 4 workflows straight into a fresh SQLite file. */
function seedRuns(dbPath: string): string {
  const store = SqliteStore.open({ path: dbPath, writerThread: false, durability: 'relaxed' });
  const workflow = {
    name: 'w0',
    description: '',
    version: '1',
    hash: 'x',
    steps: [{ name: 'a', module: 'core', action: 'noop' }],
    parallelGroups: null,
    params: {},
    metadata: {},
    createdAt: Date.now(),
    source: null,
  };
  const statuses = ['succeeded', 'succeeded', 'succeeded', 'failed', 'cancelled'] as const;
  const t0 = Date.now() - RUNS * 1000;
  let deep = '';
  for (let from = 0; from < RUNS; from += 10_000) {
    const records: RecordWrite[] = [];
    for (let i = from; i < Math.min(RUNS, from + 10_000); i++) {
      const name = `w${i % 4}`;
      const status = statuses[i % statuses.length]!;
      const runId = `run-${String(i).padStart(7, '0')}`;
      if (i === RUNS - 1000) deep = runId;
      const startedAt = t0 + i * 1000;
      const step = {
        step: 'a',
        taskId: `${runId}.a`,
        name: 'a',
        status: status === 'succeeded' ? 'completed' : 'failed',
        success: status === 'succeeded',
        result: null,
        error: null,
        attempts: 1,
        startedAt,
        endedAt: startedAt + 5,
        durationMs: 5,
      };
      const run = {
        success: status === 'succeeded',
        status,
        workflowName: name,
        runId,
        version: '1',
        hash: 'x',
        steps: { a: step },
        durationMs: 5,
        warnings: [],
        params: {},
        sessionId: null,
        startedAt,
        endedAt: startedAt + 5,
      };
      records.push({
        kind: 'workflow_runs',
        id: runId,
        parent: name,
        status,
        data: { run, workflow: { ...workflow, name } },
      });
    }
    if (from === 0)
      for (let w = 0; w < 4; w++)
        records.push({
          kind: 'workflow_definitions',
          id: `w${w}@1`,
          parent: `w${w}`,
          status: null,
          data: { ...workflow, name: `w${w}` },
        });
    store.commit({ tasks: [], events: [], records, meta: {} });
  }
  store.close();
  // As if the runs had started one a second (the store stamps a record with the time it is first written).
  const db = new Database(dbPath);
  db.prepare(`UPDATE workflow_runs SET created_at = ? + (CAST(substr(id, 5) AS INTEGER) * 1000)`).run(t0);
  db.close();
  return deep;
}

async function runsList(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(os.tmpdir(), 'codomyrmex-bench-console-'));
  try {
    const dbPath = join(dir, 'state.db');
    const t0 = performance.now();
    const deep = seedRuns(dbPath);
    log(`seeded ${RUNS} runs in ${Math.round(performance.now() - t0)} ms`);
    const engine = httpEngine(dbPath, 1);
    await engine.ready();
    try {
      const base = `${engine.httpAddress!.url}/api/v1/runs`;
      const now = Date.now();
      const cases: [string, string][] = [
        ['first page (50)', `${base}?limit=50`],
        ['status=failed', `${base}?status=failed&limit=50`],
        ['workflow=w2', `${base}?workflow=w2&limit=50`],
        ['1,000 runs deep (cursor)', `${base}?after=${deep}&limit=50`],
        [
          'time range (an hour, mid-history)',
          `${base}?from=${now - (RUNS / 2) * 1000 - 3_600_000}&to=${now - (RUNS / 2) * 1000}&limit=50`,
        ],
        ['oldest page (cursor near the end)', `${base}?after=run-0000100&limit=50`],
      ];
      const out: Record<string, unknown> = {};
      for (const [name, url] of cases) {
        await timeGet(url); // warm
        const times: number[] = [];
        let count = 0;
        for (let i = 0; i < REPEATS; i++) {
          const r = await timeGet(url);
          times.push(r.ms);
          count = r.count;
        }
        out[name] = { medianMs: round(median(times), 1), maxMs: round(Math.max(...times), 1), runs: count };
        log(`  ${name.padEnd(36)} ${round(median(times), 1)} ms (max ${round(Math.max(...times), 1)}), ${count} runs`);
      }
      return { runsStored: RUNS, cases: out };
    } finally {
      await engine.shutdown({ graceMs: 0 });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function bigRun(): Promise<Record<string, unknown>> {
  // Loaded here: playwright-core only when this case runs.
  const { CHROMIUM, haveChromium, launchBrowser } = await import('../test/support/browser.js');
  if (!haveChromium()) {
    log(`no ${CHROMIUM}: big-run case skipped`);
    return { skipped: `no ${CHROMIUM}` };
  }
  const dir = await mkdtemp(join(os.tmpdir(), 'codomyrmex-bench-console-'));
  const engine = httpEngine(join(dir, 'state.db'), 2);
  const browser = await launchBrowser({ width: 1280, height: 800 });
  try {
    await engine.ready();
    const steps = [{ name: 'root', module: 'core', action: 'noop' }];
    for (let i = 0; i < FAN - 2; i++)
      steps.push({ name: `s${i}`, module: 'core', action: 'noop', dependencies: ['root'] } as never);
    steps.push({
      name: 'join',
      module: 'core',
      action: 'noop',
      dependencies: steps.slice(1).map((s) => s.name),
    } as never);
    await engine.bus.request('workflow.create', { definition: { name: 'fan', steps } });
    const runId = await engine.workflows.startWorkflow('fan');
    await engine.workflows.waitForRun(runId);
    await engine.flush();
    const times: number[] = [];
    for (let i = 0; i < Math.min(REPEATS, 3); i++) {
      const page = await browser.page();
      const t0 = performance.now();
      await page.goto(`${engine.httpAddress!.url}/runs/${runId}`);
      await page.waitForSelector('[data-step="join"][data-status="completed"]', { timeout: 60_000 });
      times.push(performance.now() - t0);
      const nodes = await page.locator('[data-step]').count();
      if (nodes !== FAN) throw new Error(`drew ${nodes} steps, expected ${FAN}`);
      await page.close();
    }
    log(`  ${FAN}-step run opened and laid out: ${round(median(times))} ms (median of ${times.length})`);
    return { steps: FAN, openMs: round(median(times)), samplesMs: times.map((t) => round(t)) };
  } finally {
    await browser.close();
    await engine.shutdown({ graceMs: 0 });
    await rm(dir, { recursive: true, force: true });
  }
}

/** Starts FOLLOWERS SSE readers in a child process; resolves once all are connected, with a stop function. */
async function followers(url: string, n: number): Promise<{ stop: () => Promise<number> }> {
  const child = fork(fileURLToPath(new URL('./consoleFollowers.js', import.meta.url)), [url, String(n)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`followers exited ${code}`)));
  });
  return {
    stop: () =>
      new Promise<number>((resolve) => {
        child.once('message', (m) => {
          resolve((m as { frames: number }).frames);
          child.kill();
        });
        child.send('stop');
      }),
  };
}

async function throughput(engine: OrchestrationEngine): Promise<number> {
  const tasks = Array.from({ length: TASKS }, () => ({ module: 'core', action: 'noop' }));
  const t0 = performance.now();
  await engine.tasks.addTasks(tasks);
  await engine.tasks.startExecution();
  return TASKS / ((performance.now() - t0) / 1000);
}

async function liveFollowers(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(os.tmpdir(), 'codomyrmex-bench-console-'));
  const engine = httpEngine(join(dir, 'state.db'), 2);
  try {
    await engine.ready();
    await throughput(engine); // warm
    const without: number[] = [];
    const withF: number[] = [];
    let frames = 0;
    for (let i = 0; i < REPEATS; i++) {
      without.push(await throughput(engine));
      const f = await followers(`${engine.httpAddress!.url}/api/v1/events`, FOLLOWERS);
      withF.push(await throughput(engine));
      await engine.flush();
      frames += await f.stop();
    }
    const a = median(without);
    const b = median(withF);
    log(
      `  no-op tasks/s: ${round(a)} without followers, ${round(b)} with ${FOLLOWERS} SSE followers (${round((1 - b / a) * 100, 1)}% slower); ${frames} frames delivered`,
    );
    return {
      tasks: TASKS,
      followers: FOLLOWERS,
      tasksPerSecWithout: round(a),
      tasksPerSecWith: round(b),
      slowdownPct: round((1 - b / a) * 100, 1),
      framesDelivered: frames,
      samplesWithout: without.map((x) => round(x)),
      samplesWith: withF.map((x) => round(x)),
    };
  } finally {
    await engine.shutdown({ graceMs: 0 });
    await rm(dir, { recursive: true, force: true });
  }
}

log(`bench:console on ${os.cpus().length} cores, Node ${process.version}`);
log('1. runs list');
const list = CASES.includes('list') ? await runsList() : { skipped: 'BENCH_CASES' };
log('2. big run in Chromium');
const big = CASES.includes('big') ? await bigRun() : { skipped: 'BENCH_CASES' };
log('3. live followers');
const live = CASES.includes('live') ? await liveFollowers() : { skipped: 'BENCH_CASES' };
const files = writeResults('console', {
  date: new Date().toISOString(),
  node: process.version,
  cores: os.cpus().length,
  runsList: list,
  bigRun: big,
  liveFollowers: live,
});
log(`wrote ${files.join(', ')}`);
