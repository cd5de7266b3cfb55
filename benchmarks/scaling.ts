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
 * (queued), --total N (sustained, default 400000), --store memory|sqlite (default sqlite).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineOptions, OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import { fullGc, log, round, writeResults } from './support.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const SIZES = (arg('sizes') ?? '50000,100000,200000').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const TOTAL = Number(arg('total') ?? 400_000);
const STORE = arg('store') === 'memory' ? 'memory' : 'sqlite';
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
  const options: EngineOptions = STORE === 'sqlite' ? { store: 'sqlite', dbPath: join(dir, `${name}.db`), durability: 'relaxed' } : { store: 'memory' };
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
      await engine.tasks.addTasks(Array.from({ length: Math.min(CHUNK, n - i) }, () => ({ module: 'core', action: 'noop' })));
    }
    await engine.flush();
    await fullGc();
    const meter = gapMeter();
    const t0 = performance.now();
    const reply = await engine.tasks.startExecution();
    const runMs = performance.now() - t0;
    const maxGapMs = meter.stop();
    if (reply.total !== n || reply.byStatus.completed !== n) throw new Error(`queued ${n}: ${JSON.stringify(reply.byStatus)}`);
    return { tasks: n, maxGapMs: round(maxGapMs), runMs: round(runMs), tasksPerSec: round(n / (runMs / 1000)) };
  } finally {
    await engine.shutdown();
  }
}

interface WindowRow {
  upTo: number;
  tasksPerSec: number;
  maxGapMs: number;
  heapMb: number;
}

async function sustained(dir: string, total: number): Promise<WindowRow[]> {
  const engine = engineAt(dir, 'sustained');
  const windowSize = Math.max(BATCH, Math.floor(total / 10));
  const rows: WindowRow[] = [];
  try {
    await engine.ready();
    let done = 0;
    let wake: (() => void) | null = null;
    engine.registerEventHandler('task_completed', () => {
      done++;
      if (wake && (done % BATCH === 0 || done === total)) {
        const w = wake;
        wake = null;
        w();
      }
    });
    const meter = gapMeter();
    let sent = 0;
    let windowStart = performance.now();
    let nextMark = windowSize;
    await engine.tasks.startExecution();
    while (done < total) {
      while (sent < total && sent - done < OUTSTANDING) {
        const size = Math.min(BATCH, total - sent);
        await engine.tasks.addTasks(Array.from({ length: size }, () => ({ module: 'core', action: 'noop' })));
        sent += size;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (done >= total || (sent < total && sent - done < OUTSTANDING)) {
          wake = null;
          resolve();
        }
      });
      while (done >= nextMark || (done >= total && nextMark - windowSize < total)) {
        const now = performance.now();
        rows.push({ upTo: Math.min(nextMark, total), tasksPerSec: round(windowSize / ((now - windowStart) / 1000)), maxGapMs: round(meter.reset()), heapMb: round(process.memoryUsage().heapUsed / 2 ** 20, 1) });
        log(`  ${Math.min(nextMark, total)} done: ${rows.at(-1)?.tasksPerSec} tasks/s, longest gap ${rows.at(-1)?.maxGapMs} ms`);
        windowStart = now;
        nextMark += windowSize;
      }
    }
    meter.stop();
    return rows;
  } finally {
    await engine.shutdown();
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
    const windows = TOTAL > 0 ? await sustained(dir, TOTAL) : [];
    log('\nqueued, then run     tasks   longest gap ms   run ms   tasks/s');
    for (const r of queuedRows) log(`${''.padEnd(20)} ${String(r.tasks).padStart(6)} ${String(r.maxGapMs).padStart(16)} ${String(r.runMs).padStart(8)} ${String(r.tasksPerSec).padStart(9)}`);
    log('\nsustained, window up to   tasks/s   longest gap ms   heap MB');
    for (const r of windows) log(`${String(r.upTo).padStart(24)} ${String(r.tasksPerSec).padStart(9)} ${String(r.maxGapMs).padStart(16)} ${String(r.heapMb).padStart(9)}`);
    for (const f of writeResults('scaling', { node: process.version, cpus: cpus().length, load: loadavg(), store: STORE, queued: queuedRows, sustained: { total: TOTAL, batch: BATCH, outstanding: OUTSTANDING, windows } })) log(`wrote ${f}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
