/**
 * The workflow language's costs, two cases of `npm run bench:workflows` (BENCH_CASES `foreach`, `waiting`):
 *  - foreach: one `forEach` step over N no-op items next to a workflow of N parallel no-op steps (the fan-out it
 *    replaces), each on a fresh engine, repeated in rotated order; median wall time and µs per item/step.
 *  - waiting: W runs each waiting on a signal at once (a SQLite store, as a daemon has): the heap and RSS they add
 *    (after a full gc), the threads busy meanwhile, and the time to signal them all and see every run end.
 * Env: BENCH_FOREACH (items, default 10000), BENCH_WAITING (runs, 10000), BENCH_REPEATS (3).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import type { WorkflowStep } from '../src/model/workflow.js';
import { envInt, fullGc, log, mb, median, round } from './support.js';

const THREADS = os.availableParallelism();

export interface ForEachResult {
  items: number;
  threads: number;
  concurrentTasksPerWorker: number;
  forEach: { runsMs: number[]; medianMs: number; usPerItem: number };
  fanOut: { runsMs: number[]; medianMs: number; usPerStep: number };
  /** forEach median / fan-out median: at most 1 is the target. */
  ratio: number;
}

async function timeOnce(steps: WorkflowStep[], n: number, cptw: number, forEach: boolean): Promise<number> {
  const engine = createOrchestrationEngine({
    threads: THREADS,
    concurrentTasksPerWorker: cptw,
    workflowDirs: [],
    maxForEachItems: Math.max(n, 1),
  });
  try {
    await engine.ready();
    await engine.workflows.createWorkflow('bench_lang', steps);
    await fullGc();
    const t0 = performance.now();
    const r = await engine.workflows.executeWorkflow('bench_lang');
    const ms = performance.now() - t0;
    const done = forEach
      ? (r.steps['each']?.items ?? []).filter((i) => i.status === 'completed').length
      : Object.values(r.steps).filter((s) => s.status === 'completed').length;
    if (!r.success || done !== n)
      throw new Error(`${forEach ? 'forEach' : 'fan-out'}: ${done} of ${n} completed (run ${r.status})`);
    return ms;
  } finally {
    await engine.shutdown();
  }
}

/** forEach over N items next to N parallel steps, same engine settings, fresh engines, rotated order. */
export async function forEachVsFanOut(cptw: number): Promise<ForEachResult> {
  const n = envInt('BENCH_FOREACH', 10_000);
  const repeats = envInt('BENCH_REPEATS', 3);
  const fan: WorkflowStep[] = Array.from({ length: n }, (_, i) => ({ name: `s${i}`, module: 'core', action: 'noop' }));
  const each: WorkflowStep[] = [
    { name: 'each', module: 'core', action: 'noop', forEach: Array.from({ length: n }, (_, i) => i) },
  ];
  // Warm-up of both paths (JIT), untimed.
  await timeOnce(
    each.map((s) => ({ ...s, forEach: (s.forEach as number[]).slice(0, 1000) })),
    Math.min(n, 1000),
    cptw,
    true,
  );
  await timeOnce(fan.slice(0, 1000), Math.min(n, 1000), cptw, false);
  const runs = { forEach: [] as number[], fanOut: [] as number[] };
  for (let rep = 0; rep < repeats; rep++) {
    const order = rep % 2 === 0 ? (['forEach', 'fanOut'] as const) : (['fanOut', 'forEach'] as const);
    for (const path of order) {
      const ms = await timeOnce(path === 'forEach' ? each : fan, n, cptw, path === 'forEach');
      runs[path].push(ms);
      log(
        `  foreach rep ${rep + 1}/${repeats}  ${path.padEnd(8)} ${ms.toFixed(1).padStart(8)} ms  (${((ms / n) * 1000).toFixed(1)} µs/item)`,
      );
    }
  }
  const fe = median(runs.forEach);
  const fo = median(runs.fanOut);
  return {
    items: n,
    threads: THREADS,
    concurrentTasksPerWorker: cptw,
    forEach: {
      runsMs: runs.forEach.map((x) => round(x, 1)),
      medianMs: round(fe, 1),
      usPerItem: round((fe / n) * 1000, 1),
    },
    fanOut: {
      runsMs: runs.fanOut.map((x) => round(x, 1)),
      medianMs: round(fo, 1),
      usPerStep: round((fo / n) * 1000, 1),
    },
    ratio: round(fe / fo, 3),
  };
}

export interface WaitingResult {
  runs: number;
  store: 'sqlite';
  startMs: number;
  /** Heap and RSS the waiting runs add, after a full gc (MB). */
  heapMB: number;
  rssMB: number;
  /** Tasks running and pool threads busy while every run waits. */
  tasksRunning: number;
  signalAllMs: number;
  /** Signals delivered to a waiting step (the rest were kept for a step that had not begun waiting yet). */
  delivered: number;
}

function wantAll(engine: OrchestrationEngine, type: 'step_waiting' | 'workflow_completed', n: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    const off = engine.registerEventHandler(type, () => {
      if (++seen === n) {
        off();
        resolve();
      }
    });
  });
}

/** W runs waiting on a signal at once: memory, threads, then the time to signal them all to their end. */
export async function waitingRuns(): Promise<WaitingResult> {
  const n = envInt('BENCH_WAITING', 10_000);
  const dir = mkdtempSync(join(os.tmpdir(), 'cmx-bench-wait-'));
  const engine = createOrchestrationEngine({
    threads: THREADS,
    workflowDirs: [],
    store: 'sqlite',
    dbPath: join(dir, 'bench.db'),
    retainRuns: n,
  });
  try {
    await engine.ready();
    const wf = engine.workflows;
    await wf.createWorkflow('bench_wait', [{ name: 'gate', waitFor: { signal: 'go' } }]);
    await engine.flush();
    await fullGc();
    const heap0 = process.memoryUsage();
    const waiting = wantAll(engine, 'step_waiting', n);
    const t0 = performance.now();
    const ids = await Promise.all(Array.from({ length: n }, () => wf.startWorkflow('bench_wait')));
    await waiting;
    await engine.flush();
    const startMs = performance.now() - t0;
    await fullGc();
    const heap1 = process.memoryUsage();
    const stats = await engine.tasks.stats();
    const ended = wantAll(engine, 'workflow_completed', n);
    const t1 = performance.now();
    const replies = await Promise.all(ids.map((id) => wf.signalRun(id, 'go', { ok: true })));
    await ended;
    const signalAllMs = performance.now() - t1;
    return {
      runs: n,
      store: 'sqlite',
      startMs: round(startMs, 1),
      heapMB: mb(heap1.heapUsed - heap0.heapUsed),
      rssMB: mb(heap1.rss - heap0.rss),
      tasksRunning: stats.running,
      signalAllMs: round(signalAllMs, 1),
      delivered: replies.filter((r) => r.delivered).length,
    };
  } finally {
    await engine.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The two cases' tables. */
export function printLanguageTables(foreach: ForEachResult[], waiting: WaitingResult | null): void {
  if (foreach.length) {
    log('\nforEach over N no-op items vs a workflow of N parallel no-op steps (median of repeats, fresh engine each):');
    log('| items | concurrentTasksPerWorker | forEach ms | µs/item | fan-out ms | µs/step | forEach / fan-out |');
    log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of foreach)
      log(
        `| ${r.items} | ${r.concurrentTasksPerWorker} | ${r.forEach.medianMs} | ${r.forEach.usPerItem} | ${r.fanOut.medianMs} | ${r.fanOut.usPerStep} | ${r.ratio} |`,
      );
  }
  if (waiting) {
    log(`\n${waiting.runs} runs waiting on a signal at once (SQLite store):`);
    log(
      '| runs | start all and see them wait | heap added | RSS added | tasks running while waiting | signal all, every run ended | delivered |',
    );
    log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    log(
      `| ${waiting.runs} | ${waiting.startMs} ms | ${waiting.heapMB} MB | ${waiting.rssMB} MB | ${waiting.tasksRunning} | ${waiting.signalAllMs} ms | ${waiting.delivered} |`,
    );
  }
}
