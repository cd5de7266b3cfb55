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
 * This file runs the cases and writes the report; case 1 is in workflowChain.ts, 2 and 3 in workflowDag.ts, 4 in
 * workflowValidation.ts, 5 in workflowLanguage.ts; the DAG shapes in workflowShapes.ts, how each path is run and
 * timed in workflowPaths.ts, the settings in workflowSettings.ts, the targets and tables in workflowReport.ts.
 */
import os from 'node:os';
import type { ForEachResult, WaitingResult } from './workflowLanguage.js';
import { forEachVsFanOut, printLanguageTables, waitingRuns } from './workflowLanguage.js';
import { gc, log, machineReport, round, writeResults } from './support.js';
import {
  CASES,
  CHAIN,
  CHAIN_CPTW,
  CONCURRENCY_SETTINGS,
  FAN,
  LAYERS,
  PATHS,
  REPEATS,
  SEED,
  STRICT,
  TARGETS,
  THREADS,
  VALIDATE,
  WARMUP_STEPS,
  WIDTH,
  fmtInt,
} from './workflowSettings.js';
import { noopStep } from './workflowShapes.js';
import { chain } from './workflowChain.js';
import { dagThroughput, fanCase, layeredCase, warmUpDag } from './workflowDag.js';
import { validation } from './workflowValidation.js';
import type { Results } from './workflowReport.js';
import { printTables, targetsOf } from './workflowReport.js';

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
    machine: machineReport(THREADS, loadAtStart),
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
