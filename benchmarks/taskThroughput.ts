/**
 * Task benchmark, throughput: no-op tasks through a bare Piscina pool and through the orchestrator (`executeTask` with
 * many calls in flight, `addTasks` batches then `startExecution()`, batched dispatch and one task per dispatch), each
 * run on a fresh engine or pool, repeated and rotated so no path always runs first. Used by tasks.ts.
 */
import type { OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import type { TaskInput } from '../src/model/task.js';
import type { BarePool } from './support.js';
import { bareProbe, bareRequest, createBarePool, fullGc, log, median, warmThreads } from './support.js';

export interface ThroughputSettings {
  threads: number;
  /** Tasks per run. */
  n: number;
  repeats: number;
  /** Calls in flight / tasks per addTasks call. */
  batch: number;
  /** Tasks run through each path once, on a throwaway engine or pool, to warm the main thread's JIT. */
  warmupTasks: number;
  /** The concurrentTasksPerWorker settings measured. */
  settings: readonly number[];
}

const NOOP: TaskInput = { module: 'core', action: 'noop', parameters: {} };
const noopTask = (): TaskInput => ({ ...NOOP, parameters: {} });

type Path = 'bare' | 'orchExecute' | 'orchAddTasks' | 'orchExecuteAlone' | 'orchAddTasksAlone';
const PATHS: readonly Path[] = ['bare', 'orchExecute', 'orchAddTasks', 'orchExecuteAlone', 'orchAddTasksAlone'];
/** The orchestrated paths, batched (the default) and with `batchDispatch: false` as the reference. */
type OrchPath = Exclude<Path, 'bare'>;
const ORCH_PATHS: readonly OrchPath[] = ['orchExecute', 'orchAddTasks', 'orchExecuteAlone', 'orchAddTasksAlone'];

export interface RunResult {
  tasksPerSec: number;
  ms: number;
  /** addTasks path only: time spent adding, then executing. */
  addMs?: number;
  executeMs?: number;
}

export interface ThroughputResult {
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

/** The throughput runs of one setting, the warm-up and the table, over `s`. */
export function throughputBench(s: ThroughputSettings) {
  function createEngine(concurrentTasksPerWorker: number, batchDispatch = true): OrchestrationEngine {
    return createOrchestrationEngine({ threads: s.threads, concurrentTasksPerWorker, batchDispatch });
  }

  const engineProbe = (engine: OrchestrationEngine) => () => engine.pool.probe();

  const PATH_LABEL: Record<Path, string> = {
    bare: 'bare Piscina (submit all, await all)',
    orchExecute: `orchestrator executeTask (${s.batch} in flight), batched`,
    orchAddTasks: `orchestrator addTasks(${s.batch}) + startExecution, batched`,
    orchExecuteAlone: `orchestrator executeTask (${s.batch} in flight), one per dispatch`,
    orchAddTasksAlone: `orchestrator addTasks(${s.batch}) + startExecution, one per dispatch`,
  };

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

  /** `executeTask` calls, `s.batch` in flight at once (Promise.all over each batch). */
  async function runOrchExecute(engine: OrchestrationEngine, n: number): Promise<RunResult> {
    let ok = 0;
    const t0 = performance.now();
    for (let done = 0; done < n; done += s.batch) {
      const size = Math.min(s.batch, n - done);
      const results = await Promise.all(Array.from({ length: size }, () => engine.tasks.executeTask(noopTask())));
      for (const r of results) if (r.success) ok++;
    }
    const ms = performance.now() - t0;
    expectAll(ok, n, 'executeTask');
    return { tasksPerSec: (n / ms) * 1000, ms };
  }

  /** `addTasks` in batches of `s.batch` (nothing runs yet), then one `startExecution()` that resolves when all ended. */
  async function runOrchAddTasks(engine: OrchestrationEngine, n: number): Promise<RunResult> {
    const t0 = performance.now();
    for (let added = 0; added < n; added += s.batch) {
      await engine.tasks.addTasks(Array.from({ length: Math.min(s.batch, n - added) }, noopTask));
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
    const capacity = s.threads * concurrentTasksPerWorker;
    if (path === 'bare') {
      const pool = createBarePool(s.threads, concurrentTasksPerWorker);
      try {
        await warmThreads(bareProbe(pool), capacity, s.threads);
        return await runBare(pool, n);
      } finally {
        await pool.destroy();
      }
    }
    const engine = createEngine(concurrentTasksPerWorker, path === 'orchExecute' || path === 'orchAddTasks');
    try {
      await engine.ready();
      await warmThreads(engineProbe(engine), capacity, s.threads);
      return path === 'orchExecute' || path === 'orchExecuteAlone'
        ? await runOrchExecute(engine, n)
        : await runOrchAddTasks(engine, n);
    } finally {
      await engine.shutdown();
    }
  }

  async function throughput(concurrentTasksPerWorker: number): Promise<ThroughputResult> {
    const runs: Record<Path, RunResult[]> = {
      bare: [],
      orchExecute: [],
      orchAddTasks: [],
      orchExecuteAlone: [],
      orchAddTasksAlone: [],
    };
    for (let rep = 0; rep < s.repeats; rep++) {
      // Rotate the order each repeat so no path always runs first (or right after a GC-heavy one).
      const order = PATHS.map((_, i) => PATHS[(i + rep) % PATHS.length]!);
      for (const path of order) {
        const r = await measure(path, concurrentTasksPerWorker, s.n);
        runs[path].push(r);
        log(
          `  cptw=${String(concurrentTasksPerWorker).padEnd(2)} rep ${rep + 1}/${s.repeats}  ${path.padEnd(12)} ${Math.round(r.tasksPerSec).toLocaleString('en-US').padStart(8)} tasks/s  (${Math.round(r.ms)} ms)`,
        );
      }
    }
    const med = (p: Path): number => median(runs[p].map((r) => r.tasksPerSec));
    const best = (p: Path): number => Math.max(...runs[p].map((r) => r.tasksPerSec));
    const medianTasksPerSec = Object.fromEntries(PATHS.map((p) => [p, med(p)])) as Record<Path, number>;
    const bestTasksPerSec = Object.fromEntries(PATHS.map((p) => [p, best(p)])) as Record<Path, number>;
    return {
      threads: s.threads,
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
    for (const cptw of s.settings) for (const path of PATHS) await measure(path, cptw, s.warmupTasks);
  }

  function printThroughput(tp: readonly ThroughputResult[]): void {
    const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
    log(
      `\nThroughput: ${s.n.toLocaleString('en-US')} no-op tasks per run, threads=${s.threads}, median (best) of ${s.repeats}`,
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
  }
  return { throughput, warmUp, printThroughput };
}
