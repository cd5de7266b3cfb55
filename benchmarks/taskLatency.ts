/**
 * One task at a time: an awaited `executeTask` against an awaited bare `pool.run` of the same no-op, both alive in
 * one process. The two are interleaved call by call (bare, orch, orch, bare, …: each pair swaps who goes first, so
 * neither always follows the other's wake-up), and the whole measure is repeated on fresh engines and pools so the
 * report is a spread over runs, not one number that moves with how the two happened to be sampled.
 */
import { createOrchestrationEngine } from '../src/index.js';
import {
  bareProbe,
  bareRequest,
  createBarePool,
  fullGc,
  log,
  median,
  percentile,
  round,
  spread,
  warmThreads,
} from './support.js';

interface LatencyStats {
  samples: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

export interface LatencyRun {
  bare: LatencyStats;
  orchestrated: LatencyStats;
  ratio: { p50: number; p99: number };
}

export interface LatencyResult {
  threads: number;
  concurrentTasksPerWorker: number;
  runs: LatencyRun[];
  /** Over the runs: the orchestrated p50 over the bare p50 of the same run. */
  p50Ratio: { min: number; median: number; max: number };
  p50Us: { bare: number; orchestrated: number };
}

function stats(samplesMs: readonly number[]): LatencyStats {
  const sorted = Float64Array.from(samplesMs).sort();
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    samples: sorted.length,
    p50Us: round(percentile(sorted, 50) * 1000, 1),
    p99Us: round(percentile(sorted, 99) * 1000, 1),
    meanUs: round(mean * 1000, 1),
  };
}

async function oneRun(threads: number, samples: number): Promise<LatencyRun> {
  const cptw = 1;
  const pool = createBarePool(threads, cptw);
  const engine = createOrchestrationEngine({ threads, concurrentTasksPerWorker: cptw, workflowDirs: [] });
  try {
    await engine.ready();
    await warmThreads(bareProbe(pool), threads * cptw, threads);
    await warmThreads(() => engine.pool.probe(), threads * cptw, threads);
    const bareOnce = async (): Promise<number> => {
      const t0 = performance.now();
      const r = await pool.run(bareRequest());
      const ms = performance.now() - t0;
      if (r.type !== 'ok') throw new Error('bare latency: a task failed');
      return ms;
    };
    const orchOnce = async (): Promise<number> => {
      const t0 = performance.now();
      const r = await engine.tasks.executeTask({ module: 'core', action: 'noop', parameters: {} });
      const ms = performance.now() - t0;
      if (!r.success) throw new Error('orchestrated latency: a task failed');
      return ms;
    };
    for (let i = 0; i < 500; i++) {
      await bareOnce();
      await orchOnce();
    }
    await fullGc();
    const bare: number[] = [];
    const orch: number[] = [];
    for (let i = 0; i < samples; i++) {
      if (i % 2 === 0) {
        bare.push(await bareOnce());
        orch.push(await orchOnce());
      } else {
        orch.push(await orchOnce());
        bare.push(await bareOnce());
      }
    }
    const b = stats(bare);
    const o = stats(orch);
    return { bare: b, orchestrated: o, ratio: { p50: o.p50Us / b.p50Us, p99: o.p99Us / b.p99Us } };
  } finally {
    await engine.shutdown();
    await pool.destroy();
  }
}

/** `runs` interleaved measures of `samples` calls each, each on a fresh engine and pool. */
export async function latencyRuns(threads: number, runs: number, samples: number): Promise<LatencyResult> {
  const out: LatencyRun[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await oneRun(threads, samples);
    out.push(r);
    log(
      `  latency run ${i + 1}/${runs}: p50 ${r.orchestrated.p50Us} µs vs bare ${r.bare.p50Us} µs (${r.ratio.p50.toFixed(2)}x)`,
    );
  }
  return {
    threads,
    concurrentTasksPerWorker: 1,
    runs: out,
    p50Ratio: spread(out.map((r) => r.ratio.p50)),
    p50Us: {
      bare: round(median(out.map((r) => r.bare.p50Us)), 1),
      orchestrated: round(median(out.map((r) => r.orchestrated.p50Us)), 1),
    },
  };
}

export function printLatencyRuns(lat: LatencyResult): void {
  log(
    `Latency: one task at a time, interleaved call by call, threads=${lat.threads}, cptw=1, ${lat.runs.length} runs of ${lat.runs[0]?.bare.samples ?? 0} samples each`,
  );
  console.table(
    lat.runs.map((r, i) => ({
      run: i + 1,
      'bare p50 µs': r.bare.p50Us,
      'orch p50 µs': r.orchestrated.p50Us,
      'p50 ratio': `${r.ratio.p50.toFixed(2)}x`,
      'bare p99 µs': r.bare.p99Us,
      'orch p99 µs': r.orchestrated.p99Us,
    })),
  );
  log(`p50 ratio over runs: min ${lat.p50Ratio.min}x, median ${lat.p50Ratio.median}x, max ${lat.p50Ratio.max}x`);
}
