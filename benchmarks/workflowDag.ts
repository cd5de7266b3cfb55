/**
 * Cases 2 and 3 of the workflow benchmark (DAG throughput): a fan-out/fan-in and a seeded layered DAG, each run on a
 * fresh engine or pool per measured run, next to the same number of bare Piscina tasks and orchestrator tasks.
 */
import type { WorkflowStep } from '../src/model/workflow.js';
import type { BarePool } from './support.js';
import { bareProbe, createBarePool, fullGc, median, round, warmThreads } from './support.js';
import type { Path } from './workflowSettings.js';
import { CONCURRENCY_SETTINGS, REPEATS, SEED, THREADS, fmtInt } from './workflowSettings.js';
import type { PathStats } from './workflowPaths.js';
import {
  bareAll,
  bareLayers,
  createEngine,
  engineProbe,
  logRun,
  orderOf,
  pathStats,
  timeBare,
  timeRun,
  timeTasks,
} from './workflowPaths.js';
import { fanSteps, layeredSteps, stepsAsTasks } from './workflowShapes.js';

export interface DagCase {
  name: string;
  steps: WorkflowStep[];
  /** What the bare path runs for comparison: the same number of tasks. */
  bare: (pool: BarePool) => Promise<number>;
  bareLabel: string;
}

export interface DagResult {
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
      await warmThreads(bareProbe(pool), capacity, THREADS);
      return await timeBare(c.bareLabel, n, () => c.bare(pool));
    } finally {
      await pool.destroy();
    }
  }
  const engine = createEngine(cptw);
  try {
    await engine.ready();
    await warmThreads(engineProbe(engine), capacity, THREADS);
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

export async function dagThroughput(c: DagCase, cptw: number): Promise<DagResult> {
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

export function fanCase(n: number): DagCase {
  return {
    name: 'bench_fan',
    steps: fanSteps(n),
    bare: (pool) => bareAll(pool, n),
    bareLabel: `bare Piscina, ${fmtInt(n)} no-op tasks (submit all, await all)`,
  };
}

export function layeredCase(layers: number, width: number): DagCase & { edges: number } {
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
export async function warmUpDag(c: DagCase): Promise<void> {
  for (const cptw of CONCURRENCY_SETTINGS) for (const path of orderOf(0)) await measureDag(path, c, cptw);
}
