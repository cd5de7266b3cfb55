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
 * The throughput runs are in `taskThroughput.ts`, the latency runs in `taskLatency.ts`, the memory probe in
 * `taskMemory.ts`.
 *
 * Run: `npm run bench:tasks`. Env: BENCH_ONLY=keys, latency, tracing or throughput (only those runs; with BENCH_CPTW=16
 * the throughput runs of that setting only), BENCH_TRACING_BEFORE (another checkout's built dist/src/index.js: its
 * tracing runs side by side, see tracingCost.ts), BENCH_N (tasks per throughput run, default 100000), BENCH_REPEATS (3),
 * BENCH_BATCH (calls in flight / tasks per addTasks call, 1000), BENCH_LATENCY_SAMPLES (2000), BENCH_LATENCY_RUNS (5),
 * BENCH_QUEUED (tasks for the memory probe, 100000), BENCH_STRICT=1 (exit code 1 when a target is missed).
 * Writes benchmarks/results/tasks-<timestamp>.json and benchmarks/results/tasks-latest.json.
 */
import os from 'node:os';
import type { TaskInput } from '../src/model/task.js';
import { keyRuns, printKeyRuns } from './taskKeys.js';
import type { ThroughputResult } from './taskThroughput.js';
import { throughputBench } from './taskThroughput.js';
import type { LatencyResult } from './taskLatency.js';
import { latencyRuns, printLatencyRuns } from './taskLatency.js';
import type { MemoryResult } from './taskMemory.js';
import { printQueuedMemory, queuedMemory } from './taskMemory.js';
import { printTracingRuns, tracingRuns } from './tracingCost.js';
import { envInt, gc, log, machineReport, round, writeResults } from './support.js';

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
const { throughput, warmUp, printThroughput } = throughputBench({
  threads: THREADS,
  n: N,
  repeats: REPEATS,
  batch: BATCH,
  warmupTasks: WARMUP_TASKS,
  settings: CONCURRENCY_SETTINGS,
});

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
  printThroughput(tp);
  printLatencyRuns(lat);
  printQueuedMemory(mem);
  log('Targets');
  console.table(
    targets.map((t) => ({ target: t.name, wanted: t.target, actual: t.actual, result: t.pass ? 'PASS' : 'FAIL' })),
  );
}

// ------------------------------------------------------------------------------------------------ main

/** The partial runs `BENCH_ONLY` picks: each prints its table and returns its results file's name and content. */
const ONLY: Record<string, () => Promise<[string, Record<string, unknown>]>> = {
  keys: async () => {
    const keys = await keyRuns(N, REPEATS, THREADS);
    printKeyRuns(keys);
    return ['tasks-keys', { keys }];
  },
  latency: async () => {
    const latency = await latencyRuns(THREADS, LATENCY_RUNS, LATENCY_SAMPLES);
    printLatencyRuns(latency);
    return ['tasks-latency', { latency }];
  },
  tracing: async () => {
    const tracing = await tracingRuns(N, REPEATS, THREADS);
    printTracingRuns(tracing);
    return ['tasks-tracing', { tracing }];
  },
  throughput: async () => {
    const settings = process.env['BENCH_CPTW'] ? [envInt('BENCH_CPTW', 16)] : CONCURRENCY_SETTINGS;
    await warmUp();
    const throughputRuns: ThroughputResult[] = [];
    for (const cptw of settings) throughputRuns.push(await throughput(cptw));
    printThroughput(throughputRuns);
    return ['tasks-throughput', { n: N, repeats: REPEATS, throughput: throughputRuns }];
  },
};

async function main(): Promise<void> {
  // `BENCH_ONLY=keys`, `latency`, `tracing` or `throughput`: only those runs (taskKeys.ts, taskLatency.ts,
  // tracingCost.ts, the throughput runs of the settings in BENCH_CPTW, e.g. `16`, default both).
  const only = ONLY[process.env['BENCH_ONLY'] ?? ''];
  if (only) {
    const [name, result] = await only();
    const report = {
      benchmark: name,
      startedAt: new Date().toISOString(),
      node: process.version,
      loadAverage: os.loadavg(),
      ...result,
    };
    log(`wrote ${writeResults(name, report).join(', ')}`);
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
