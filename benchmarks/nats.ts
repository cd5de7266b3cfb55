/**
 * `npm run bench:nats`: what commanding the engine over NATS costs, in one run on a real nats-server on loopback.
 * The daemon is the real `codomyrmex daemon` in a child process (SQLite store, strict and relaxed), commanded from
 * this process over a NatsBus; next to it the same engine in-process (its own bus), and BullMQ on a local Redis
 * when `redis-server` and `bullmq` are present. For each:
 *   - commands/s of a cheap read (`task.get`), 64 in flight, and the p50 of one read at a time;
 *   - one no-op task at a time, submitted and awaited: p50/p99 of `task.execute` (one request), and of
 *     `task.submit` followed to its end (end event, or `task.wait_for`), the path for long tasks;
 *   - no-op throughput submitted in batches (`task.add` of 1000, completions counted from the end events), and
 *     one task per `task.submit` request, 64 in flight.
 * Prints a table and writes JSON to benchmarks/results/nats-<timestamp>.json.
 *
 * Flags: --tasks N (default 20000), --rounds N (default 3, best round reported), --sequential N (default 500),
 * --reads N (default 20000), --threads N (default: the cores).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessageBus } from '../src/bus/bus.js';
import { runTask } from '../src/edges/nats/client.js';
import type { Durability, OrchestrationEngine, TaskInput } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import { BullContender, bullmqMissing } from './bullmq.js';
import { natsServerMissing, natsServerVersion, startNatsServer } from '../test/support/nats.js';
import { startDaemon } from './daemon.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

const TASKS = flag('tasks', 20_000);
const ROUNDS = flag('rounds', 3);
const SEQUENTIAL = flag('sequential', 500);
const READS = flag('reads', 20_000);
const THREADS = flag('threads', availableParallelism());
const IN_FLIGHT = 64;
const BATCH = 1000;
const ENGINE = { threads: THREADS, concurrentTasksPerWorker: 16, agingMs: 0 };
const NOOP: TaskInput = { module: 'core', action: 'noop' };

interface Best {
  readsPerSec: number;
  readP50Ms: number;
  executeP50Ms: number;
  executeP99Ms: number;
  followP50Ms: number | null;
  followP99Ms: number | null;
  batchedPerSec: number;
  submitPerSec: number | null;
}

interface Path {
  name: string;
  bus: MessageBus;
  best: Best;
  stop(): Promise<void>;
}

const fresh = (): Best => ({
  readsPerSec: 0,
  readP50Ms: Infinity,
  executeP50Ms: Infinity,
  executeP99Ms: Infinity,
  followP50Ms: null,
  followP99Ms: null,
  batchedPerSec: 0,
  submitPerSec: null,
});

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** Resolves once `n` tasks completed, counted from the bus's end events (over NATS: the daemon's events). */
function completions(bus: MessageBus, n: number): { done: Promise<void>; cancel: () => void } {
  let count = 0;
  let cancel = (): void => undefined;
  const done = new Promise<void>((resolve, reject) => {
    const ok = bus.events$('task_completed').subscribe(() => {
      if (++count === n) {
        cancel();
        resolve();
      }
    });
    const bad = bus
      .events$('task_failed')
      .subscribe((e) => reject(new Error(`a task failed: ${JSON.stringify(e.data)}`)));
    cancel = () => {
      ok.unsubscribe();
      bad.unsubscribe();
    };
  });
  return { done, cancel };
}

async function inParallel(total: number, width: number, one: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < total) await one(next++);
    }),
  );
  return performance.now() - t0;
}

async function round(p: Path, r: number): Promise<void> {
  const { bus, best } = p;
  const probe = (await bus.request('task.add', { tasks: [NOOP] })).ids[0] ?? '';
  // Reads.
  const readMs = await inParallel(READS, IN_FLIGHT, () => bus.request('task.get', { taskId: probe }));
  best.readsPerSec = Math.max(best.readsPerSec, (READS / readMs) * 1000);
  const reads: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const t0 = performance.now();
    await bus.request('task.get', { taskId: probe });
    reads.push(performance.now() - t0);
  }
  best.readP50Ms = Math.min(
    best.readP50Ms,
    pct(
      reads.sort((a, b) => a - b),
      50,
    ),
  );
  // One task at a time.
  const exec: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t0 = performance.now();
    await bus.request('task.execute', { task: NOOP });
    exec.push(performance.now() - t0);
  }
  exec.sort((a, b) => a - b);
  if (pct(exec, 50) < best.executeP50Ms) [best.executeP50Ms, best.executeP99Ms] = [pct(exec, 50), pct(exec, 99)];
  if (bus.kind === 'nats') {
    const follow: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const t0 = performance.now();
      await runTask(bus, NOOP);
      follow.push(performance.now() - t0);
    }
    follow.sort((a, b) => a - b);
    if (best.followP50Ms === null || pct(follow, 50) < best.followP50Ms)
      [best.followP50Ms, best.followP99Ms] = [pct(follow, 50), pct(follow, 99)];
  }
  // Batched throughput.
  const batch = completions(bus, TASKS);
  const t0 = performance.now();
  for (let i = 0; i < TASKS; i += BATCH) {
    await bus.request('task.add', {
      tasks: Array.from({ length: Math.min(BATCH, TASKS - i) }, (_, j): TaskInput => ({
        id: `b${r}-${i + j}`,
        ...NOOP,
      })),
    });
  }
  await batch.done;
  best.batchedPerSec = Math.max(best.batchedPerSec, (TASKS / (performance.now() - t0)) * 1000);
  // One task per request.
  if (bus.kind === 'nats') {
    const singles = completions(bus, TASKS);
    const t1 = performance.now();
    await inParallel(TASKS, IN_FLIGHT, (i) => bus.request('task.submit', { task: { id: `s${r}-${i}`, ...NOOP } }));
    await singles.done;
    best.submitPerSec = Math.max(best.submitPerSec ?? 0, (TASKS / (performance.now() - t1)) * 1000);
  }
}

async function warm(bus: MessageBus): Promise<void> {
  await bus.request('task.add', { tasks: Array.from({ length: 2000 }, () => NOOP) });
  // Turns dispatching on for the timed runs (task.add then runs at once).
  await bus.request('task.start_execution', {}, { timeoutMs: 120_000 });
}

async function inProcess(dir: string, durability: Durability): Promise<Path> {
  const engine: OrchestrationEngine = createOrchestrationEngine({
    ...ENGINE,
    store: 'sqlite',
    durability,
    dbPath: join(dir, `in-process-${durability}.db`),
  });
  await engine.ready();
  await warm(engine.bus);
  return {
    name: `in-process, sqlite ${durability}`,
    bus: engine.bus,
    best: fresh(),
    stop: () => engine.shutdown({ graceMs: 1000 }),
  };
}

async function daemon(dir: string, url: string, durability: Durability, n: number): Promise<Path> {
  // concurrentTasksPerWorker comes from a config file, as a user would set it.
  const d = await startDaemon({
    dir,
    url,
    name: `daemon-${durability}-${n}`,
    durability,
    threads: THREADS,
    config: { concurrentTasksPerWorker: ENGINE.concurrentTasksPerWorker, agingMs: 0 },
  });
  await warm(d.bus);
  return { name: `daemon over NATS, sqlite ${durability}`, bus: d.bus, best: fresh(), stop: () => d.stop() };
}

const ms = (x: number | null): string => (x === null ? '-' : x.toFixed(3));

function table(rows: { name: string; best: Best }[], bulls: BullContender[]): string {
  const head = [
    'path',
    'task.get/s (64 in flight)',
    'task.get p50 ms',
    'execute p50 ms',
    'execute p99 ms',
    'submit+follow p50 ms',
    'submit+follow p99 ms',
    'batched tasks/s',
    'task.submit tasks/s',
  ];
  const body = rows.map(({ name, best: b }) => [
    name,
    String(Math.round(b.readsPerSec)),
    ms(b.readP50Ms),
    ms(b.executeP50Ms),
    ms(b.executeP99Ms),
    ms(b.followP50Ms),
    ms(b.followP99Ms),
    String(Math.round(b.batchedPerSec)),
    b.submitPerSec === null ? '-' : String(Math.round(b.submitPerSec)),
  ]);
  for (const b of bulls)
    body.push([
      b.name,
      '-',
      '-',
      `${b.best.executeMs.toFixed(3)} (mean)`,
      '-',
      '-',
      '-',
      String(Math.round(b.best.tasksPerSec)),
      '-',
    ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const missing = natsServerMissing();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-bench-nats-'));
  const nats = await startNatsServer();
  const bullMissing = bullmqMissing();
  const bulls = bullMissing ? [] : [new BullContender('always'), new BullContender('everysec')];
  const paths: Path[] = [];
  try {
    paths.push(await inProcess(dir, 'strict'));
    paths.push(await daemon(dir, nats.url, 'strict', 1));
    paths.push(await daemon(dir, nats.url, 'relaxed', 2));
    for (const b of bulls) await b.start();
    // Round-robin, so a burst of load on a shared machine hits every contender alike.
    for (let r = 0; r < ROUNDS; r++) {
      for (const p of paths) await round(p, r);
      for (const b of bulls) {
        await b.throughputRound(TASKS);
        await b.executeRound(SEQUENTIAL);
      }
      process.stdout.write(`round ${r + 1}/${ROUNDS} done\n`);
    }
  } finally {
    await Promise.allSettled(paths.map((p) => p.stop()));
    await Promise.allSettled(bulls.map((b) => b.stop()));
    await nats.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `\n${TASKS} no-op tasks per throughput round (task.add batches of ${BATCH}), best of ${ROUNDS}; ${SEQUENTIAL} one-at-a-time tasks; ${READS} reads; ${THREADS} threads x ${ENGINE.concurrentTasksPerWorker} tasks each`,
  );
  console.log(`${natsServerVersion()} on loopback; the daemon is a child process, the client this one`);
  if (bulls[0])
    console.log(
      `BullMQ: ${bulls[0].version}; worker concurrency 50; addBulk of 1000; one job = add + waitUntilFinished`,
    );
  console.log('');
  console.log(table(paths, bulls));
  if (bullMissing) console.log(`\nBullMQ: skipped: ${bullMissing}`);
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    threads: THREADS,
    tasks: TASKS,
    rounds: ROUNDS,
    sequential: SEQUENTIAL,
    reads: READS,
    loadAverage: loadavg(),
    nats: natsServerVersion(),
    rows: paths.map((p) => ({ path: p.name, ...p.best })),
    bullmq: bullMissing
      ? { skipped: bullMissing }
      : {
          version: bulls[0]?.version,
          rows: bulls.map((b) => ({
            path: b.name,
            tasksPerSec: Math.round(b.best.tasksPerSec),
            executeMeanMs: b.best.executeMs,
          })),
        },
  };
  const resultsDir = fileURLToPath(new URL('../../benchmarks/results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `nats-${out.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

await main();
