/**
 * `npm run bench:durable`: what durability costs. In one run, on the same machine:
 *   - no-op task throughput (tasks/s) with the in-memory store, SQLite strict and SQLite relaxed;
 *   - a 1,000-task dependency chain (each task depends on the previous one), time per step. Workflows are not in
 *     this build yet, so the chain goes through the task orchestrator's dependencies: the same scheduling path a
 *     workflow's steps take, minus templating;
 *   - BullMQ on a local Redis, when `redis-server` and the `bullmq` package are both present (skipped otherwise).
 * Prints a table and writes JSON to benchmarks/results/durable-<timestamp>.json.
 *
 * Flags: --tasks N (default 20000), --chain N (default 1000), --rounds N (default 3; the best round is reported),
 * --only TEXT (only the stores whose name contains TEXT).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, tmpdir } from 'node:os';
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
const ROUNDS = flag('rounds', 3);
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
  { name: 'sqlite relaxed', options: { store: 'sqlite', durability: 'relaxed' } },
  { name: 'sqlite strict, no journal', options: { store: 'sqlite', durability: 'strict', journalMaxEvents: 0 } },
];
const CONFIGS = ALL_CONFIGS.filter((c) => c.name.includes(ONLY));

interface Row {
  config: string;
  tasksPerSec: number;
  chainMsPerStep: number;
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

async function runConfig(config: Config, dir: string): Promise<Row> {
  const dbPath = join(dir, `${config.name.replace(/[^a-z]+/g, '-')}.db`);
  const engine = createOrchestrationEngine({ ...BASE, ...config.options, ...(config.options.store === 'sqlite' ? { dbPath } : {}) });
  await engine.ready();
  const orch = engine.getTaskOrchestrator();
  try {
    // Warm up threads, JIT and SQLite's page cache; turns dispatching on for the timed runs.
    await orch.addTasks(Array.from({ length: 2000 }, (): TaskInput => ({ module: 'core', action: 'noop' })));
    await orch.startExecution();
    const before = engine.commits.stats();

    let best = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const tasks = Array.from({ length: TASKS }, (_, i): TaskInput => ({ id: `r${round}-${i}`, module: 'core', action: 'noop' }));
      best = Math.max(best, (TASKS / (await timeRun(engine, tasks))) * 1000);
    }
    const after = engine.commits.stats();

    let bestChain = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      const chain = Array.from({ length: CHAIN }, (_, i): TaskInput => ({
        id: `c${round}-${i}`,
        module: 'core',
        action: 'noop',
        dependencies: i === 0 ? [] : [`c${round}-${i - 1}`],
      }));
      bestChain = Math.min(bestChain, (await timeRun(engine, chain)) / CHAIN);
    }
    const commits = after.commits - before.commits;
    return {
      config: config.name,
      tasksPerSec: Math.round(best),
      chainMsPerStep: Number(bestChain.toFixed(3)),
      commits: Math.round(commits / ROUNDS),
      avgBatch: commits ? Math.round((after.written - before.written) / commits) : 0,
    };
  } finally {
    await engine.shutdown({ graceMs: 1000 });
  }
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
  const head = ['store', 'no-op tasks/s', 'chain ms/step', 'commits/round', 'rows/commit'];
  const body = rows.map((r) => [r.config, String(r.tasksPerSec), r.chainMsPerStep.toFixed(3), String(r.commits), String(r.avgBatch)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-bench-'));
  const rows: Row[] = [];
  try {
    for (const config of CONFIGS) {
      process.stdout.write(`${config.name} ... `);
      const row = await runConfig(config, dir);
      rows.push(row);
      console.log(`${row.tasksPerSec} tasks/s, chain ${row.chainMsPerStep} ms/step`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const bullmq = bullmqAvailable();
  console.log(`\nno-op tasks: ${TASKS} per round, best of ${ROUNDS}; chain: ${CHAIN} dependent tasks; ${availableParallelism()} threads x 16 tasks each`);
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
