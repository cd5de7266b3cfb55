/**
 * `npm run bench:workers`: tasks through remote workers, one run on a real nats-server (JetStream) on loopback.
 * The daemon (`--no-local-workers`, SQLite) and every `codomyrmex worker` are real child processes; tasks are added
 * over NATS in batches of 1000 and completions counted from the daemon's end events. Next to it: the in-process
 * engine (memory store) and BullMQ with one and two worker processes on a local Redis (appendfsync everysec),
 * when redis-server and bullmq are present.
 *   - no-op throughput, 1 and 2 workers (each worker: 1 thread × `--concurrency` 16; BullMQ workers concurrency 16);
 *   - 50 ms I/O-bound tasks (`core.sleep`), 1 and 2 workers of 8 slots each (BullMQ: concurrency 8): two workers
 *     should give about twice the throughput of one.
 * Prints a table and writes JSON to benchmarks/results/workers-<timestamp>.json.
 *
 *   - one no-op task at a time through 1 worker: p50 and p99 from submit to the completion event.
 * Flags: --tasks N (no-op tasks per run, default 5000), --io N (50 ms tasks per run, default 400), --latency N
 * (sequential tasks, default 300).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessageBus } from '../src/bus/bus.js';
import { packagePath } from '../src/config/options.js';
import type { TaskInput } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import { bullmqMissing, startRedis } from './bullmq.js';
import { natsServerMissing, natsServerVersion, startNatsServer } from '../test/support/nats.js';
import { workerArgs } from '../test/support/daemon.js';
import { startDaemon } from './daemon.js';
import { sleep } from './support.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

const TASKS = flag('tasks', 5000);
const IO_TASKS = flag('io', 400);
const IO_MS = 50;
const LATENCY_TASKS = flag('latency', 300);
const NOOP_SLOTS = 16;
const IO_SLOTS = 8;
const BATCH = 1000;
const CLI = packagePath('dist', 'src', 'edges', 'cli', 'main.js');
const NOOP: TaskInput = { module: 'core', action: 'noop' };
const IO: TaskInput = { module: 'core', action: 'sleep', parameters: { ms: IO_MS } };

interface Row {
  path: string;
  workload: 'no-op' | '50 ms I/O';
  workers: number | null;
  tasks: number;
  tasksPerSec: number;
}

/** Adds `n` copies of `task` in batches and resolves with tasks/s once all have completed (counted from events). */
async function throughput(bus: MessageBus, task: TaskInput, n: number): Promise<number> {
  let done = 0;
  let failed = 0;
  let finish: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (finish = resolve));
  const ok = bus.events$('task_completed').subscribe(() => {
    if (++done === n) finish();
  });
  const bad = bus.events$('task_failed').subscribe(() => failed++);
  const t0 = performance.now();
  for (let i = 0; i < n; i += BATCH)
    await bus.request('task.add', { tasks: Array.from({ length: Math.min(BATCH, n - i) }, () => ({ ...task })) });
  await bus.request('task.start_execution', {}, { timeoutMs: 1000 }).catch(() => undefined);
  await all;
  const dt = performance.now() - t0;
  ok.unsubscribe();
  bad.unsubscribe();
  if (failed) throw new Error(`${failed} tasks failed`);
  return (n / dt) * 1000;
}

/** One task at a time, `n` times: milliseconds from submitting each until its completion event (p50, p99). */
async function latency(bus: MessageBus, task: TaskInput, n: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    let id = '';
    let seen: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (seen = resolve));
    const early = new Set<string>();
    const sub = bus.events$('task_completed').subscribe((e) => {
      const taskId = (e.data as { taskId: string }).taskId;
      if (taskId === id) seen();
      else early.add(taskId);
    });
    const t0 = performance.now();
    id = (await bus.request('task.submit', { task: { ...task } })).taskId;
    if (early.has(id)) seen();
    await done;
    times.push(performance.now() - t0);
    sub.unsubscribe();
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99) };
}

function child(args: string[], cwd: string): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, CODOMYRMEX_CONFIG: '', CODOMYRMEX_NATS_URL: '' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  await gone;
}

/** A daemon with `workers` remote workers of `slots` each; runs `fn` on its bus, then stops them all. */
async function remote(
  dir: string,
  url: string,
  n: number,
  workers: number,
  slots: number,
  fn: (bus: MessageBus) => Promise<number>,
): Promise<number> {
  const daemon = await startDaemon({ dir, url, name: `d${n}`, threads: 1, args: ['--no-local-workers'] });
  const { bus, prefix } = daemon;
  const procs: ChildProcess[] = [];
  try {
    for (let w = 0; w < workers; w++)
      procs.push(
        child(
          [
            '--threads',
            '1',
            ...workerArgs(url, prefix, `w${w}`),
            '--concurrency',
            String(slots),
            '--log-level',
            'warn',
          ],
          dir,
        ),
      );
    // Up once the daemon lists them all.
    for (let i = 0; ; i++) {
      const status = await bus.request('engine.status', {});
      const list = (status as unknown as { workers?: { workers?: { state: string }[] } }).workers?.workers ?? [];
      if (list.filter((x) => x.state === 'live').length === workers) break;
      if (i > 400) throw new Error('the workers did not join');
      await sleep(50);
    }
    await throughput(bus, NOOP, 200); // warm up
    return await fn(bus);
  } finally {
    for (const p of procs) await stop(p);
    await daemon.stop();
  }
}

/** BullMQ with `workers` worker processes of `concurrency` each: tasks/s of `n` jobs of `jobMs` each. */
async function bull(workers: number, concurrency: number, n: number, jobMs: number): Promise<number> {
  const redis = await startRedis('everysec');
  const specifier = 'bullmq';
  const { Queue } = (await import(specifier)) as {
    Queue: new (
      name: string,
      o: { connection: unknown },
    ) => {
      addBulk(j: { name: string; data: unknown }[]): Promise<unknown>;
      getCompletedCount(): Promise<number>;
      obliterate(o: { force: boolean }): Promise<void>;
      close(): Promise<void>;
    };
  };
  const queue = new Queue('bench', { connection: redis.connection });
  const script = fileURLToPath(new URL('./bullWorker.js', import.meta.url));
  const procs: ChildProcess[] = [];
  try {
    const ready = [];
    for (let w = 0; w < workers; w++) {
      const p = spawn(
        process.execPath,
        [script, String(redis.connection.port), 'bench', String(concurrency), String(jobMs)],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      procs.push(p);
      ready.push(
        new Promise<void>((resolve) =>
          p.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
        ),
      );
    }
    await Promise.all(ready);
    const run = async (count: number): Promise<number> => {
      const before = await queue.getCompletedCount();
      const t0 = performance.now();
      for (let i = 0; i < count; i += BATCH)
        await queue.addBulk(Array.from({ length: Math.min(BATCH, count - i) }, () => ({ name: 'job', data: {} })));
      while ((await queue.getCompletedCount()) - before < count) await sleep(5);
      return (count / (performance.now() - t0)) * 1000;
    };
    await run(200);
    return await run(n);
  } finally {
    for (const p of procs) await stop(p);
    await queue.close();
    await redis.stop();
  }
}

function table(rows: Row[]): string {
  const head = ['path', 'workload', 'workers', 'tasks', 'tasks/s'];
  const body = rows.map((r) => [
    r.path,
    r.workload,
    r.workers === null ? '-' : String(r.workers),
    String(r.tasks),
    String(Math.round(r.tasksPerSec)),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const missing = natsServerMissing();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-bench-workers-'));
  const nats = await startNatsServer();
  const rows: Row[] = [];
  const measured: { single?: { p50: number; p99: number } } = {};
  const load0 = loadavg()[0] ?? 0;
  try {
    const engine = createOrchestrationEngine({
      threads: 2,
      concurrentTasksPerWorker: NOOP_SLOTS,
      store: 'memory',
      agingMs: 0,
    });
    await engine.ready();
    await throughput(engine.bus, NOOP, 1000);
    rows.push({
      path: 'in-process engine (2 threads, memory store)',
      workload: 'no-op',
      workers: null,
      tasks: TASKS,
      tasksPerSec: await throughput(engine.bus, NOOP, TASKS),
    });
    await engine.shutdown({ graceMs: 1000 });
    let n = 0;
    for (const workers of [1, 2]) {
      rows.push({
        path: 'daemon + remote workers over JetStream (sqlite strict)',
        workload: 'no-op',
        workers,
        tasks: TASKS,
        tasksPerSec: await remote(dir, nats.url, ++n, workers, NOOP_SLOTS, (bus) => throughput(bus, NOOP, TASKS)),
      });
    }
    await remote(dir, nats.url, ++n, 1, NOOP_SLOTS, async (bus) => {
      measured.single = await latency(bus, NOOP, LATENCY_TASKS);
      return 0;
    });
    for (const workers of [1, 2]) {
      rows.push({
        path: 'daemon + remote workers over JetStream (sqlite strict)',
        workload: '50 ms I/O',
        workers,
        tasks: IO_TASKS,
        tasksPerSec: await remote(dir, nats.url, ++n, workers, IO_SLOTS, (bus) => throughput(bus, IO, IO_TASKS)),
      });
    }
    const bullMissing = bullmqMissing();
    if (bullMissing) console.log(`BullMQ skipped: ${bullMissing}`);
    else {
      for (const workers of [1, 2])
        rows.push({
          path: 'BullMQ worker processes (Redis appendfsync everysec)',
          workload: 'no-op',
          workers,
          tasks: TASKS,
          tasksPerSec: await bull(workers, NOOP_SLOTS, TASKS, 0),
        });
      for (const workers of [1, 2])
        rows.push({
          path: 'BullMQ worker processes (Redis appendfsync everysec)',
          workload: '50 ms I/O',
          workers,
          tasks: IO_TASKS,
          tasksPerSec: await bull(workers, IO_SLOTS, IO_TASKS, IO_MS),
        });
    }
  } finally {
    await nats.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  const remoteIo = rows.filter((r) => r.path.startsWith('daemon') && r.workload === '50 ms I/O');
  const scaling = remoteIo.length === 2 ? (remoteIo[1]?.tasksPerSec ?? 0) / (remoteIo[0]?.tasksPerSec ?? 1) : null;
  const ideal = (IO_SLOTS / IO_MS) * 1000;
  console.log(table(rows));
  console.log(
    `\nremote I/O-bound scaling, 2 workers / 1 worker: ${scaling === null ? '-' : scaling.toFixed(2)}x (ideal per worker: ${ideal} tasks/s = ${IO_SLOTS} slots / ${IO_MS} ms)`,
  );
  const single = measured.single ?? null;
  if (single)
    console.log(
      `one remote no-op task at a time (submit over NATS → completion event), ${LATENCY_TASKS} tasks: p50 ${single.p50.toFixed(2)} ms, p99 ${single.p99.toFixed(2)} ms`,
    );
  const noop = (path: string, w: number): number =>
    rows.find((r) => r.path.startsWith(path) && r.workload === 'no-op' && r.workers === w)?.tasksPerSec ?? 0;
  for (const w of [1, 2])
    if (noop('BullMQ', w) > 0)
      console.log(`remote no-op vs BullMQ, ${w} worker(s): ${(noop('daemon', w) / noop('BullMQ', w)).toFixed(2)}x`);
  console.log(
    `load average before: ${load0.toFixed(2)}, after: ${(loadavg()[0] ?? 0).toFixed(2)} on ${cpus().length} cores (shared: numbers are noisy when others run)`,
  );
  const out = packagePath('benchmarks', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `workers-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        nats: natsServerVersion(),
        cores: cpus().length,
        loadBefore: load0,
        tasks: TASKS,
        ioTasks: IO_TASKS,
        ioMs: IO_MS,
        noopSlots: NOOP_SLOTS,
        ioSlots: IO_SLOTS,
        rows,
        ioScaling: scaling,
        singleTaskMs: single,
      },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${file}`);
}

await main();
