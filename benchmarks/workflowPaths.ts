/**
 * The three paths the workflow benchmark times (bare Piscina, orchestrator tasks, workflow run): how each runs a DAG
 * and is timed, the rotated order of the repeats, and the per-path statistics.
 */
import type { OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import type { TaskInput } from '../src/model/task.js';
import type { WorkflowResult } from '../src/model/workflow.js';
import type { BarePool } from './support.js';
import { bareRequest, log, median, round } from './support.js';
import type { Path } from './workflowSettings.js';
import { ALL_PATHS, PATHS, REPEATS, THREADS } from './workflowSettings.js';

export function createEngine(concurrentTasksPerWorker: number): OrchestrationEngine {
  return createOrchestrationEngine({ threads: THREADS, concurrentTasksPerWorker, workflowDirs: [] });
}

export const engineProbe = (engine: OrchestrationEngine) => () => engine.pool.probe();

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
export async function bareAll(pool: BarePool, n: number): Promise<number> {
  const replies = await Promise.all(Array.from({ length: n }, () => pool.run(bareRequest())));
  return replies.filter((r) => r.type === 'ok').length;
}

/** n awaited round trips, one after the other. */
export async function bareSequential(pool: BarePool, n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await pool.run(bareRequest())).type === 'ok') ok++;
  return ok;
}

/** `layers` batches of `width` tasks, each batch awaited before the next is submitted. */
export async function bareLayers(pool: BarePool, layers: number, width: number): Promise<number> {
  let ok = 0;
  for (let l = 0; l < layers; l++) ok += await bareAll(pool, width);
  return ok;
}

export interface Timed {
  ms: number;
}

/** One workflow run on an engine, timed from the `executeWorkflow` call to its result. */
export async function timeRun(
  engine: OrchestrationEngine,
  name: string,
  n: number,
): Promise<Timed & { internalMs: number }> {
  const t0 = performance.now();
  const result = await engine.workflows.executeWorkflow(name);
  const ms = performance.now() - t0;
  expectRun(result, n, `workflow "${name}"`);
  return { ms, internalMs: result.durationMs };
}

export async function timeBare(what: string, n: number, run: () => Promise<number>): Promise<Timed> {
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
export const orderOf = (rep: number): Path[] =>
  ALL_PATHS.map((_, i) => ALL_PATHS[(i + rep) % ALL_PATHS.length]!).filter((p) => PATHS.has(p));
const best = (xs: readonly number[]): number => (xs.length ? Math.min(...xs) : NaN);

/** `addTasks` of the whole DAG in one call (dependencies must be in the same call), then `startExecution()`. */
export async function timeTasks(engine: OrchestrationEngine, tasks: TaskInput[]): Promise<Timed> {
  const t0 = performance.now();
  await engine.tasks.addTasks(tasks);
  const reply = await engine.tasks.startExecution();
  const ms = performance.now() - t0;
  expectAll(reply.byStatus.completed ?? 0, tasks.length, 'addTasks + startExecution');
  return { ms };
}

/** Per path: every run's wall time, the median and best, per step, and median/best ratios against bare. */
export interface PathStats {
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

export function pathStats(runs: Record<Path, number[]>, n: number): Record<Path, PathStats> {
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

export const PATH_LABEL: Record<Path, string> = {
  bare: 'bare Piscina',
  tasks: 'orchestrator tasks (addTasks + startExecution), same DAG',
  workflow: 'workflow (createWorkflow once, executeWorkflow)',
};

export function logRun(label: string, rep: number, path: Path, ms: number, n: number, extra = ''): void {
  log(
    `  ${label} rep ${rep + 1}/${REPEATS}  ${path.padEnd(8)} ${ms.toFixed(1).padStart(8)} ms  (${((ms / n) * 1000).toFixed(1)} µs/step)${extra}`,
  );
}
