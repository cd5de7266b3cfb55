/**
 * Case 1 of the workflow benchmark: a chain of steps, each depending on the previous one, next to the same number
 * of sequential awaited bare Piscina round trips and the same chain as orchestrator tasks.
 */
import type { Path } from './workflowSettings.js';
import { CHAIN, CHAIN_CPTW, PATHS, REPEATS, THREADS, fmtInt } from './workflowSettings.js';
import type { PathStats, Timed } from './workflowPaths.js';
import {
  bareSequential,
  createEngine,
  engineProbe,
  logRun,
  orderOf,
  pathStats,
  timeBare,
  timeRun,
  timeTasks,
} from './workflowPaths.js';
import { chainSteps, stepsAsTasks } from './workflowShapes.js';
import { bareProbe, createBarePool, fullGc, median, round, warmThreads } from './support.js';

export interface ChainResult {
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
export async function chain(): Promise<ChainResult> {
  const cptw = CHAIN_CPTW;
  const steps = chainSteps(CHAIN);
  const pool = createBarePool(THREADS, cptw);
  const engine = createEngine(cptw);
  let batch = 0;
  const tasksRun = (): Promise<Timed> => timeTasks(engine, stepsAsTasks(steps, `c${++batch}-`));
  try {
    await engine.ready();
    await warmThreads(bareProbe(pool), THREADS * cptw, THREADS);
    await warmThreads(engineProbe(engine), THREADS * cptw, THREADS);
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
