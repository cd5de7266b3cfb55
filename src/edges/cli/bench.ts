/**
 * `codomyrmex bench [MODULE.ACTION] --tasks N --concurrency C [--params JSON] [--store memory|sqlite] [--nats URL]
 * [--json]`: throughput and latency of tasks through the orchestrator (embedded), and of the same tasks on a bare
 * worker pool with the same settings beside it, so the orchestrator's cost shows; with `--nats`, through a running
 * daemon and its workers instead (benchRemote.ts). `--json` fits a CI job that tracks the numbers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { WorkerReply, WorkerRequest } from '../../workers/protocol.js';
import type { CliContext, GlobalFlags } from './context.js';
import { natsUrl, paramsOf, withParamFlags } from './context.js';
import type { BenchPath, BenchReport } from './benchStats.js';
import { drive, summarise } from './benchStats.js';

export type { BenchPath, BenchReport } from './benchStats.js';
import { printTable } from './format.js';
import { parseInteger } from './task.js';

function printReport(r: BenchReport): void {
  const remote = r.remote
    ? `, ${r.remote.workers} remote worker(s) with ${r.remote.capacity} slots${r.remote.localThreads ? ' beside its threads' : ', no local threads'}`
    : '';
  const where =
    r.target === 'daemon'
      ? `daemon at ${r.nats ?? '?'} (${r.threads ?? '?'} threads, store ${r.store}${remote})`
      : `${r.threads ?? '?'} threads, store ${r.store}`;
  console.log(`${r.tasks} × ${r.action}, ${r.concurrency} in flight, ${where}\n`);
  printTable(
    r.results.map((x) => ({
      path: x.path,
      'tasks/s': x.tasksPerSec,
      'p50 ms': x.latencyMs.p50,
      'p95 ms': x.latencyMs.p95,
      'p99 ms': x.latencyMs.p99,
      'queue p50/p95/p99 ms': x.queueWaitMs
        ? `${x.queueWaitMs.p50} / ${x.queueWaitMs.p95} / ${x.queueWaitMs.p99}`
        : '-',
      failed: x.failed,
    })),
  );
  if (r.ratio !== null) console.log(`\norchestrator / bare pool: ${r.ratio}`);
  if (r.remote && Object.keys(r.remote.completedBy).length > 0)
    console.log(
      `\ncompleted by worker: ${Object.entries(r.remote.completedBy)
        .map(([w, k]) => `${w} ${k}`)
        .join(', ')}`,
    );
}

export function registerBenchCommand(program: Command, cli: CliContext): void {
  withParamFlags(
    program
      .command('bench')
      .description(
        'throughput and latency of tasks through the embedded orchestrator, next to a bare worker pool; with --nats, through a running daemon',
      )
      .argument('[action]', 'module.action to run', 'core.noop'),
  )
    .option('-n, --tasks <n>', 'how many tasks', parseInteger('--tasks', 1), 10_000)
    .option('-c, --concurrency <c>', 'calls in flight at once', parseInteger('--concurrency', 1), 100)
    .addHelpText(
      'after',
      `
Examples:
  codomyrmex bench --tasks 2000                            core.noop embedded, next to a bare worker pool
  codomyrmex bench core.sleep --param ms=5 -c 50 --json    JSON for a CI job
  codomyrmex bench --nats nats://127.0.0.1:4222 -n 1000    through a running daemon and its workers`,
    )
    .action(
      async (
        target: string,
        opts: { tasks: number; concurrency: number; params?: Record<string, unknown>; param?: Record<string, unknown> },
      ) => {
        const dot = target.indexOf('.');
        if (dot <= 0) throw new InvalidArgumentError(`action must be module.action, e.g. core.noop (got "${target}")`);
        const [module, action] = [target.slice(0, dot), target.slice(dot + 1)];
        const params = paramsOf(opts);
        const flags = program.opts<GlobalFlags>();
        const n = opts.tasks;
        const base = { action: target, tasks: n, concurrency: opts.concurrency, node: process.version };

        const url = natsUrl(flags);
        if (url !== undefined) {
          if (flags.store !== undefined || flags.db !== undefined)
            throw new InvalidArgumentError(
              `${flags.store !== undefined ? '--store' : '--db'}: with --nats the tasks run on the daemon, in its store; drop the flag (or drop --nats to bench an embedded engine)`,
            );
          const [{ withRemote }, { benchDaemon }] = await Promise.all([
            import('./remote.js'),
            import('./benchRemote.js'),
          ]);
          const measured = await withRemote(url, flags, (remote) =>
            benchDaemon(remote, {
              module,
              action,
              params,
              tasks: n,
              concurrency: opts.concurrency,
              waitMs:
                flags.requestTimeout !== undefined ? Math.max(1, Math.floor(flags.requestTimeout / 2)) : undefined,
            }),
          );
          const report: BenchReport = {
            target: 'daemon',
            nats: url,
            ...base,
            threads: measured.threads,
            store: measured.store,
            remote: measured.remote,
            timestamp: new Date().toISOString(),
            results: [measured.path],
            ratio: null,
          };
          cli.out(report, printReport);
          return;
        }

        // Benchmarks measure, they keep nothing: memory by default, and a throwaway database for --store sqlite.
        const store = flags.store ?? 'memory';
        const dir = store === 'sqlite' && !flags.db ? await mkdtemp(join(tmpdir(), 'codomyrmex-bench-')) : null;
        const threads = flags.threads ?? availableParallelism();
        const waits: number[] = new Array<number>(n);
        const results: BenchPath[] = [];
        try {
          const orchestrated = await cli.withEngine(
            async (engine) =>
              drive(n, opts.concurrency, async (i) => {
                const submitted = Date.now();
                const r = await engine.tasks.executeTask({ module, action, parameters: params, maxRetries: 0 });
                waits[i] = r.startedAt === null ? 0 : Math.max(0, r.startedAt - submitted);
                return r.success;
              }),
            { store: store as 'memory', ...(dir ? { dbPath: join(dir, 'bench.db') } : {}), workflowDirs: [] },
          );
          results.push(summarise('orchestrator', n, orchestrated, waits));

          const [{ Piscina }, { piscinaConfig }] = await Promise.all([
            import('piscina'),
            import('../../workers/pool.js'),
          ]);
          const pool = new Piscina<WorkerRequest, WorkerReply>(
            piscinaConfig({ threads, concurrentTasksPerWorker: 1, moduleDirs: cli.options().moduleDirs ?? [] }),
          );
          try {
            let seq = 0;
            const bare = await drive(n, opts.concurrency, async () => {
              seq += 1;
              const reply = await pool.run({
                type: 'run',
                seq,
                taskId: `bench-${seq}`,
                module,
                action,
                params,
                attempt: 1,
              });
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
          target: 'embedded',
          ...base,
          threads,
          store,
          timestamp: new Date().toISOString(),
          results,
          ratio: o && b ? Number((o.tasksPerSec / b.tasksPerSec).toFixed(3)) : null,
        };
        cli.out(report, printReport);
      },
    );
}
