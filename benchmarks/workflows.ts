/**
 * Workflow benchmark: what the workflow layer (run executor + task orchestrator) costs on top of the worker pool.
 *
 * Every step is a no-op task (`core.noop`) and every engine is `createOrchestrationEngine({ threads,
 * concurrentTasksPerWorker, workflowDirs: [] })`; workflows are stored with `createWorkflow` and run with
 * `executeWorkflow`. Cases:
 *  1. chain: 1,000 steps, each depending on the previous one; per-step wall time, next to 1,000 sequential awaited
 *     bare Piscina round trips (same worker file, same pool settings);
 *  2. fan-out/fan-in: one root, 9,998 parallel steps depending on it, one sink depending on all of them; wall time
 *     next to 10,000 bare Piscina no-op tasks (submit all, await all), for concurrentTasksPerWorker 1 and 16;
 *  3. layered DAG: 100 layers x 100 steps, each step depending on 2-3 random steps of the layer before (seeded
 *     PRNG); next to the same 10,000 tasks run bare layer by layer (a barrier per layer);
 *  4. validation: `validateWorkflow(def, new ModuleRegistry())` and `createWorkflow` of 10k-step definitions (a
 *     chain and a wide fan-out, 1 step in 10 a `core.echo` reading its upstream's output through a template), plus
 *     the fan-out/fan-in of case 2 for reference.
 * Cases 1-3 also run the same DAG as plain orchestrator tasks (`addTasks` with dependencies, then
 * `startExecution()`), for reference: bare -> tasks -> workflow splits the cost between the task orchestrator and
 * the workflow layer. Throughput runs (2, 3) get a fresh engine or pool each; all runs are repeated in rotated order
 * (bare, tasks, workflow; then tasks, workflow, bare; ...) and the medians are compared, so machine noise does not
 * decide.
 *
 *  5. foreach and waiting (benchmarks/workflowLanguage.ts): a forEach over 10,000 no-op items next to 10,000
 *     parallel steps; 10,000 runs waiting on a signal at once (memory, threads, time to signal them all).
 * Run: `npm run bench:workflows`. Env: BENCH_CHAIN (chain steps, default 1000), BENCH_FAN (fan-out/fan-in steps,
 * 10000), BENCH_LAYERS (100), BENCH_WIDTH (steps per layer, 100), BENCH_VALIDATE (steps per validated definition,
 * 10000), BENCH_REPEATS (3), BENCH_SEED (PRNG seed of the layered DAG, 1), BENCH_CPTW (concurrentTasksPerWorker
 * settings of cases 2 and 3, "1,16"), BENCH_CASES (which cases run, "chain,fan,layered,validate"), BENCH_PATHS (which
 * paths cases 1-3 time, "bare,tasks,workflow"; narrow both to profile one case's one path, e.g. `BENCH_CASES=fan
 * BENCH_PATHS=workflow BENCH_CPTW=16 node --cpu-prof dist/benchmarks/workflows.js`), BENCH_STRICT=1 (exit code 1
 * when a target is missed).
 * Writes benchmarks/results/workflows-<timestamp>.json and benchmarks/results/workflows-latest.json.
 */
import os from 'node:os';
import type { OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import type { TaskInput } from '../src/model/task.js';
import type { WorkflowResult, WorkflowStep } from '../src/model/workflow.js';
import { ModuleRegistry } from '../src/modules/registry.js';
import { validateWorkflow } from '../src/workflows/validate.js';
import type { WorkerRequest } from '../src/workers/protocol.js';
import type { BarePool } from './support.js';
import type { ForEachResult, WaitingResult } from './workflowLanguage.js';
import { forEachVsFanOut, printLanguageTables, waitingRuns } from './workflowLanguage.js';
import {
  createBarePool,
  envInt,
  fullGc,
  gc,
  log,
  mb,
  median,
  piscinaVersion,
  round,
  sleep,
  writeResults,
} from './support.js';

// ------------------------------------------------------------------------------------------------ settings

function envList<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  const items = raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const x of items)
    if (!(allowed as readonly string[]).includes(x))
      throw new Error(`${name}: "${x}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}

function envIntList(name: string, fallback: readonly number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  return raw.split(',').map((x) => {
    const n = Number(x.trim());
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: "${x}" must be an integer >= 1`);
    return n;
  });
}

type Case = 'chain' | 'fan' | 'layered' | 'validate' | 'foreach' | 'waiting';
const ALL_CASES: readonly Case[] = ['chain', 'fan', 'layered', 'validate', 'foreach', 'waiting'];
/** bare: Piscina alone; tasks: the same DAG as orchestrator tasks (no workflow layer); workflow: the workflow run. */
type Path = 'bare' | 'tasks' | 'workflow';
const ALL_PATHS: readonly Path[] = ['bare', 'tasks', 'workflow'];

const THREADS = os.availableParallelism();
const CHAIN = envInt('BENCH_CHAIN', 1000);
const FAN = envInt('BENCH_FAN', 10_000, 3);
const LAYERS = envInt('BENCH_LAYERS', 100, 2);
const WIDTH = envInt('BENCH_WIDTH', 100, 3);
const VALIDATE = envInt('BENCH_VALIDATE', 10_000, 2);
const REPEATS = envInt('BENCH_REPEATS', 3);
const SEED = envInt('BENCH_SEED', 1, 0);
const CONCURRENCY_SETTINGS = envIntList('BENCH_CPTW', [1, 16]);
const CASES = new Set(envList('BENCH_CASES', ALL_CASES, ALL_CASES));
/** Which paths cases 1-3 time; one alone is for profiling (the ratios and their targets then drop out). */
const PATHS = new Set(envList('BENCH_PATHS', ALL_PATHS, ALL_PATHS));
const STRICT = process.env['BENCH_STRICT'] === '1';
/** The chain is sequential: one task in flight whatever the setting, so it runs with one task per worker. */
const CHAIN_CPTW = 1;
/** Steps of the throwaway runs that warm the main thread's JIT before anything is timed. */
const WARMUP_STEPS = Math.min(FAN, 2000);

/** Issue 30's targets: a chain step under 0.08 ms, a 10k fan-out/fan-in at most 0.9× bare Piscina's time. */
const TARGETS = {
  chainMsPerStepMax: 0.08,
  fanRatioMax: 0.9,
  validateMsMax: 200,
} as const;

// ------------------------------------------------------------------------------------------------ helpers

const fmtInt = (x: number): string => Math.round(x).toLocaleString('en-US');

/** mulberry32: a small seeded PRNG, so the layered DAG is the same on every run with the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------------------------------------ definitions

const noopStep = (name: string, dependencies: string[] = []): WorkflowStep => ({
  name,
  module: 'core',
  action: 'noop',
  dependencies,
});

/** `s0 <- s1 <- ... <- s(n-1)`. */
function chainSteps(n: number): WorkflowStep[] {
  return Array.from({ length: n }, (_, i) => noopStep(`s${i}`, i === 0 ? [] : [`s${i - 1}`]));
}

/** `root`, then `m1 .. m(n-2)` depending on it, then `sink` depending on all of those. */
function fanSteps(n: number): WorkflowStep[] {
  const middle = Array.from({ length: n - 2 }, (_, i) => noopStep(`m${i + 1}`, ['root']));
  return [
    noopStep('root'),
    ...middle,
    noopStep(
      'sink',
      middle.map((s) => s.name),
    ),
  ];
}

/** `layers` x `width` steps; each step of layer L > 0 depends on 2 or 3 distinct random steps of layer L - 1. */
function layeredSteps(layers: number, width: number, seed: number): { steps: WorkflowStep[]; edges: number } {
  const random = prng(seed);
  const steps: WorkflowStep[] = [];
  let edges = 0;
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      const deps = new Set<string>();
      if (l > 0) {
        const want = 2 + Math.floor(random() * 2);
        while (deps.size < want) deps.add(`l${l - 1}_${Math.floor(random() * width)}`);
      }
      edges += deps.size;
      steps.push(noopStep(`l${l}_${i}`, [...deps]));
    }
  }
  return { steps, edges };
}

/** A chain whose every 10th step is a `core.echo` reading its predecessor through templates. */
function templatedChainSteps(n: number): WorkflowStep[] {
  return Array.from({ length: n }, (_, i): WorkflowStep => {
    if (i === 0) return { name: 's0', module: 'core', action: 'echo', parameters: { value: 1 } };
    const prev = `s${i - 1}`;
    if (i % 10 === 0) {
      return {
        name: `s${i}`,
        module: 'core',
        action: 'echo',
        parameters: { value: `{{${prev}.output}}`, label: `after ${prev}: {{${prev}.status}}` },
        dependencies: [prev],
      };
    }
    return noopStep(`s${i}`, [prev]);
  });
}

/** A root and n - 1 steps depending on it; every 10th a `core.echo` reading the root's output through a template. */
function templatedFanOutSteps(n: number): WorkflowStep[] {
  const leaves = Array.from({ length: n - 1 }, (_, i): WorkflowStep =>
    (i + 1) % 10 === 0
      ? {
          name: `f${i + 1}`,
          module: 'core',
          action: 'echo',
          parameters: { value: '{{root.output}}', label: 'root was {{root.status}}' },
          dependencies: ['root'],
        }
      : noopStep(`f${i + 1}`, ['root']),
  );
  return [{ name: 'root', module: 'core', action: 'echo', parameters: { value: 1 } }, ...leaves];
}

// ------------------------------------------------------------------------------------------------ subjects

function createEngine(concurrentTasksPerWorker: number): OrchestrationEngine {
  return createOrchestrationEngine({ threads: THREADS, concurrentTasksPerWorker, workflowDirs: [] });
}

/** Brings a new pool's threads up: rounds of probe round trips, enough to reach every thread. */
async function warmThreads(probe: () => Promise<unknown>, capacity: number): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({ length: Math.max(2 * capacity, 2 * THREADS) }, probe));
  }
  await sleep(20);
}

const bareProbe = (pool: BarePool) => () => pool.run({ type: 'probe' });
const engineProbe = (engine: OrchestrationEngine) => () => engine.pool.probe();

let taskSeq = 0;
function bareRequest(): WorkerRequest {
  return {
    type: 'run',
    seq: (taskSeq % 0x7ffffffe) + 1,
    taskId: `bare-${++taskSeq}`,
    module: 'core',
    action: 'noop',
    params: {},
    attempt: 1,
  };
}

function expectAll(done: number, n: number, what: string): void {
  if (done !== n) throw new Error(`${what}: ${done} of ${n} steps/tasks completed`);
}

function expectRun(result: WorkflowResult, n: number, what: string): void {
  let completed = 0;
  for (const name in result.steps) if (result.steps[name]?.status === 'completed') completed++;
  if (!result.success) throw new Error(`${what}: the run ended ${result.status}`);
  expectAll(completed, n, what);
}

/** n tasks submitted to the pool at once, all awaited. */
async function bareAll(pool: BarePool, n: number): Promise<number> {
  const replies = await Promise.all(Array.from({ length: n }, () => pool.run(bareRequest())));
  return replies.filter((r) => r.type === 'ok').length;
}

/** n awaited round trips, one after the other. */
async function bareSequential(pool: BarePool, n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await pool.run(bareRequest())).type === 'ok') ok++;
  return ok;
}

/** `layers` batches of `width` tasks, each batch awaited before the next is submitted. */
async function bareLayers(pool: BarePool, layers: number, width: number): Promise<number> {
  let ok = 0;
  for (let l = 0; l < layers; l++) ok += await bareAll(pool, width);
  return ok;
}

interface Timed {
  ms: number;
}

/** One workflow run on an engine, timed from the `executeWorkflow` call to its result. */
async function timeRun(engine: OrchestrationEngine, name: string, n: number): Promise<Timed & { internalMs: number }> {
  const t0 = performance.now();
  const result = await engine.workflows.executeWorkflow(name);
  const ms = performance.now() - t0;
  expectRun(result, n, `workflow "${name}"`);
  return { ms, internalMs: result.durationMs };
}

async function timeBare(what: string, n: number, run: () => Promise<number>): Promise<Timed> {
  const t0 = performance.now();
  const ok = await run();
  const ms = performance.now() - t0;
  expectAll(ok, n, what);
  return { ms };
}

/**
 * The paths of the repeats in rotated order (bare, tasks, workflow; then tasks, workflow, bare; ...), of the paths
 * BENCH_PATHS keeps, so no path always runs first or right after a GC-heavy one.
 */
const orderOf = (rep: number): Path[] =>
  ALL_PATHS.map((_, i) => ALL_PATHS[(i + rep) % ALL_PATHS.length]!).filter((p) => PATHS.has(p));
const best = (xs: readonly number[]): number => (xs.length ? Math.min(...xs) : NaN);

/** The steps as orchestrator tasks with the same dependencies (ids prefixed, so one engine can run them again). */
function stepsAsTasks(steps: readonly WorkflowStep[], prefix: string): TaskInput[] {
  return steps.map((s) => ({
    id: `${prefix}${s.name}`,
    name: s.name,
    module: s.module ?? '',
    action: s.action ?? '',
    parameters: {},
    dependencies: (s.dependencies ?? []).map((d) => `${prefix}${d}`),
  }));
}

/** `addTasks` of the whole DAG in one call (dependencies must be in the same call), then `startExecution()`. */
async function timeTasks(engine: OrchestrationEngine, tasks: TaskInput[]): Promise<Timed> {
  const t0 = performance.now();
  await engine.tasks.addTasks(tasks);
  const reply = await engine.tasks.startExecution();
  const ms = performance.now() - t0;
  expectAll(reply.byStatus.completed ?? 0, tasks.length, 'addTasks + startExecution');
  return { ms };
}

/** Per path: every run's wall time, the median and best, per step, and median/best ratios against bare. */
interface PathStats {
  runsMs: number[];
  medianMs: number;
  bestMs: number;
  usPerStep: number;
  stepsPerSec: number;
  /** Median of this path / median of bare (what the targets are judged on). */
  ratio: number;
  /** Best / best bare: noise only slows runs down, so this shows the uncontended ratio. */
  bestRatio: number;
}

function pathStats(runs: Record<Path, number[]>, n: number): Record<Path, PathStats> {
  const bareMedian = median(runs.bare);
  const bareBest = best(runs.bare);
  const one = (p: Path): PathStats => {
    const med = median(runs[p]);
    const b = best(runs[p]);
    return {
      runsMs: runs[p].map((x) => round(x, 1)),
      medianMs: round(med, 1),
      bestMs: round(b, 1),
      usPerStep: round((med / n) * 1000, 2),
      stepsPerSec: Math.round((n / med) * 1000),
      ratio: round(med / bareMedian, 3),
      bestRatio: round(b / bareBest, 3),
    };
  };
  return { bare: one('bare'), tasks: one('tasks'), workflow: one('workflow') };
}

const PATH_LABEL: Record<Path, string> = {
  bare: 'bare Piscina',
  tasks: 'orchestrator tasks (addTasks + startExecution), same DAG',
  workflow: 'workflow (createWorkflow once, executeWorkflow)',
};

function logRun(label: string, rep: number, path: Path, ms: number, n: number, extra = ''): void {
  log(
    `  ${label} rep ${rep + 1}/${REPEATS}  ${path.padEnd(8)} ${ms.toFixed(1).padStart(8)} ms  (${((ms / n) * 1000).toFixed(1)} µs/step)${extra}`,
  );
}

// ------------------------------------------------------------------------------------------------ 1. chain

interface ChainResult {
  steps: number;
  threads: number;
  concurrentTasksPerWorker: number;
  /** The bare path: `steps` awaited round trips, one after the other. */
  bareLabel: string;
  createMs: number;
  /** `durationMs` of each workflow run as the run itself reports it. */
  workflowInternalMs: number[];
  paths: Record<Path, PathStats>;
  /** Workflow time per step minus a bare round trip: what the workflow layer and the orchestrator add per step. */
  overheadUsPerStep: number;
}

/**
 * One engine and one bare pool, both alive throughout: the chain is latency-bound, so all paths get the same machine
 * state; measured in rotated order, median of REPEATS.
 */
async function chain(): Promise<ChainResult> {
  const cptw = CHAIN_CPTW;
  const steps = chainSteps(CHAIN);
  const pool = createBarePool(THREADS, cptw);
  const engine = createEngine(cptw);
  let batch = 0;
  const tasksRun = (): Promise<Timed> => timeTasks(engine, stepsAsTasks(steps, `c${++batch}-`));
  try {
    await engine.ready();
    await warmThreads(bareProbe(pool), THREADS * cptw);
    await warmThreads(engineProbe(engine), THREADS * cptw);
    const t0 = performance.now();
    await engine.workflows.createWorkflow('bench_chain', steps);
    const createMs = performance.now() - t0;
    // Warm-up: one full run of each.
    if (PATHS.has('workflow')) await timeRun(engine, 'bench_chain', CHAIN);
    if (PATHS.has('tasks')) await tasksRun();
    if (PATHS.has('bare')) await timeBare('bare chain', CHAIN, () => bareSequential(pool, CHAIN));
    const runs: Record<Path, number[]> = { bare: [], tasks: [], workflow: [] };
    const internal: number[] = [];
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const path of orderOf(rep)) {
        await fullGc();
        let ms: number;
        if (path === 'bare') ms = (await timeBare('bare chain', CHAIN, () => bareSequential(pool, CHAIN))).ms;
        else if (path === 'tasks') ms = (await tasksRun()).ms;
        else {
          const r = await timeRun(engine, 'bench_chain', CHAIN);
          internal.push(r.internalMs);
          ms = r.ms;
        }
        runs[path].push(ms);
        logRun('chain', rep, path, ms, CHAIN);
      }
    }
    const paths = pathStats(runs, CHAIN);
    return {
      steps: CHAIN,
      threads: THREADS,
      concurrentTasksPerWorker: cptw,
      bareLabel: `bare Piscina, ${fmtInt(CHAIN)} sequential awaited round trips`,
      createMs: round(createMs, 1),
      workflowInternalMs: internal,
      paths,
      overheadUsPerStep: round(((median(runs.workflow) - median(runs.bare)) / CHAIN) * 1000, 1),
    };
  } finally {
    await engine.shutdown();
    await pool.destroy();
  }
}

// ------------------------------------------------------------------------------------------------ 2, 3. DAG throughput

interface DagCase {
  name: string;
  steps: WorkflowStep[];
  /** What the bare path runs for comparison: the same number of tasks. */
  bare: (pool: BarePool) => Promise<number>;
  bareLabel: string;
}

interface DagResult {
  steps: number;
  threads: number;
  concurrentTasksPerWorker: number;
  bareLabel: string;
  /** createWorkflow on each fresh engine (validation + storing; not part of the run's time). */
  createMs: number[];
  createMedianMs: number;
  /** `durationMs` of each workflow run as the run itself reports it. */
  workflowInternalMs: number[];
  paths: Record<Path, PathStats>;
}

/** One measured run of one path on a fresh engine or pool, torn down afterwards. */
async function measureDag(
  path: Path,
  c: DagCase,
  cptw: number,
): Promise<{ ms: number; internalMs?: number; createMs?: number }> {
  await fullGc();
  const capacity = THREADS * cptw;
  const n = c.steps.length;
  if (path === 'bare') {
    const pool = createBarePool(THREADS, cptw);
    try {
      await warmThreads(bareProbe(pool), capacity);
      return await timeBare(c.bareLabel, n, () => c.bare(pool));
    } finally {
      await pool.destroy();
    }
  }
  const engine = createEngine(cptw);
  try {
    await engine.ready();
    await warmThreads(engineProbe(engine), capacity);
    if (path === 'tasks') {
      const tasks = stepsAsTasks(c.steps, '');
      await fullGc();
      return await timeTasks(engine, tasks);
    }
    const t0 = performance.now();
    await engine.workflows.createWorkflow(c.name, c.steps);
    const createMs = performance.now() - t0;
    await fullGc();
    const r = await timeRun(engine, c.name, n);
    return { ms: r.ms, internalMs: r.internalMs, createMs };
  } finally {
    await engine.shutdown();
  }
}

async function dagThroughput(c: DagCase, cptw: number): Promise<DagResult> {
  const runs: Record<Path, number[]> = { bare: [], tasks: [], workflow: [] };
  const internal: number[] = [];
  const createMs: number[] = [];
  const n = c.steps.length;
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const path of orderOf(rep)) {
      const r = await measureDag(path, c, cptw);
      runs[path].push(r.ms);
      if (r.internalMs !== undefined) internal.push(r.internalMs);
      if (r.createMs !== undefined) createMs.push(r.createMs);
      logRun(
        `${c.name} cptw=${String(cptw).padEnd(2)}`,
        rep,
        path,
        r.ms,
        n,
        r.createMs === undefined ? '' : `  createWorkflow ${r.createMs.toFixed(0)} ms`,
      );
    }
  }
  return {
    steps: n,
    threads: THREADS,
    concurrentTasksPerWorker: cptw,
    bareLabel: c.bareLabel,
    createMs: createMs.map((x) => round(x, 1)),
    createMedianMs: round(median(createMs), 1),
    workflowInternalMs: internal,
    paths: pathStats(runs, n),
  };
}

function fanCase(n: number): DagCase {
  return {
    name: 'bench_fan',
    steps: fanSteps(n),
    bare: (pool) => bareAll(pool, n),
    bareLabel: `bare Piscina, ${fmtInt(n)} no-op tasks (submit all, await all)`,
  };
}

function layeredCase(layers: number, width: number): DagCase & { edges: number } {
  const { steps, edges } = layeredSteps(layers, width, SEED);
  return {
    name: 'bench_layered',
    steps,
    edges,
    bare: (pool) => bareLayers(pool, layers, width),
    bareLabel: `bare Piscina, ${layers} batches of ${width} (each awaited before the next)`,
  };
}

/** Runs every path once per setting on throwaway engines/pools so the main thread's JIT is warm before timing. */
async function warmUpDag(c: DagCase): Promise<void> {
  for (const cptw of CONCURRENCY_SETTINGS) for (const path of orderOf(0)) await measureDag(path, c, cptw);
}

// ------------------------------------------------------------------------------------------------ 4. validation

interface ValidationCase {
  definition: string;
  steps: number;
  templated: number;
  /** In the target (the brief's definitions), or shown for reference only. */
  judged: boolean;
  validateMs: number[];
  createMs: number[];
  validateMedianMs: number;
  createMedianMs: number;
}

async function validation(): Promise<ValidationCase[]> {
  const registry = new ModuleRegistry();
  const defs: { definition: string; judged: boolean; steps: () => WorkflowStep[] }[] = [
    {
      definition: `chain of ${fmtInt(VALIDATE)}, 1 in 10 templated`,
      judged: true,
      steps: () => templatedChainSteps(VALIDATE),
    },
    {
      definition: `fan-out 1 -> ${fmtInt(VALIDATE - 1)}, 1 in 10 templated`,
      judged: true,
      steps: () => templatedFanOutSteps(VALIDATE),
    },
    {
      definition: `fan-out/fan-in 1 -> ${fmtInt(VALIDATE - 2)} -> 1 (case 2's shape)`,
      judged: false,
      steps: () => fanSteps(VALIDATE),
    },
  ];
  const engine = createEngine(1);
  const out: ValidationCase[] = [];
  try {
    await engine.ready();
    let seq = 0;
    for (const d of defs) {
      const steps = d.steps();
      const templated = steps.filter(
        (s) => s.action === 'echo' && JSON.stringify(s.parameters ?? {}).includes('{{'),
      ).length;
      const def = { name: 'bench_validate', steps };
      const v = validateWorkflow(def, registry); // warm-up, and proof the definition is valid
      if (!v.valid)
        throw new Error(`validation benchmark: ${d.definition} is invalid: ${v.errors.slice(0, 3).join('; ')}`);
      const validateMs: number[] = [];
      const createMs: number[] = [];
      for (let rep = 0; rep < REPEATS; rep++) {
        await fullGc();
        let t0 = performance.now();
        const r = validateWorkflow(def, registry);
        validateMs.push(performance.now() - t0);
        if (!r.valid) throw new Error('validation benchmark: a valid definition failed validation');
        await fullGc();
        // A new name each time, so every call really stores a new workflow.
        t0 = performance.now();
        await engine.workflows.createWorkflow(`bench_create_${++seq}`, steps);
        createMs.push(performance.now() - t0);
        log(
          `  validate rep ${rep + 1}/${REPEATS}  ${d.definition.padEnd(48)} validate ${validateMs.at(-1)!.toFixed(1).padStart(7)} ms  create ${createMs.at(-1)!.toFixed(1).padStart(7)} ms`,
        );
      }
      out.push({
        definition: d.definition,
        steps: steps.length,
        templated,
        judged: d.judged,
        validateMs: validateMs.map((x) => round(x, 1)),
        createMs: createMs.map((x) => round(x, 1)),
        validateMedianMs: round(median(validateMs), 1),
        createMedianMs: round(median(createMs), 1),
      });
    }
  } finally {
    await engine.shutdown();
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ report

interface Target {
  name: string;
  target: string;
  actual: string;
  pass: boolean;
}

interface Results {
  chain: ChainResult | null;
  fan: DagResult[];
  layered: (DagResult & { layers: number; width: number; edges: number; seed: number })[];
  validation: ValidationCase[];
}

function targetsOf(r: Results): Target[] {
  const out: Target[] = [];
  if (r.chain && PATHS.has('workflow')) {
    const c = r.chain;
    const perStep = c.paths.workflow.medianMs / c.steps;
    out.push({
      name: `chain of ${fmtInt(c.steps)}: wall time per step`,
      target: `< ${TARGETS.chainMsPerStepMax} ms`,
      actual: `${perStep.toFixed(3)} ms (bare round trip ${(c.paths.bare.medianMs / c.steps).toFixed(3)} ms)`,
      pass: perStep < TARGETS.chainMsPerStepMax,
    });
  }
  for (const f of r.fan) {
    if (!PATHS.has('bare') || !PATHS.has('workflow')) break;
    const w = f.paths.workflow;
    out.push({
      name: `fan-out/fan-in ${fmtInt(f.steps)} cptw=${f.concurrentTasksPerWorker}`,
      target: `<= ${TARGETS.fanRatioMax}x bare`,
      actual: `${w.ratio.toFixed(2)}x (${fmtInt(w.medianMs)} ms vs ${fmtInt(f.paths.bare.medianMs)} ms; best ${w.bestRatio.toFixed(2)}x)`,
      pass: w.ratio <= TARGETS.fanRatioMax,
    });
  }
  for (const v of r.validation) {
    if (!v.judged) continue;
    out.push({
      name: `validateWorkflow: ${v.definition}`,
      target: `< ${TARGETS.validateMsMax} ms`,
      actual: `${v.validateMedianMs} ms`,
      pass: v.validateMedianMs < TARGETS.validateMsMax,
    });
    out.push({
      name: `createWorkflow: ${v.definition}`,
      target: `< ${TARGETS.validateMsMax} ms`,
      actual: `${v.createMedianMs} ms`,
      pass: v.createMedianMs < TARGETS.validateMsMax,
    });
  }
  return out;
}

function pathRows(
  paths: Record<Path, PathStats>,
  bareLabel: string,
  extra: (p: Path) => Record<string, string | number>,
): Record<string, string | number>[] {
  return ALL_PATHS.filter((p) => PATHS.has(p)).map((p) => {
    const s = paths[p];
    return {
      path: p === 'bare' ? bareLabel : PATH_LABEL[p],
      ...extra(p),
      'wall ms median': s.medianMs,
      'wall ms best': s.bestMs,
      'µs/step': s.usPerStep,
      'steps/s': fmtInt(s.stepsPerSec),
      'median vs bare': `${s.ratio.toFixed(3)}x`,
      'best vs bare': `${s.bestRatio.toFixed(3)}x`,
    };
  });
}

function printTables(r: Results, targets: readonly Target[]): void {
  if (r.chain) {
    const c = r.chain;
    log(
      `\nChain: ${fmtInt(c.steps)} steps, each depending on the previous; threads=${c.threads}, cptw=${c.concurrentTasksPerWorker}, one engine and pool, median of ${REPEATS}`,
    );
    console.table(pathRows(c.paths, c.bareLabel, () => ({})));
    log(
      `  workflow overhead per step over a bare round trip: ${c.overheadUsPerStep} µs; createWorkflow ${c.createMs} ms`,
    );
  }
  const dagTable = (rows: readonly DagResult[]): void => {
    console.table(rows.flatMap((d) => pathRows(d.paths, d.bareLabel, () => ({ cptw: d.concurrentTasksPerWorker }))));
    log(
      `  createWorkflow on each fresh engine (not in the run's time), median: ${rows.map((d) => `cptw=${d.concurrentTasksPerWorker} ${d.createMedianMs} ms`).join(', ')}`,
    );
  };
  if (r.fan.length) {
    const f = r.fan[0]!;
    log(
      `Fan-out/fan-in: 1 root -> ${fmtInt(f.steps - 2)} parallel steps -> 1 sink; threads=${THREADS}, median of ${REPEATS}, fresh engine/pool per run`,
    );
    dagTable(r.fan);
  }
  if (r.layered.length) {
    const l = r.layered[0]!;
    log(
      `Layered DAG: ${l.layers} layers x ${l.width} steps, ${fmtInt(l.edges)} edges (2-3 per step, seed ${l.seed}); threads=${THREADS}, median of ${REPEATS}, fresh engine/pool per run`,
    );
    dagTable(r.layered);
  }
  if (r.validation.length) {
    log(
      `Validation: 10k-step definitions, median of ${REPEATS} (createWorkflow = validation + storing, through the engine's bus)`,
    );
    console.table(
      r.validation.map((v) => ({
        definition: v.definition,
        steps: v.steps,
        templated: v.templated,
        'validateWorkflow ms': v.validateMedianMs,
        'createWorkflow ms': v.createMedianMs,
        judged: v.judged ? 'target' : 'reference',
      })),
    );
  }
  log('Targets');
  console.table(
    targets.map((t) => ({ target: t.name, wanted: t.target, actual: t.actual, result: t.pass ? 'PASS' : 'FAIL' })),
  );
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  log(
    `codomyrmex workflow benchmark: node ${process.version}, ${os.cpus().length} cpus (availableParallelism ${THREADS}), ` +
      `load ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}, cases ${[...CASES].join(',')}, cptw ${CONCURRENCY_SETTINGS.join(',')}, ` +
      `repeats=${REPEATS}, gc ${gc ? 'on' : 'off'}`,
  );

  const results: Results = { chain: null, fan: [], layered: [], validation: [] };
  // Validation first, on a fresh heap and a quiet machine: it is pure main-thread work.
  if (CASES.has('validate')) {
    log('validation ...');
    results.validation = await validation();
  }
  if (CASES.has('chain')) {
    log(`chain of ${fmtInt(CHAIN)} ...`);
    results.chain = await chain();
  }
  if (CASES.has('fan')) {
    log('fan-out/fan-in warm-up ...');
    await warmUpDag(fanCase(WARMUP_STEPS));
    const c = fanCase(FAN);
    for (const cptw of CONCURRENCY_SETTINGS) {
      log(`fan-out/fan-in of ${fmtInt(FAN)}, concurrentTasksPerWorker=${cptw}:`);
      results.fan.push(await dagThroughput(c, cptw));
    }
  }
  if (CASES.has('layered')) {
    const c = layeredCase(LAYERS, WIDTH);
    if (!CASES.has('fan')) {
      log('layered warm-up ...');
      await warmUpDag(layeredCase(Math.max(2, Math.floor(WARMUP_STEPS / WIDTH)), WIDTH));
    }
    for (const cptw of CONCURRENCY_SETTINGS) {
      log(`layered DAG ${LAYERS} x ${WIDTH}, concurrentTasksPerWorker=${cptw}:`);
      results.layered.push({
        ...(await dagThroughput(c, cptw)),
        layers: LAYERS,
        width: WIDTH,
        edges: c.edges,
        seed: SEED,
      });
    }
  }

  const foreach: ForEachResult[] = [];
  let waiting: WaitingResult | null = null;
  if (CASES.has('foreach')) {
    for (const cptw of CONCURRENCY_SETTINGS) {
      log(`forEach vs fan-out, concurrentTasksPerWorker=${cptw}:`);
      foreach.push(await forEachVsFanOut(cptw));
    }
  }
  if (CASES.has('waiting')) {
    log('runs waiting on signals ...');
    waiting = await waitingRuns();
  }

  const targets = targetsOf(results);
  printTables(results, targets);
  printLanguageTables(foreach, waiting);
  const pass = targets.every((t) => t.pass);
  const durationMs = round(performance.now() - started);
  const report = {
    benchmark: 'workflows',
    startedAt,
    durationMs,
    machine: {
      cpus: os.cpus().length,
      availableParallelism: THREADS,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      totalMemMB: mb(os.totalmem()),
      platform: process.platform,
      arch: process.arch,
      node: process.version,
      v8: process.versions.v8,
      piscina: piscinaVersion(),
      /** 1/5/15-minute load averages (atEnd includes this run's own busy threads): other work skews every number. */
      loadAverage: { atStart: loadAtStart.map((x) => round(x, 2)), atEnd: os.loadavg().map((x) => round(x, 2)) },
    },
    settings: {
      cases: [...CASES],
      paths: [...PATHS],
      chainSteps: CHAIN,
      chainConcurrentTasksPerWorker: CHAIN_CPTW,
      fanSteps: FAN,
      layers: LAYERS,
      layerWidth: WIDTH,
      seed: SEED,
      validateSteps: VALIDATE,
      repeats: REPEATS,
      warmupSteps: WARMUP_STEPS,
      threads: THREADS,
      concurrentTasksPerWorker: CONCURRENCY_SETTINGS,
      gcAvailable: gc !== null,
      step: noopStep('<name>', ['<dependencies>']),
      targets: TARGETS,
    },
    chain: results.chain,
    fanOutFanIn: results.fan,
    layered: results.layered,
    validation: results.validation,
    forEachVsFanOut: foreach,
    waitingRuns: waiting,
    targets,
    pass,
  };
  const files = writeResults('workflows', report);
  log(
    `\n${pass ? 'all targets met' : 'some targets missed'}; ${round(durationMs / 1000, 1)} s; wrote ${files.join(', ')}`,
  );
  if (STRICT && !pass) process.exitCode = 1;
}

await main();
