/**
 * `npm run bench:scaling`: whether the engine's cost per task stays flat as the number of tasks grows (issue 20
 * item 11). Two measures, each printed as a table and written as JSON to benchmarks/results/scaling-<timestamp>.json:
 *
 * - **Queued, then run**: N no-op tasks (`core.noop`) are added with dispatch off (in calls of 5,000), then
 *   `startExecution()` runs them all. Reported per N: the longest gap between ticks of a 1 ms interval while they
 *   run (the event-loop stall), the time until `startExecution()` answered, and tasks/s.
 * - **Sustained submission**: one engine takes `addTasks` calls of 1,000 while it runs (at most 20,000 unfinished
 *   at once), for a total of M tasks; tasks/s and the longest loop gap are reported per window of M/10 tasks. A cost
 *   that grows with the tasks seen so far shows as a falling rate in later windows.
 *
 * SQLite store, relaxed durability (the daemon's throughput setting), 2 threads. Flags: --sizes 50000,100000,200000
 * (queued; 0 skips them), --total N (sustained, default 400000; 0 skips it), --store memory|sqlite (default sqlite),
 * --via local|nats (sustained: an engine in this process, or the real daemon, SQLite relaxed, in a child process on a nats-server,
 * commanded with `task.add` and followed by its `task_completed` events; its loop gap and heap are not seen here).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineOptions, OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import { natsServerMissing, startNatsServer } from '../test/support/nats.js';
import { startDaemon } from './daemon.js';
import { fullGc, log, round, writeResults } from './support.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const SIZES = (arg('sizes') ?? '50000,100000,200000')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const TOTAL = Number(arg('total') ?? 400_000);
const STORE = arg('store') === 'memory' ? 'memory' : 'sqlite';
const VIA = arg('via') === 'nats' ? 'nats' : 'local';
const CHUNK = 5000;
const BATCH = 1000;
const OUTSTANDING = 20_000;

/** The longest gap between ticks of a 1 ms interval, from `start()` until `stop()`. */
function gapMeter(): { stop(): number; reset(): number } {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 1);
  return {
    reset: () => {
      const m = Math.max(max, performance.now() - last);
      max = 0;
      return m;
    },
    stop: () => {
      clearInterval(timer);
      return Math.max(max, performance.now() - last);
    },
  };
}

function engineAt(dir: string, name: string): OrchestrationEngine {
  const options: EngineOptions =
    STORE === 'sqlite'
      ? { store: 'sqlite', dbPath: join(dir, `${name}.db`), durability: 'relaxed' }
      : { store: 'memory' };
  return createOrchestrationEngine({ threads: 2, agingMs: 0, workflowDirs: [], ...options });
}

interface QueuedRow {
  tasks: number;
  maxGapMs: number;
  runMs: number;
  tasksPerSec: number;
}

async function queued(dir: string, n: number): Promise<QueuedRow> {
  const engine = engineAt(dir, `queued-${n}`);
  try {
    await engine.ready();
    for (let i = 0; i < n; i += CHUNK) {
      await engine.tasks.addTasks(
        Array.from({ length: Math.min(CHUNK, n - i) }, () => ({ module: 'core', action: 'noop' })),
      );
    }
    await engine.flush();
    await fullGc();
    const meter = gapMeter();
    const t0 = performance.now();
    const reply = await engine.tasks.startExecution();
    const runMs = performance.now() - t0;
    const maxGapMs = meter.stop();
    if (reply.total !== n || reply.byStatus.completed !== n)
      throw new Error(`queued ${n}: ${JSON.stringify(reply.byStatus)}`);
    return { tasks: n, maxGapMs: round(maxGapMs), runMs: round(runMs), tasksPerSec: round(n / (runMs / 1000)) };
  } finally {
    await engine.shutdown();
  }
}

interface WindowRow {
  upTo: number;
  tasksPerSec: number;
  /** The longest loop gap in the engine's process (null: the engine is the daemon, another process). */
  maxGapMs: number | null;
  heapMb: number | null;
}

/** Where sustained submission goes: an engine in this process, or a daemon over NATS. */
interface Target {
  add(count: number): Promise<void>;
  /** Calls `fn` on each completed task. */
  onCompleted(fn: () => void): void;
  /** True when the engine runs in this process (its loop gap and heap are measured here). */
  local: boolean;
  stop(): Promise<void>;
}

const noops = (count: number): { module: string; action: string }[] =>
  Array.from({ length: count }, () => ({ module: 'core', action: 'noop' }));

async function localTarget(dir: string): Promise<Target> {
  const engine = engineAt(dir, 'sustained');
  await engine.ready();
  await engine.tasks.startExecution();
  return {
    local: true,
    add: async (count) => void (await engine.tasks.addTasks(noops(count))),
    onCompleted: (fn) => engine.registerEventHandler('task_completed', fn),
    stop: () => engine.shutdown(),
  };
}

async function natsTarget(dir: string): Promise<Target> {
  const missing = natsServerMissing();
  if (missing) throw new Error(missing);
  const nats = await startNatsServer();
  try {
    const daemon = await startDaemon({
      dir,
      url: nats.url,
      name: 'sustained-daemon',
      durability: 'relaxed',
      threads: 2,
      config: { agingMs: 0 },
    });
    const bus = daemon.bus;
    // Turns dispatching on: task.add then runs at once.
    await bus.request('task.start_execution', {}, { timeoutMs: 120_000 });
    return {
      local: false,
      add: async (count) => void (await bus.request('task.add', { tasks: noops(count) })),
      onCompleted: (fn) => void bus.events$('task_completed').subscribe(fn),
      stop: async () => {
        await daemon.stop();
        await nats.dispose();
      },
    };
  } catch (err) {
    await nats.dispose();
    throw err;
  }
}

async function sustained(target: Target, total: number): Promise<WindowRow[]> {
  const windowSize = Math.max(BATCH, Math.floor(total / 10));
  const rows: WindowRow[] = [];
  try {
    const meter = gapMeter();
    let done = 0;
    let wake: (() => void) | null = null;
    let windowStart = performance.now();
    // A window closes on the completion that ends it (not when the submitting loop next looks).
    target.onCompleted(() => {
      done++;
      if (done % windowSize === 0 || done === total) {
        const now = performance.now();
        const gap = meter.reset();
        const size = done % windowSize === 0 ? windowSize : done % windowSize;
        const row: WindowRow = {
          upTo: done,
          tasksPerSec: round(size / ((now - windowStart) / 1000)),
          maxGapMs: target.local ? round(gap) : null,
          heapMb: target.local ? round(process.memoryUsage().heapUsed / 2 ** 20, 1) : null,
        };
        rows.push(row);
        log(
          `  ${row.upTo} done: ${row.tasksPerSec} tasks/s${row.maxGapMs === null ? '' : `, longest gap ${row.maxGapMs} ms`}`,
        );
        windowStart = now;
      }
      if (wake && (done % BATCH === 0 || done === total)) {
        const w = wake;
        wake = null;
        w();
      }
    });
    let sent = 0;
    while (done < total) {
      while (sent < total && sent - done < OUTSTANDING) {
        const size = Math.min(BATCH, total - sent);
        await target.add(size);
        sent += size;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (done >= total || (sent < total && sent - done < OUTSTANDING)) {
          wake = null;
          resolve();
        }
      });
    }
    meter.stop();
    return rows;
  } finally {
    await target.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-scaling-'));
  try {
    log(`scaling (node ${process.version}, ${cpus().length} cpus, load ${loadavg()[0]?.toFixed(2)}, store ${STORE})`);
    const queuedRows: QueuedRow[] = [];
    for (const n of SIZES) {
      queuedRows.push(await queued(dir, n));
      log(`  queued ${n}: ${JSON.stringify(queuedRows.at(-1))}`);
    }
    const windows =
      TOTAL > 0 ? await sustained(VIA === 'nats' ? await natsTarget(dir) : await localTarget(dir), TOTAL) : [];
    log('\nqueued, then run     tasks   longest gap ms   run ms   tasks/s');
    for (const r of queuedRows)
      log(
        `${''.padEnd(20)} ${String(r.tasks).padStart(6)} ${String(r.maxGapMs).padStart(16)} ${String(r.runMs).padStart(8)} ${String(r.tasksPerSec).padStart(9)}`,
      );
    log(`\nsustained${VIA === 'nats' ? ' (daemon over NATS)' : ''}, window up to   tasks/s   longest gap ms   heap MB`);
    for (const r of windows)
      log(
        `${String(r.upTo).padStart(VIA === 'nats' ? 42 : 24)} ${String(r.tasksPerSec).padStart(9)} ${String(r.maxGapMs ?? '-').padStart(16)} ${String(r.heapMb ?? '-').padStart(9)}`,
      );
    for (const f of writeResults('scaling', {
      node: process.version,
      cpus: cpus().length,
      load: loadavg(),
      store: STORE,
      queued: queuedRows,
      sustained: { via: VIA, total: TOTAL, batch: BATCH, outstanding: OUTSTANDING, windows },
    }))
      log(`wrote ${f}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
