/**
 * `codomyrmex bench [MODULE.ACTION] --tasks N --concurrency C [--params JSON] [--store memory|sqlite] [--json]`:
 * throughput and latency of tasks through the orchestrator (embedded), and of the same tasks on a bare worker pool
 * with the same settings beside it, so the orchestrator's cost shows. `--json` fits a CI job that tracks the numbers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { Piscina } from 'piscina';
import { piscinaConfig } from '../../workers/pool.js';
import type { WorkerReply, WorkerRequest } from '../../workers/protocol.js';
import type { CliContext, GlobalFlags } from './context.js';
import { paramsOf, withParamFlags } from './context.js';
import { printTable } from './format.js';
import { parseInteger } from './task.js';

export interface BenchPath {
  path: 'orchestrator' | 'bare pool';
  tasks: number;
  failed: number;
  wallMs: number;
  tasksPerSec: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** From the call to the task's start on a worker (orchestrator only). */
  queueWaitMs: { p50: number; p95: number; p99: number } | null;
}

export interface BenchReport {
  action: string;
  tasks: number;
  concurrency: number;
  threads: number;
  store: string;
  node: string;
  timestamp: string;
  results: BenchPath[];
  /** Orchestrated tasks/s over bare tasks/s. */
  ratio: number;
}

function pct(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Number((sorted[i] ?? NaN).toFixed(3));
}

/** Runs `one(i)` for i in [0, n) with `concurrency` calls in flight; returns each call's latency in ms. */
async function drive(n: number, concurrency: number, one: (i: number) => Promise<boolean>): Promise<{ latencies: number[]; failed: number; wallMs: number }> {
  const latencies = new Array<number>(n);
  let next = 0;
  let failed = 0;
  const start = performance.now();
  const lane = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      const t0 = performance.now();
      if (!(await one(i))) failed += 1;
      latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  return { latencies, failed, wallMs: performance.now() - start };
}

function summarise(path: BenchPath['path'], n: number, d: { latencies: number[]; failed: number; wallMs: number }, waits: number[] | null): BenchPath {
  const sorted = [...d.latencies].sort((a, b) => a - b);
  const w = waits ? [...waits].sort((a, b) => a - b) : null;
  return {
    path,
    tasks: n,
    failed: d.failed,
    wallMs: Math.round(d.wallMs),
    tasksPerSec: Math.round(n / (d.wallMs / 1000)),
    latencyMs: { p50: pct(sorted, 50), p95: pct(sorted, 95), p99: pct(sorted, 99), max: pct(sorted, 100) },
    queueWaitMs: w ? { p50: pct(w, 50), p95: pct(w, 95), p99: pct(w, 99) } : null,
  };
}

export function registerBenchCommand(program: Command, cli: CliContext): void {
  withParamFlags(
    program
      .command('bench')
      .description('throughput and latency of tasks through the embedded orchestrator, next to a bare worker pool')
      .argument('[action]', 'module.action to run', 'core.noop'),
  )
    .option('-n, --tasks <n>', 'how many tasks', parseInteger('--tasks', 1), 10_000)
    .option('-c, --concurrency <c>', 'calls in flight at once', parseInteger('--concurrency', 1), 100)
    .action(async (target: string, opts: { tasks: number; concurrency: number; params?: Record<string, unknown>; param?: Record<string, unknown> }) => {
      const dot = target.indexOf('.');
      if (dot <= 0) throw new InvalidArgumentError(`action must be module.action, e.g. core.noop (got "${target}")`);
      const [module, action] = [target.slice(0, dot), target.slice(dot + 1)];
      const params = paramsOf(opts);
      const flags = program.opts<GlobalFlags>();
      // Benchmarks measure, they keep nothing: memory by default, and a throwaway database for --store sqlite.
      const store = flags.store ?? 'memory';
      const dir = store === 'sqlite' && !flags.db ? await mkdtemp(join(tmpdir(), 'codomyrmex-bench-')) : null;
      const threads = flags.threads ?? availableParallelism();
      const n = opts.tasks;
      const waits: number[] = new Array<number>(n);
      const results: BenchPath[] = [];
      try {
        const orchestrated = await cli.withEngine(
          async (engine) => {
            const d = await drive(n, opts.concurrency, async (i) => {
              const submitted = Date.now();
              const r = await engine.tasks.executeTask({ module, action, parameters: params, maxRetries: 0 });
              waits[i] = r.startedAt === null ? 0 : Math.max(0, r.startedAt - submitted);
              return r.success;
            });
            return d;
          },
          { store: store as 'memory', ...(dir ? { dbPath: join(dir, 'bench.db') } : {}), workflowDirs: [] },
        );
        results.push(summarise('orchestrator', n, orchestrated, waits));

        const pool = new Piscina<WorkerRequest, WorkerReply>(piscinaConfig({ threads, concurrentTasksPerWorker: 1, moduleDirs: cli.options().moduleDirs ?? [] }));
        try {
          let seq = 0;
          const bare = await drive(n, opts.concurrency, async () => {
            seq += 1;
            const reply = await pool.run({ type: 'run', seq, taskId: `bench-${seq}`, module, action, params, attempt: 1 });
            return reply.type === 'ok';
          });
          results.push(summarise('bare pool', n, bare, null));
        } finally {
          await pool.destroy();
        }
      } finally {
        if (dir) await rm(dir, { recursive: true, force: true });
      }
      const [o, b] = results;
      const report: BenchReport = {
        action: target,
        tasks: n,
        concurrency: opts.concurrency,
        threads,
        store,
        node: process.version,
        timestamp: new Date().toISOString(),
        results,
        ratio: o && b ? Number((o.tasksPerSec / b.tasksPerSec).toFixed(3)) : NaN,
      };
      cli.out(report, (r) => {
        console.log(`${r.tasks} × ${r.action}, ${r.concurrency} in flight, ${r.threads} threads, store ${r.store}\n`);
        printTable(
          r.results.map((x) => ({
            path: x.path,
            'tasks/s': x.tasksPerSec,
            'p50 ms': x.latencyMs.p50,
            'p95 ms': x.latencyMs.p95,
            'p99 ms': x.latencyMs.p99,
            'queue p50/p95/p99 ms': x.queueWaitMs ? `${x.queueWaitMs.p50} / ${x.queueWaitMs.p95} / ${x.queueWaitMs.p99}` : '-',
            failed: x.failed,
          })),
        );
        console.log(`\norchestrator / bare pool: ${r.ratio}`);
      });
    });
}
