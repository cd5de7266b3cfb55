/**
 * What `codomyrmex bench` measures and reports, embedded or against a daemon: calls driven with a fixed number in
 * flight, their latencies summarised as percentiles, and the report `--json` prints for a CI job.
 */
import { performance } from 'node:perf_hooks';

export interface BenchPath {
  /** Through the embedded orchestrator, on a bare worker pool beside it, or through a daemon over NATS. */
  path: 'orchestrator' | 'bare pool' | 'daemon';
  tasks: number;
  failed: number;
  wallMs: number;
  tasksPerSec: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /**
   * Embedded: from the call to the task's start on a worker. Daemon: the time the daemon reports the task waited
   * in its queue (`task_started.queuedMs`, its own clock), so no clock of this machine is compared with its. Null
   * for the bare pool.
   */
  queueWaitMs: { p50: number; p95: number; p99: number } | null;
}

/** The daemon's remote workers as a bench saw them. */
export interface RemoteCapacity {
  workers: number;
  capacity: number;
  localThreads: boolean;
  /** Attempts each worker completed during the bench (by name; `local`: the daemon's threads). */
  completedBy: Record<string, number>;
}

export interface BenchReport {
  /** `embedded` (an engine in this process) or `daemon` (a running `codomyrmex daemon` over NATS). */
  target: 'embedded' | 'daemon';
  /** The daemon's NATS URL(s) (daemon only). */
  nats?: string;
  action: string;
  tasks: number;
  concurrency: number;
  /** Worker threads of the engine that ran the tasks (the daemon's, as its status says; null if it does not). */
  threads: number | null;
  store: string;
  /**
   * The remote capacity it ran on (daemon only, when it has remote workers): live workers, their summed capacity,
   * whether the daemon's own threads ran tasks too, and the attempts each worker completed during the bench.
   */
  remote?: RemoteCapacity | null;
  node: string;
  timestamp: string;
  results: BenchPath[];
  /** Orchestrated tasks/s over bare tasks/s (embedded only; null against a daemon). */
  ratio: number | null;
}

/** The p-th percentile of sorted values (nearest rank), to the microsecond. */
export function pct(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Number((sorted[i] ?? NaN).toFixed(3));
}

/** Runs `one(i)` for i in [0, n) with `concurrency` calls in flight; returns each call's latency in ms. */
export async function drive(
  n: number,
  concurrency: number,
  one: (i: number) => Promise<boolean>,
): Promise<{ latencies: number[]; failed: number; wallMs: number }> {
  const latencies = new Array<number>(n);
  let next = 0;
  let failed = 0;
  const start = performance.now();
  const lane = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      const t0 = performance.now();
      if (!(await one(i))) failed += 1;
      latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  return { latencies, failed, wallMs: performance.now() - start };
}

/** Tasks/s, latency percentiles and (when given) queue-wait percentiles of one driven path. */
export function summarise(
  path: BenchPath['path'],
  n: number,
  d: { latencies: number[]; failed: number; wallMs: number },
  waits: number[] | null,
): BenchPath {
  const sorted = [...d.latencies].sort((a, b) => a - b);
  const w = waits ? [...waits].sort((a, b) => a - b) : null;
  return {
    path,
    tasks: n,
    failed: d.failed,
    wallMs: Math.round(d.wallMs),
    tasksPerSec: Math.round(n / (d.wallMs / 1000)),
    latencyMs: { p50: pct(sorted, 50), p95: pct(sorted, 95), p99: pct(sorted, 99), max: pct(sorted, 100) },
    queueWaitMs: w ? { p50: pct(w, 50), p95: pct(w, 95), p99: pct(w, 99) } : null,
  };
}
