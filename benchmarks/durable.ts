/**
 * `npm run bench:durable`: what durability costs. In one run, on the same machine:
 *   - no-op task throughput (tasks/s) with the in-memory store, SQLite strict and SQLite relaxed;
 *   - a 1,000-task dependency chain (each task depends on the previous one), time per step. Workflows are not in
 *     this build yet, so the chain goes through the task orchestrator's dependencies: the same scheduling path a
 *     workflow's steps take, minus templating;
 *   - one executeTask at a time (the latency a caller sees, acknowledgement included), ms per call;
 *   - BullMQ on a local Redis, when `redis-server` and the `bullmq` package are both present (skipped otherwise).
 * Prints a table and writes JSON to benchmarks/results/durable-<timestamp>.json.
 *
 * Flags: --tasks N (default 20000), --chain N (default 1000), --rounds N (default 5; the best round of each store is reported),
 * --sequential N (default 500), --only TEXT (only the stores whose name contains TEXT).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineOptions, OrchestrationEngine, TaskInput } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';

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
}

const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i >= 0 ? (process.argv[i + 1] ?? '') : '';
})();

const ALL_CONFIGS: Config[] = [
  { name: 'memory', options: { store: 'memory' } },
  { name: 'sqlite strict', options: { store: 'sqlite', durability: 'strict' } },
  { name: 'sqlite strict, writes in-thread', options: { store: 'sqlite', durability: 'strict', writerThread: false } },
  { name: 'sqlite relaxed', options: { store: 'sqlite', durability: 'relaxed' } },
  { name: 'sqlite strict, no journal', options: { store: 'sqlite', durability: 'strict', journalMaxEvents: 0 } },
];
const CONFIGS = ALL_CONFIGS.filter((c) => c.name.includes(ONLY));

interface Row {
  config: string;
  tasksPerSec: number;
  chainMsPerStep: number;
  /** One `executeTask` at a time: the latency a caller sees, acknowledgement included. */
  executeMs: number;
  commits: number;
  avgBatch: number;
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
      engine.registerEventHandler('task_failed', (_e, data) => reject(new Error(`task ${data.taskId} failed: ${data.error.message}`))),
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
  commitsBefore: { commits: number; written: number };
  commitsAfter: { commits: number; written: number };
}

async function start(config: Config, dir: string): Promise<Running> {
  const dbPath = join(dir, `${config.name.replace(/[^a-z]+/g, '-')}.db`);
  const engine = createOrchestrationEngine({ ...BASE, ...config.options, ...(config.options.store === 'sqlite' ? { dbPath } : {}) });
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
    commitsBefore: stats,
    commitsAfter: stats,
  };
}

async function throughputRound(r: Running, round: number): Promise<void> {
  const tasks = Array.from({ length: TASKS }, (_, i): TaskInput => ({ id: `r${round}-${i}`, module: 'core', action: 'noop' }));
  const before = r.engine.commits.stats();
  const tasksPerSec = (TASKS / (await timeRun(r.engine, tasks))) * 1000;
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
  };
}

function bullmqAvailable(): string | null {
  const redis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (redis.error || redis.status !== 0) return 'redis-server is not installed (apt-get install -y redis-server)';
  try {
    createRequire(import.meta.url).resolve('bullmq');
  } catch {
    return 'the bullmq package is not installed (npm install --no-save bullmq)';
  }
  return null;
}

function table(rows: Row[]): string {
  const head = ['store', 'no-op tasks/s', 'chain ms/step', 'executeTask ms', 'commits/round', 'rows/commit'];
  const body = rows.map((r) => [r.config, String(r.tasksPerSec), r.chainMsPerStep.toFixed(3), r.executeMs.toFixed(3), String(r.commits), String(r.avgBatch)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-bench-'));
  const running: Running[] = [];
  try {
    for (const config of CONFIGS) running.push(await start(config, dir));
    // Rounds go round-robin over the stores, so a burst of load on a shared machine hits them all alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of running) await throughputRound(r, round);
      for (const r of running) await chainRound(r, round);
      for (const r of running) await executeRound(r);
      process.stdout.write(`round ${round + 1}/${ROUNDS} done\n`);
    }
  } finally {
    await Promise.all(running.map((r) => r.engine.shutdown({ graceMs: 1000 })));
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = running.map(rowOf);
  const bullmq = bullmqAvailable();
  console.log(
    `\nno-op tasks: ${TASKS} per round, best of ${ROUNDS}; chain: ${CHAIN} dependent tasks; executeTask: ${SEQUENTIAL} in a row; ${availableParallelism()} threads x 16 tasks each`,
  );
  console.log(`database folder: ${tmpdir()} (fsync per commit in strict mode)\n`);
  console.log(table(rows));
  console.log(`\nBullMQ: skipped: ${bullmq ?? 'not wired in this run'}`);
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
    bullmq: { skipped: bullmq ?? 'not wired in this run' },
  };
  const resultsDir = fileURLToPath(new URL('../../benchmarks/results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `durable-${out.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

await main();
