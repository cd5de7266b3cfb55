/**
 * Flow-control runs of the task benchmark (`npm run bench:tasks`, or alone with `BENCH_ONLY=keys`): what
 * concurrency keys cost at admission, and how fair they are.
 *
 * Throughput: N no-op tasks through `addTasks` + `startExecution` (batched dispatch, the default engine) with no key,
 * with 10,000 distinct keys (`key: k<i mod 10000>`, limit 1000, so no key binds: the cost measured is admission's
 * bookkeeping), and with 1 hot key holding all but 1,000 tasks plus 1,000 cold keys of one task each. Runs are
 * rotated and repeated; the median is compared with the no-key run.
 *
 * Fairness: execution on, the hot key's backlog added first, then the 1,000 cold tasks: each cold task's wait
 * (`task_started.queuedMs`) with keys (round-robin between keys), and the same tasks without keys (one FIFO), for
 * contrast.
 */
import type { OrchestrationEngine, TaskInput } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import { fullGc, log, median, round } from './support.js';

type Scenario = 'noKey' | 'distinct10k' | 'hotCold';
const SCENARIOS: readonly Scenario[] = ['noKey', 'distinct10k', 'hotCold'];
const LABEL: Record<Scenario, string> = {
  noKey: 'no concurrency key',
  distinct10k: '10,000 distinct keys',
  hotCold: '1 hot key + 1,000 cold keys',
};
const BATCH = 1000;
const COLD = 1000;

function task(s: Scenario, i: number, n: number): TaskInput {
  const base: TaskInput = { module: 'core', action: 'noop', parameters: {} };
  if (s === 'noKey') return base;
  if (s === 'distinct10k') return { ...base, concurrency: { key: `k${i % 10_000}`, limit: 1000 } };
  return { ...base, concurrency: i < n - COLD ? { key: 'hot', limit: 10_000 } : { key: `cold-${i}`, limit: 1 } };
}

function engineFor(threads: number): OrchestrationEngine {
  return createOrchestrationEngine({ threads, concurrentTasksPerWorker: 16, workflowDirs: [] });
}

async function throughputRun(s: Scenario, n: number, threads: number): Promise<number> {
  await fullGc();
  const engine = engineFor(threads);
  try {
    await engine.ready();
    await Promise.all(Array.from({ length: threads * 32 }, () => engine.pool.probe()));
    const t0 = performance.now();
    for (let added = 0; added < n; added += BATCH) {
      await engine.tasks.addTasks(Array.from({ length: Math.min(BATCH, n - added) }, (_, j) => task(s, added + j, n)));
    }
    const reply = await engine.tasks.startExecution();
    const ms = performance.now() - t0;
    if ((reply.byStatus.completed ?? 0) !== n)
      throw new Error(`${s}: ${reply.byStatus.completed ?? 0} of ${n} completed`);
    return (n / ms) * 1000;
  } finally {
    await engine.shutdown();
  }
}

interface WaitStats {
  coldP50Ms: number;
  coldP99Ms: number;
  coldMaxMs: number;
  /** Hot tasks that started after the cold ones were added, before the last cold one started. */
  hotStartedMeanwhile: number;
}

const pct = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

/** The hot backlog first, then the cold tasks, with execution on: how long the cold ones wait. */
async function fairnessRun(withKeys: boolean, n: number, threads: number): Promise<WaitStats> {
  await fullGc();
  const engine = engineFor(threads);
  try {
    await engine.ready();
    await engine.tasks.startExecution();
    const cold = new Set<string>();
    const waits: number[] = [];
    let coldAdded = false;
    let hotMeanwhile = 0;
    engine.registerEventHandler('task_started', (_, d) => {
      if (cold.has(d.taskId)) waits.push(d.queuedMs);
      else if (coldAdded && waits.length < COLD) hotMeanwhile++;
    });
    const hot = n - COLD;
    for (let added = 0; added < hot; added += BATCH) {
      await engine.tasks.addTasks(
        Array.from({ length: Math.min(BATCH, hot - added) }, (_, j) =>
          withKeys ? task('hotCold', added + j, n) : { module: 'core', action: 'noop', parameters: {} },
        ),
      );
    }
    const coldInputs: TaskInput[] = [];
    for (let j = 0; j < COLD; j++) {
      const id = `cold-${j}`;
      cold.add(id);
      coldInputs.push({
        ...(withKeys ? task('hotCold', hot + j, n) : { module: 'core', action: 'noop', parameters: {} }),
        id,
      });
    }
    coldAdded = true;
    await engine.tasks.addTasks(coldInputs);
    await engine.tasks.startExecution();
    const sorted = waits.sort((a, b) => a - b);
    return {
      coldP50Ms: round(pct(sorted, 50), 1),
      coldP99Ms: round(pct(sorted, 99), 1),
      coldMaxMs: round(sorted.at(-1) ?? NaN, 1),
      hotStartedMeanwhile: hotMeanwhile,
    };
  } finally {
    await engine.shutdown();
  }
}

export interface KeyRunsResult {
  n: number;
  repeats: number;
  tasksPerSec: Record<Scenario, number[]>;
  medianTasksPerSec: Record<Scenario, number>;
  /** Median with keys / median without. */
  ratioToNoKey: Record<Scenario, number>;
  fairness: { withKeys: WaitStats; withoutKeys: WaitStats };
}

export async function keyRuns(n: number, repeats: number, threads: number): Promise<KeyRunsResult> {
  const tasksPerSec: Record<Scenario, number[]> = { noKey: [], distinct10k: [], hotCold: [] };
  for (const s of SCENARIOS) await throughputRun(s, Math.min(n, 5000), threads); // warm-up
  for (let rep = 0; rep < repeats; rep++) {
    const order = SCENARIOS.map((_, i) => SCENARIOS[(i + rep) % SCENARIOS.length]!);
    for (const s of order) {
      const r = await throughputRun(s, n, threads);
      tasksPerSec[s].push(r);
      log(
        `  keys rep ${rep + 1}/${repeats}  ${s.padEnd(12)} ${Math.round(r).toLocaleString('en-US').padStart(8)} tasks/s`,
      );
    }
  }
  const medianTasksPerSec = Object.fromEntries(SCENARIOS.map((s) => [s, median(tasksPerSec[s])])) as Record<
    Scenario,
    number
  >;
  const ratioToNoKey = Object.fromEntries(
    SCENARIOS.map((s) => [s, round(medianTasksPerSec[s] / medianTasksPerSec.noKey, 3)]),
  ) as Record<Scenario, number>;
  log('  fairness: hot backlog, then 1,000 cold tasks ...');
  const withKeys = await fairnessRun(true, n, threads);
  const withoutKeys = await fairnessRun(false, n, threads);
  return { n, repeats, tasksPerSec, medianTasksPerSec, ratioToNoKey, fairness: { withKeys, withoutKeys } };
}

export function printKeyRuns(r: KeyRunsResult): void {
  log(
    `\nConcurrency keys: ${r.n.toLocaleString('en-US')} no-op tasks per run (addTasks + startExecution, cptw=16), median of ${r.repeats}`,
  );
  console.table(
    SCENARIOS.map((s) => ({
      run: LABEL[s],
      'tasks/s median': Math.round(r.medianTasksPerSec[s]).toLocaleString('en-US'),
      'vs no key': `${r.ratioToNoKey[s].toFixed(3)}x`,
    })),
  );
  log(
    `Fairness: ${(r.n - COLD).toLocaleString('en-US')} hot tasks queued first, then ${COLD.toLocaleString('en-US')} cold tasks; the cold tasks' wait`,
  );
  console.table([
    {
      queueing: 'keys (round-robin: hot key, 1,000 cold keys)',
      'cold p50 ms': r.fairness.withKeys.coldP50Ms,
      'cold p99 ms': r.fairness.withKeys.coldP99Ms,
      'cold max ms': r.fairness.withKeys.coldMaxMs,
      'hot started meanwhile': r.fairness.withKeys.hotStartedMeanwhile,
    },
    {
      queueing: 'no keys (one FIFO)',
      'cold p50 ms': r.fairness.withoutKeys.coldP50Ms,
      'cold p99 ms': r.fairness.withoutKeys.coldP99Ms,
      'cold max ms': r.fairness.withoutKeys.coldMaxMs,
      'hot started meanwhile': r.fairness.withoutKeys.hotStartedMeanwhile,
    },
  ]);
}
