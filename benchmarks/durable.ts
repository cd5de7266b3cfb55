/**
 * `npm run bench:durable`: what durability costs. In one run, on the same machine:
 *   - no-op task throughput (tasks/s) with the in-memory store, SQLite strict and relaxed, and PostgreSQL strict and
 *     relaxed (a throwaway local cluster started here, fsync on; skipped when PostgreSQL is not installed);
 *   - a 1,000-task dependency chain (each task depends on the previous one), time per step, through the task
 *     orchestrator's dependencies: the scheduling path a workflow's steps take, minus templating and run records
 *     (`bench:workflows` times a 1,000-step workflow);
 *   - one executeTask at a time (the latency a caller sees, acknowledgement included), ms per call;
 *   - BullMQ 5 on a local Redis (started here on a loopback port: append-only file fsynced `always`, `everysec`,
 *     and no persistence), when `redis-server` and the `bullmq` package are both present (skipped otherwise). Its chain is a
 *     flow nested as deep as the chain is long.
 * During the throughput rounds it also records the longest event-loop stall (what a slow commit would cost the
 * engine's timers and I/O). Prints a table and writes JSON to benchmarks/results/durable-<timestamp>.json.
 *
 * Flags: --tasks N (default 20000), --chain N (default 1000), --rounds N (default 5; the best round of each store is reported),
 * --sequential N (default 500), --only TEXT[,TEXT...] (only the stores whose name contains one of them; BullMQ is
 * "BullMQ").
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineOptions, OrchestrationEngine, TaskInput } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import { BullContender, bullmqMissing } from './bullmq.js';
import { postgresMissing, startPostgres } from '../test/support/postgres.js';
import type { TestPostgres } from '../test/support/postgres.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

const TASKS = flag('tasks', 20_000);
const CHAIN = flag('chain', 1000);
const ROUNDS = flag('rounds', 5);
const SEQUENTIAL = flag('sequential', 500);
const BASE: EngineOptions = { concurrentTasksPerWorker: 16, agingMs: 0 };

interface Config {
  name: string;
  options: EngineOptions;
  /** On a new database of the local PostgreSQL cluster. */
  postgres?: boolean;
}

const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i >= 0 ? (process.argv[i + 1] ?? '') : '';
})();

const ALL_CONFIGS: Config[] = [
  { name: 'memory', options: { store: 'memory' } },
  { name: 'memory, one task per dispatch', options: { store: 'memory', batchDispatch: false } },
  { name: 'sqlite strict', options: { store: 'sqlite', durability: 'strict' } },
  {
    name: 'sqlite strict, one task per dispatch',
    options: { store: 'sqlite', durability: 'strict', batchDispatch: false },
  },
  { name: 'sqlite strict, writes in-thread', options: { store: 'sqlite', durability: 'strict', writerThread: false } },
  { name: 'sqlite relaxed', options: { store: 'sqlite', durability: 'relaxed' } },
  { name: 'sqlite strict, no journal', options: { store: 'sqlite', durability: 'strict', journalMaxEvents: 0 } },
  { name: 'postgres strict', options: { durability: 'strict' }, postgres: true },
  { name: 'postgres relaxed', options: { durability: 'relaxed' }, postgres: true },
];
const PG_MISSING = postgresMissing();
/** `--only a,b`: the contenders whose name contains any of the comma-separated texts. */
const picked = (name: string): boolean => ONLY.split(',').some((part) => name.includes(part.trim()));
const CONFIGS = ALL_CONFIGS.filter((c) => picked(c.name) && !(c.postgres && PG_MISSING));

interface Row {
  config: string;
  tasksPerSec: number;
  chainMsPerStep: number;
  /** One `executeTask` at a time: the latency a caller sees, acknowledgement included. */
  executeMs: number;
  /** Commits per round and rows per commit (the engine's group committer; null for BullMQ). */
  commits: number | null;
  avgBatch: number | null;
  /** Longest event-loop stall during the throughput rounds, ms (null for BullMQ). */
  loopMaxMs: number | null;
}

/** Resolves once `n` tasks have completed (fails on the first task that does not). */
function completions(engine: OrchestrationEngine, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const offs = [
      engine.registerEventHandler('task_completed', () => {
        if (++done === n) {
          for (const off of offs) off();
          resolve();
        }
      }),
      engine.registerEventHandler('task_failed', (_e, data) =>
        reject(new Error(`task ${data.taskId} failed: ${data.error.message}`)),
      ),
    ];
  });
}

/**
 * Adds the tasks (in calls of 1000) with dispatching on, and waits until all completed and, with a durable store,
 * until the last of them is committed. Returns the elapsed ms.
 */
async function timeRun(engine: OrchestrationEngine, tasks: TaskInput[]): Promise<number> {
  const orch = engine.getTaskOrchestrator();
  const done = completions(engine, tasks.length);
  const t0 = performance.now();
  for (let i = 0; i < tasks.length; i += 1000) await orch.addTasks(tasks.slice(i, i + 1000));
  await done;
  await engine.flush();
  return performance.now() - t0;
}

interface Running {
  config: Config;
  engine: OrchestrationEngine;
  best: { tasksPerSec: number; chainMsPerStep: number; executeMs: number };
  /** The longest event-loop stall seen during the throughput rounds (the worst round's max). */
  loopMaxMs: number;
  commitsBefore: { commits: number; written: number };
  commitsAfter: { commits: number; written: number };
}

async function start(config: Config, dir: string, cluster: TestPostgres | null): Promise<Running> {
  const dbPath = join(dir, `${config.name.replace(/[^a-z]+/g, '-')}.db`);
  const where: EngineOptions =
    config.postgres && cluster
      ? { store: { kind: 'postgres', url: await cluster.createDatabase() } }
      : config.options.store === 'sqlite'
        ? { dbPath }
        : {};
  const engine = createOrchestrationEngine({ ...BASE, ...config.options, ...where });
  await engine.ready();
  const orch = engine.getTaskOrchestrator();
  // Warm up threads, JIT and SQLite's page cache; turns dispatching on for the timed runs.
  await orch.addTasks(Array.from({ length: 2000 }, (): TaskInput => ({ module: 'core', action: 'noop' })));
  await orch.startExecution();
  const stats = engine.commits.stats();
  return {
    config,
    engine,
    best: { tasksPerSec: 0, chainMsPerStep: Infinity, executeMs: Infinity },
    loopMaxMs: 0,
    commitsBefore: stats,
    commitsAfter: stats,
  };
}

async function throughputRound(r: Running, round: number): Promise<void> {
  const tasks = Array.from({ length: TASKS }, (_, i): TaskInput => ({
    id: `r${round}-${i}`,
    module: 'core',
    action: 'noop',
  }));
  const before = r.engine.commits.stats();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const tasksPerSec = (TASKS / (await timeRun(r.engine, tasks))) * 1000;
  delay.disable();
  r.loopMaxMs = Math.max(r.loopMaxMs, delay.max / 1e6);
  const after = r.engine.commits.stats();
  r.commitsAfter = {
    commits: r.commitsAfter.commits + after.commits - before.commits,
    written: r.commitsAfter.written + after.written - before.written,
  };
  r.best.tasksPerSec = Math.max(r.best.tasksPerSec, tasksPerSec);
}

async function chainRound(r: Running, round: number): Promise<void> {
  const chain = Array.from({ length: CHAIN }, (_, i): TaskInput => ({
    id: `c${round}-${i}`,
    module: 'core',
    action: 'noop',
    dependencies: i === 0 ? [] : [`c${round}-${i - 1}`],
  }));
  r.best.chainMsPerStep = Math.min(r.best.chainMsPerStep, (await timeRun(r.engine, chain)) / CHAIN);
}

async function executeRound(r: Running): Promise<void> {
  const orch = r.engine.getTaskOrchestrator();
  const t0 = performance.now();
  for (let i = 0; i < SEQUENTIAL; i++) await orch.executeTask({ module: 'core', action: 'noop' });
  r.best.executeMs = Math.min(r.best.executeMs, (performance.now() - t0) / SEQUENTIAL);
}

function rowOf(r: Running): Row {
  const commits = r.commitsAfter.commits - r.commitsBefore.commits;
  const written = r.commitsAfter.written - r.commitsBefore.written;
  return {
    config: r.config.name,
    tasksPerSec: Math.round(r.best.tasksPerSec),
    chainMsPerStep: Number(r.best.chainMsPerStep.toFixed(3)),
    executeMs: Number(r.best.executeMs.toFixed(3)),
    commits: Math.round(commits / ROUNDS),
    avgBatch: commits ? Math.round(written / commits) : 0,
    loopMaxMs: Number(r.loopMaxMs.toFixed(1)),
  };
}

function table(rows: Row[]): string {
  const head = [
    'store',
    'no-op tasks/s',
    'chain ms/step',
    'executeTask ms',
    'commits/round',
    'rows/commit',
    'max loop stall ms',
  ];
  const body = rows.map((r) => [
    r.config,
    String(r.tasksPerSec),
    r.chainMsPerStep.toFixed(3),
    r.executeMs.toFixed(3),
    String(r.commits ?? '-'),
    String(r.avgBatch ?? '-'),
    r.loopMaxMs === null ? '-' : r.loopMaxMs.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-bench-'));
  const running: Running[] = [];
  const cluster = CONFIGS.some((c) => c.postgres) ? await startPostgres({ fsync: true }) : null;
  const missing = bullmqMissing();
  const bulls =
    missing || !ONLY.split(',').some((part) => 'BullMQ'.includes(part.trim()))
      ? []
      : [new BullContender('always'), new BullContender('everysec'), new BullContender('off')];
  try {
    for (const config of CONFIGS) running.push(await start(config, dir, cluster));
    for (const b of bulls) await b.start();
    // Rounds go round-robin over the contenders, so a burst of load on a shared machine hits them all alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of running) await throughputRound(r, round);
      for (const b of bulls) await b.throughputRound(TASKS);
      for (const r of running) await chainRound(r, round);
      for (const b of bulls) await b.chainRound(CHAIN);
      for (const r of running) await executeRound(r);
      for (const b of bulls) await b.executeRound(SEQUENTIAL);
      process.stdout.write(`round ${round + 1}/${ROUNDS} done\n`);
    }
  } finally {
    await Promise.all(running.map((r) => r.engine.shutdown({ graceMs: 1000 })));
    await Promise.allSettled(bulls.map((b) => b.stop()));
    await cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = running.map(rowOf);
  for (const b of bulls) {
    rows.push({
      config: b.name,
      tasksPerSec: Math.round(b.best.tasksPerSec),
      chainMsPerStep: Number(b.best.chainMsPerStep.toFixed(3)),
      executeMs: Number(b.best.executeMs.toFixed(3)),
      commits: null,
      avgBatch: null,
      loopMaxMs: null,
    });
  }
  console.log(
    `\nno-op tasks: ${TASKS} per round, best of ${ROUNDS}; chain: ${CHAIN} dependent tasks; executeTask: ${SEQUENTIAL} in a row; ${availableParallelism()} threads x 16 tasks each`,
  );
  console.log(`database folder: ${tmpdir()} (fsync per commit in strict mode)`);
  if (bulls[0])
    console.log(
      `BullMQ: ${bulls[0].version}; worker concurrency 50 in this thread; chain = a flow nested ${CHAIN} deep`,
    );
  console.log('');
  console.log(table(rows));
  const skipped = missing ?? (bulls.length === 0 ? `not selected (--only ${ONLY})` : null);
  if (skipped) console.log(`\nBullMQ: skipped: ${skipped}`);
  if (PG_MISSING) console.log(`\nPostgreSQL: skipped: ${PG_MISSING}`);
  else if (cluster)
    console.log('PostgreSQL: a local cluster on loopback, fsync on, synchronous_commit on (strict) / off (relaxed)');
  for (const b of bulls) if (b.best.chainNote) console.log(`${b.name}: ${b.best.chainNote}`);
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    threads: availableParallelism(),
    tasks: TASKS,
    chain: CHAIN,
    rounds: ROUNDS,
    sequential: SEQUENTIAL,
    loadAverage: loadavg(),
    rows,
    bullmq: skipped
      ? { skipped }
      : { version: bulls[0]?.version, notes: bulls.map((b) => b.best.chainNote).filter(Boolean) },
  };
  const resultsDir = fileURLToPath(new URL('../../benchmarks/results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `durable-${out.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

await main();
