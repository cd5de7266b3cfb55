/**
 * Task benchmark: what the orchestrator costs on top of the worker pool it drives.
 *
 * No-op tasks (`core.noop`) run (1) through the orchestrator, via many `executeTask` calls in flight and via
 * `addTasks` batches then `startExecution()`, and (2) through a bare Piscina pool with the same settings and the
 * same compiled worker (`dist/src/workers/worker.js`). Then: single-task latency (one awaited call at a time) and
 * the memory held by 100k queued tasks. Every throughput run gets a fresh engine or pool; runs are repeated and
 * rotated (bare, orch, orch, then the next order) and the median is compared, so machine noise does not decide.
 *
 * Then the concurrency-key runs of `taskKeys.ts` (10,000 distinct keys; 1 hot + 1,000 cold keys; fairness), and the
 * tracing runs of `tracingCost.ts` (tracing off, on and sampled, on and unsampled, side by side).
 *
 * Run: `npm run bench:tasks`. Env: BENCH_ONLY=keys, latency or tracing (only those runs), BENCH_TRACING_BEFORE (another
 * checkout's built dist/src/index.js: its tracing runs side by side, see tracingCost.ts), BENCH_N (tasks per throughput run, default 100000), BENCH_REPEATS (3),
 * BENCH_BATCH (calls in flight / tasks per addTasks call, 1000), BENCH_LATENCY_SAMPLES (2000), BENCH_LATENCY_RUNS (5),
 * BENCH_QUEUED (tasks for the memory probe, 100000), BENCH_STRICT=1 (exit code 1 when a target is missed).
 * Writes benchmarks/results/tasks-<timestamp>.json and benchmarks/results/tasks-latest.json.
 */
import os from 'node:os';
import type { OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import type { TaskInput } from '../src/model/task.js';
import type { BarePool } from './support.js';
import { keyRuns, printKeyRuns } from './taskKeys.js';
import type { LatencyResult } from './taskLatency.js';
import { latencyRuns, printLatencyRuns } from './taskLatency.js';
import type { MemoryResult } from './taskMemory.js';
import { printQueuedMemory, queuedMemory } from './taskMemory.js';
import { printTracingRuns, tracingRuns } from './tracingCost.js';
import {
  bareProbe,
  bareRequest,
  createBarePool,
  envInt,
  fullGc,
  gc,
  log,
  median,
  machineReport,
  round,
  warmThreads,
  writeResults,
} from './support.js';

// ------------------------------------------------------------------------------------------------ settings

const THREADS = os.availableParallelism();
const N = envInt('BENCH_N', 100_000);
const REPEATS = envInt('BENCH_REPEATS', 3);
const BATCH = envInt('BENCH_BATCH', 1000);
const LATENCY_SAMPLES = envInt('BENCH_LATENCY_SAMPLES', 2000);
const LATENCY_RUNS = envInt('BENCH_LATENCY_RUNS', 5);
const QUEUED = envInt('BENCH_QUEUED', 100_000);
const STRICT = process.env['BENCH_STRICT'] === '1';
const CONCURRENCY_SETTINGS = [1, 16] as const;
/** Tasks run through each path once, on a throwaway engine/pool, to warm the main thread's JIT. */
const WARMUP_TASKS = Math.min(N, 5000);

/** Batched paths at 1.5x bare Piscina (issue 15), one task at a time within 1.3x (issue 30), 100k queued < 100 MB. */
const TARGETS = {
  throughputRatioMin: 1.5,
  latencyP50RatioMax: 1.3,
  queuedRssMaxMB: 100,
} as const;

const NOOP: TaskInput = { module: 'core', action: 'noop', parameters: {} };
const noopTask = (): TaskInput => ({ ...NOOP, parameters: {} });

// ------------------------------------------------------------------------------------------------ helpers

// ------------------------------------------------------------------------------------------------ subjects

function createEngine(concurrentTasksPerWorker: number, batchDispatch = true): OrchestrationEngine {
  return createOrchestrationEngine({ threads: THREADS, concurrentTasksPerWorker, batchDispatch });
}

const engineProbe = (engine: OrchestrationEngine) => () => engine.pool.probe();

// ------------------------------------------------------------------------------------------------ throughput

type Path = 'bare' | 'orchExecute' | 'orchAddTasks' | 'orchExecuteAlone' | 'orchAddTasksAlone';
const PATHS: readonly Path[] = ['bare', 'orchExecute', 'orchAddTasks', 'orchExecuteAlone', 'orchAddTasksAlone'];
/** The orchestrated paths, batched (the default) and with `batchDispatch: false` as the reference. */
type OrchPath = Exclude<Path, 'bare'>;
const ORCH_PATHS: readonly OrchPath[] = ['orchExecute', 'orchAddTasks', 'orchExecuteAlone', 'orchAddTasksAlone'];
const PATH_LABEL: Record<Path, string> = {
  bare: 'bare Piscina (submit all, await all)',
  orchExecute: `orchestrator executeTask (${BATCH} in flight), batched`,
  orchAddTasks: `orchestrator addTasks(${BATCH}) + startExecution, batched`,
  orchExecuteAlone: `orchestrator executeTask (${BATCH} in flight), one per dispatch`,
  orchAddTasksAlone: `orchestrator addTasks(${BATCH}) + startExecution, one per dispatch`,
};

interface RunResult {
  tasksPerSec: number;
  ms: number;
  /** addTasks path only: time spent adding, then executing. */
  addMs?: number;
  executeMs?: number;
}

function expectAll(done: number, n: number, what: string): void {
  if (done !== n) throw new Error(`${what}: ${done} of ${n} tasks completed`);
}

/** Submits all n requests to the pool at once and awaits them all. */
async function runBare(pool: BarePool, n: number): Promise<RunResult> {
  const t0 = performance.now();
  const replies = await Promise.all(Array.from({ length: n }, () => pool.run(bareRequest())));
  const ms = performance.now() - t0;
  expectAll(replies.filter((r) => r.type === 'ok').length, n, 'bare');
  return { tasksPerSec: (n / ms) * 1000, ms };
}

/** `executeTask` calls, `BATCH` in flight at once (Promise.all over each batch). */
async function runOrchExecute(engine: OrchestrationEngine, n: number): Promise<RunResult> {
  let ok = 0;
  const t0 = performance.now();
  for (let done = 0; done < n; done += BATCH) {
    const size = Math.min(BATCH, n - done);
    const results = await Promise.all(Array.from({ length: size }, () => engine.tasks.executeTask(noopTask())));
    for (const r of results) if (r.success) ok++;
  }
  const ms = performance.now() - t0;
  expectAll(ok, n, 'executeTask');
  return { tasksPerSec: (n / ms) * 1000, ms };
}

/** `addTasks` in batches of `BATCH` (nothing runs yet), then one `startExecution()` that resolves when all ended. */
async function runOrchAddTasks(engine: OrchestrationEngine, n: number): Promise<RunResult> {
  const t0 = performance.now();
  for (let added = 0; added < n; added += BATCH) {
    await engine.tasks.addTasks(Array.from({ length: Math.min(BATCH, n - added) }, noopTask));
  }
  const t1 = performance.now();
  const reply = await engine.tasks.startExecution();
  const t2 = performance.now();
  expectAll(reply.byStatus.completed ?? 0, n, 'addTasks + startExecution');
  const ms = t2 - t0;
  return { tasksPerSec: (n / ms) * 1000, ms, addMs: t1 - t0, executeMs: t2 - t1 };
}

/** One measured run of one path on a fresh engine or pool, torn down afterwards. */
async function measure(path: Path, concurrentTasksPerWorker: number, n: number): Promise<RunResult> {
  await fullGc();
  const capacity = THREADS * concurrentTasksPerWorker;
  if (path === 'bare') {
    const pool = createBarePool(THREADS, concurrentTasksPerWorker);
    try {
      await warmThreads(bareProbe(pool), capacity, THREADS);
      return await runBare(pool, n);
    } finally {
      await pool.destroy();
    }
  }
  const engine = createEngine(concurrentTasksPerWorker, path === 'orchExecute' || path === 'orchAddTasks');
  try {
    await engine.ready();
    await warmThreads(engineProbe(engine), capacity, THREADS);
    return path === 'orchExecute' || path === 'orchExecuteAlone'
      ? await runOrchExecute(engine, n)
      : await runOrchAddTasks(engine, n);
  } finally {
    await engine.shutdown();
  }
}

interface ThroughputResult {
  threads: number;
  concurrentTasksPerWorker: number;
  runs: Record<Path, RunResult[]>;
  medianTasksPerSec: Record<Path, number>;
  bestTasksPerSec: Record<Path, number>;
  /** Median orchestrated / median bare (what the target is judged on). */
  ratio: Record<OrchPath, number>;
  /** Best orchestrated / best bare: noise only slows runs down, so this shows the uncontended ratio. */
  bestRatio: Record<OrchPath, number>;
}

async function throughput(concurrentTasksPerWorker: number): Promise<ThroughputResult> {
  const runs: Record<Path, RunResult[]> = {
    bare: [],
    orchExecute: [],
    orchAddTasks: [],
    orchExecuteAlone: [],
    orchAddTasksAlone: [],
  };
  for (let rep = 0; rep < REPEATS; rep++) {
    // Rotate the order each repeat so no path always runs first (or right after a GC-heavy one).
    const order = PATHS.map((_, i) => PATHS[(i + rep) % PATHS.length]!);
    for (const path of order) {
      const r = await measure(path, concurrentTasksPerWorker, N);
      runs[path].push(r);
      log(
        `  cptw=${String(concurrentTasksPerWorker).padEnd(2)} rep ${rep + 1}/${REPEATS}  ${path.padEnd(12)} ${Math.round(r.tasksPerSec).toLocaleString('en-US').padStart(8)} tasks/s  (${Math.round(r.ms)} ms)`,
      );
    }
  }
  const med = (p: Path): number => median(runs[p].map((r) => r.tasksPerSec));
  const best = (p: Path): number => Math.max(...runs[p].map((r) => r.tasksPerSec));
  const medianTasksPerSec = Object.fromEntries(PATHS.map((p) => [p, med(p)])) as Record<Path, number>;
  const bestTasksPerSec = Object.fromEntries(PATHS.map((p) => [p, best(p)])) as Record<Path, number>;
  return {
    threads: THREADS,
    concurrentTasksPerWorker,
    runs,
    medianTasksPerSec,
    bestTasksPerSec,
    ratio: Object.fromEntries(ORCH_PATHS.map((p) => [p, medianTasksPerSec[p] / medianTasksPerSec.bare])) as Record<
      OrchPath,
      number
    >,
    bestRatio: Object.fromEntries(ORCH_PATHS.map((p) => [p, bestTasksPerSec[p] / bestTasksPerSec.bare])) as Record<
      OrchPath,
      number
    >,
  };
}

/** Runs every path once on throwaway engines/pools so the main thread's JIT is warm before anything is timed. */
async function warmUp(): Promise<void> {
  for (const cptw of CONCURRENCY_SETTINGS) for (const path of PATHS) await measure(path, cptw, WARMUP_TASKS);
}

// ------------------------------------------------------------------------------------------------ report

interface Target {
  name: string;
  target: string;
  actual: string;
  pass: boolean;
}

function targetsOf(tp: readonly ThroughputResult[], lat: LatencyResult, mem: MemoryResult): Target[] {
  const out: Target[] = [];
  for (const t of tp) {
    for (const path of ['orchExecute', 'orchAddTasks'] as const) {
      out.push({
        name: `throughput ${path} (batched) cptw=${t.concurrentTasksPerWorker}`,
        target: `>= ${TARGETS.throughputRatioMin}x bare`,
        actual: `${round(t.ratio[path], 3)}x`,
        pass: t.ratio[path] >= TARGETS.throughputRatioMin,
      });
    }
  }
  out.push({
    name: `single-task latency p50, median of ${lat.runs.length} interleaved runs`,
    target: `<= ${TARGETS.latencyP50RatioMax}x bare round trip`,
    actual: `${lat.p50Ratio.median}x (runs ${lat.p50Ratio.min}–${lat.p50Ratio.max}x; ${lat.p50Us.orchestrated} µs vs ${lat.p50Us.bare} µs)`,
    pass: lat.p50Ratio.median <= TARGETS.latencyP50RatioMax,
  });
  out.push({
    name: `${mem.tasks.toLocaleString('en-US')} queued tasks RSS`,
    target: `< ${TARGETS.queuedRssMaxMB} MB`,
    actual: `${mem.rssDeltaMB} MB${mem.gcAvailable ? '' : ' (no gc)'}`,
    pass: mem.rssDeltaMB < TARGETS.queuedRssMaxMB,
  });
  return out;
}

function printTables(
  tp: readonly ThroughputResult[],
  lat: LatencyResult,
  mem: MemoryResult,
  targets: readonly Target[],
): void {
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  log(
    `\nThroughput: ${N.toLocaleString('en-US')} no-op tasks per run, threads=${THREADS}, median (best) of ${REPEATS}`,
  );
  console.table(
    tp.flatMap((t) =>
      PATHS.map((path) => ({
        cptw: t.concurrentTasksPerWorker,
        path: PATH_LABEL[path],
        'tasks/s median': fmt(t.medianTasksPerSec[path]),
        'tasks/s best': fmt(t.bestTasksPerSec[path]),
        'median vs bare': path === 'bare' ? '1.000x' : `${t.ratio[path].toFixed(3)}x`,
        'best vs bare': path === 'bare' ? '1.000x' : `${t.bestRatio[path].toFixed(3)}x`,
      })),
    ),
  );
  printLatencyRuns(lat);
  printQueuedMemory(mem);
  log('Targets');
  console.table(
    targets.map((t) => ({ target: t.name, wanted: t.target, actual: t.actual, result: t.pass ? 'PASS' : 'FAIL' })),
  );
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  // `BENCH_ONLY=keys`: only the concurrency-key runs (taskKeys.ts).
  if (process.env['BENCH_ONLY'] === 'keys') {
    const keys = await keyRuns(N, REPEATS, THREADS);
    printKeyRuns(keys);
    log(
      `wrote ${writeResults('tasks-keys', { benchmark: 'tasks-keys', startedAt: new Date().toISOString(), node: process.version, loadAverage: os.loadavg(), keys }).join(', ')}`,
    );
    return;
  }
  // `BENCH_ONLY=latency`: only the one-task-at-a-time runs (taskLatency.ts).
  if (process.env['BENCH_ONLY'] === 'latency') {
    const latency = await latencyRuns(THREADS, LATENCY_RUNS, LATENCY_SAMPLES);
    printLatencyRuns(latency);
    log(
      `wrote ${writeResults('tasks-latency', { benchmark: 'tasks-latency', startedAt: new Date().toISOString(), node: process.version, loadAverage: os.loadavg(), latency }).join(', ')}`,
    );
    return;
  }
  // `BENCH_ONLY=tracing`: only the tracing runs (tracingCost.ts).
  if (process.env['BENCH_ONLY'] === 'tracing') {
    const tracing = await tracingRuns(N, REPEATS, THREADS);
    printTracingRuns(tracing);
    log(
      `wrote ${writeResults('tasks-tracing', { benchmark: 'tasks-tracing', startedAt: new Date().toISOString(), node: process.version, loadAverage: os.loadavg(), tracing }).join(', ')}`,
    );
    return;
  }
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  log(
    `codomyrmex task benchmark: node ${process.version}, ${os.cpus().length} cpus (availableParallelism ${THREADS}), ` +
      `load ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}, N=${N}, repeats=${REPEATS}, gc ${gc ? 'on' : 'off'}`,
  );

  // Memory first, on a fresh heap: later phases raise the heap's high-water mark, which would hide RSS growth.
  log('memory: queueing tasks ...');
  const mem = await queuedMemory(THREADS, QUEUED, BATCH);
  log('warm-up ...');
  await warmUp();
  const tp: ThroughputResult[] = [];
  for (const cptw of CONCURRENCY_SETTINGS) {
    log(`throughput, concurrentTasksPerWorker=${cptw}:`);
    tp.push(await throughput(cptw));
  }
  log('latency ...');
  const lat = await latencyRuns(THREADS, LATENCY_RUNS, LATENCY_SAMPLES);
  log('concurrency keys ...');
  const keys = await keyRuns(N, REPEATS, THREADS);
  log('tracing ...');
  const tracing = await tracingRuns(N, REPEATS, THREADS);

  const targets = targetsOf(tp, lat, mem);
  printTables(tp, lat, mem, targets);
  printKeyRuns(keys);
  printTracingRuns(tracing);
  const pass = targets.every((t) => t.pass);
  const durationMs = round(performance.now() - started);
  const report = {
    benchmark: 'tasks',
    startedAt,
    durationMs,
    machine: machineReport(THREADS, loadAtStart),
    settings: {
      n: N,
      repeats: REPEATS,
      batch: BATCH,
      warmupTasks: WARMUP_TASKS,
      latencySamples: LATENCY_SAMPLES,
      queuedTasks: QUEUED,
      threads: THREADS,
      concurrentTasksPerWorker: CONCURRENCY_SETTINGS,
      gcAvailable: gc !== null,
      task: NOOP,
    },
    throughput: tp,
    latency: lat,
    memory: mem,
    keys,
    tracing,
    targets,
    pass,
  };
  const files = writeResults('tasks', report);
  log(
    `\n${pass ? 'all targets met' : 'some targets missed'}; ${round(durationMs / 1000, 1)} s; wrote ${files.join(', ')}`,
  );
  if (STRICT && !pass) process.exitCode = 1;
}

await main();
