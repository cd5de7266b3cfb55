/**
 * The scaling curve (issue 30, item 3): how the engine's costs grow with the work it holds.
 *
 * Queued tasks, 10^3 … 10^6 (each size on a fresh engine with a SQLite store in a temp folder): `addTasks` in
 * batches of 10,000 with execution off (the time to validate and create them), the RSS and heap they hold while
 * queued, then one `startExecution()` that runs them all (throughput, and the p99 of each task's time from the
 * start of execution to its end, which grows with the queue ahead of it by design), and the store's size on disk.
 *
 * Workflows, 10 … 100,000 steps (`core.noop`, 100 parallel chains: step i depends on step i-100, so the DAG has n
 * edges): `validateWorkflow` alone, `createWorkflow` (validate + store), the time from `executeWorkflow` to its first
 * step's start, and the whole run (steps per second).
 *
 * Each cost should be flat (per item) or linear (in total) in the size; the table prints per-item costs so a
 * quadratic step shows as a per-item cost that grows. Targets checked: a 100,000-step workflow validates and starts
 * in under 2 s; 10^6 queued tasks under 500 MB RSS.
 *
 * Run: `npm run bench:scale`. Env: BENCH_SCALE_TASKS_MAX (default 1000000), BENCH_SCALE_STEPS_MAX (default 100000),
 * BENCH_THREADS (default 2). Writes benchmarks/results/scale-<timestamp>.json and scale-latest.json, whose `chart`
 * is a Vega-Lite spec of the per-item curves.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { OrchestrationEngine, TaskInput } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import { ModuleRegistry } from '../src/modules/registry.js';
import { validateWorkflow } from '../src/workflows/validate.js';
import { envInt, fullGc, log, mb, round, writeResults } from './support.js';

const TASKS_MAX = envInt('BENCH_SCALE_TASKS_MAX', 1_000_000);
const STEPS_MAX = envInt('BENCH_SCALE_STEPS_MAX', 100_000);
const THREADS = envInt('BENCH_THREADS', 2);
const ADD_BATCH = 10_000;
const CHAINS = 100;
const TARGETS = { stepsValidateAndStartMs: 2000, queuedMillionRssMB: 500 } as const;

const sizes = (max: number, from: number): number[] => {
  const out: number[] = [];
  for (let n = from; n <= max; n *= 10) out.push(n);
  return out;
};

function folderBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size;
  return total;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

function engineIn(dir: string): OrchestrationEngine {
  return createOrchestrationEngine({
    store: 'sqlite',
    dbPath: join(dir, 'state.db'),
    threads: THREADS,
    concurrentTasksPerWorker: 16,
    workflowDirs: [],
    agingMs: 0,
    metrics: { enabled: false },
    storeRetention: { tasks: 10_000_000, runs: 1000 },
  });
}

// ------------------------------------------------------------------------------------------------ queued tasks

interface TaskRow {
  tasks: number;
  addMs: number;
  addUsPerTask: number;
  rssQueuedMB: number;
  heapQueuedMB: number;
  rssBytesPerTask: number;
  executeMs: number;
  tasksPerSec: number;
  p99EndMs: number;
  storeMB: number;
  storeBytesPerTask: number;
}

async function queuedTasks(n: number): Promise<TaskRow> {
  const dir = mkdtempSync(join(os.tmpdir(), 'codomyrmex-scale-'));
  await fullGc();
  const engine = engineIn(dir);
  try {
    await engine.ready();
    await fullGc();
    const before = process.memoryUsage();
    const noop: TaskInput = { module: 'core', action: 'noop', maxRetries: 0 };
    const t0 = performance.now();
    for (let added = 0; added < n; added += ADD_BATCH) {
      await engine.tasks.addTasks(Array.from({ length: Math.min(ADD_BATCH, n - added) }, () => ({ ...noop })));
    }
    const addMs = performance.now() - t0;
    await fullGc();
    const queued = process.memoryUsage();
    // Each task's time from the start of execution to its end: the queue ahead of it, then its run.
    const ends = new Float64Array(n);
    let ended = 0;
    let start = 0;
    const sub = engine.bus.events$('task_completed').subscribe(() => {
      if (ended < n) ends[ended++] = performance.now() - start;
    });
    start = performance.now();
    const reply = await engine.tasks.startExecution();
    const executeMs = performance.now() - start;
    sub.unsubscribe();
    if ((reply.byStatus.completed ?? 0) !== n)
      throw new Error(`${n} queued tasks: ${reply.byStatus.completed ?? 0} completed`);
    await engine.flush();
    const storeBytes = folderBytes(dir);
    ends.subarray(0, ended).sort();
    return {
      tasks: n,
      addMs: round(addMs),
      addUsPerTask: round((addMs * 1000) / n, 2),
      rssQueuedMB: mb(queued.rss - before.rss),
      heapQueuedMB: mb(queued.heapUsed - before.heapUsed),
      rssBytesPerTask: round((queued.rss - before.rss) / n),
      executeMs: round(executeMs),
      tasksPerSec: round((n / executeMs) * 1000),
      p99EndMs: round(percentile(ends.subarray(0, ended), 99)),
      storeMB: mb(storeBytes),
      storeBytesPerTask: round(storeBytes / n),
    };
  } finally {
    await engine.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------ workflows

interface WorkflowRow {
  steps: number;
  validateMs: number;
  createMs: number;
  firstStepMs: number;
  validateAndStartMs: number;
  runMs: number;
  stepsPerSec: number;
  validateUsPerStep: number;
  createUsPerStep: number;
  storeMB: number;
}

function definition(n: number): { name: string; module: string; action: string; dependencies?: string[] }[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `s${i}`,
    module: 'core',
    action: 'noop',
    ...(i >= CHAINS ? { dependencies: [`s${i - CHAINS}`] } : {}),
  }));
}

async function workflow(n: number): Promise<WorkflowRow> {
  const dir = mkdtempSync(join(os.tmpdir(), 'codomyrmex-scale-'));
  const steps = definition(n);
  await fullGc();
  const t0 = performance.now();
  const checked = validateWorkflow({ name: `w${n}`, steps }, new ModuleRegistry());
  const validateMs = performance.now() - t0;
  if (!checked.valid) throw new Error(`w${n}: ${checked.errors.slice(0, 3).join('; ')}`);
  const engine = engineIn(dir);
  try {
    await engine.ready();
    const t1 = performance.now();
    await engine.workflows.createWorkflow(`w${n}`, steps);
    const createMs = performance.now() - t1;
    let firstStepMs = NaN;
    let start = 0;
    const sub = engine.bus.events$('step_started').subscribe(() => {
      if (Number.isNaN(firstStepMs)) firstStepMs = performance.now() - start;
    });
    start = performance.now();
    const result = await engine.workflows.executeWorkflow(`w${n}`);
    const runMs = performance.now() - start;
    sub.unsubscribe();
    if (!result.success) throw new Error(`w${n} failed: ${result.error?.message ?? 'unknown'}`);
    await engine.flush();
    return {
      steps: n,
      validateMs: round(validateMs, 1),
      createMs: round(createMs, 1),
      firstStepMs: round(firstStepMs, 1),
      validateAndStartMs: round(createMs + firstStepMs, 1),
      runMs: round(runMs),
      stepsPerSec: round((n / runMs) * 1000),
      validateUsPerStep: round((validateMs * 1000) / n, 2),
      createUsPerStep: round((createMs * 1000) / n, 2),
      storeMB: mb(folderBytes(dir)),
    };
  } finally {
    await engine.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------ main

/** A Vega-Lite spec of the per-item costs against the size (log-log): flat lines are linear costs. */
function chartOf(tasks: TaskRow[], workflows: WorkflowRow[]): object {
  const values = [
    ...tasks.flatMap((r) => [
      { series: 'addTasks µs/task', size: r.tasks, value: r.addUsPerTask },
      { series: 'execute µs/task', size: r.tasks, value: (r.executeMs * 1000) / r.tasks },
      { series: 'RSS bytes/task ÷ 100', size: r.tasks, value: r.rssBytesPerTask / 100 },
    ]),
    ...workflows.flatMap((r) => [
      { series: 'validate µs/step', size: r.steps, value: r.validateUsPerStep },
      { series: 'createWorkflow µs/step', size: r.steps, value: r.createUsPerStep },
      { series: 'run µs/step', size: r.steps, value: (r.runMs * 1000) / r.steps },
    ]),
  ].filter((v) => Number.isFinite(v.value) && v.value > 0);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'codomyrmex scaling: cost per item against size (flat = linear total)',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'size', type: 'quantitative', scale: { type: 'log' }, title: 'tasks queued / workflow steps' },
      y: { field: 'value', type: 'quantitative', scale: { type: 'log' }, title: 'cost per item' },
      color: { field: 'series', type: 'nominal' },
    },
  };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  log(
    `codomyrmex scaling benchmark: node ${process.version}, ${os.cpus().length} cpus, load ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}, threads=${THREADS}`,
  );
  const tasks: TaskRow[] = [];
  for (const n of sizes(TASKS_MAX, 1000)) {
    log(`queued tasks: ${n.toLocaleString('en-US')} ...`);
    tasks.push(await queuedTasks(n));
  }
  const workflows: WorkflowRow[] = [];
  for (const n of sizes(STEPS_MAX, 10)) {
    log(`workflow: ${n.toLocaleString('en-US')} steps ...`);
    workflows.push(await workflow(n));
  }
  log('Queued tasks (SQLite store; add with execution off, then one startExecution)');
  console.table(tasks);
  log(`Workflows (core.noop steps, ${CHAINS} parallel chains)`);
  console.table(workflows);
  const biggestWorkflow = workflows.at(-1);
  const million = tasks.find((r) => r.tasks === 1_000_000);
  const targets = [
    ...(biggestWorkflow && biggestWorkflow.steps === 100_000
      ? [
          {
            target: `100,000-step workflow validates and starts < ${TARGETS.stepsValidateAndStartMs} ms`,
            actual: biggestWorkflow.validateAndStartMs,
            pass: biggestWorkflow.validateAndStartMs < TARGETS.stepsValidateAndStartMs,
          },
        ]
      : []),
    ...(million
      ? [
          {
            target: `10^6 queued tasks < ${TARGETS.queuedMillionRssMB} MB RSS`,
            actual: million.rssQueuedMB,
            pass: million.rssQueuedMB < TARGETS.queuedMillionRssMB,
          },
        ]
      : []),
  ];
  if (targets.length) console.table(targets.map((t) => ({ ...t, pass: t.pass ? 'PASS' : 'FAIL' })));
  const report = {
    benchmark: 'scale',
    startedAt,
    node: process.version,
    cpus: os.cpus().length,
    loadAverage: { atStart: loadAtStart, atEnd: os.loadavg() },
    settings: { threads: THREADS, addBatch: ADD_BATCH, chains: CHAINS, tasksMax: TASKS_MAX, stepsMax: STEPS_MAX },
    tasks,
    workflows,
    targets,
    chart: chartOf(tasks, workflows),
  };
  log(`wrote ${writeResults('scale', report).join(', ')}`);
}

await main();
