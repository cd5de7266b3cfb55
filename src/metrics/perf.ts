/**
 * Performance summaries: per key (a `module.action`, a workflow name), how many ended, how many succeeded, and
 * duration percentiles. Fed by the same events, in the same handler, as the Prometheus families, so the counts
 * agree with `codomyrmex_tasks_total` and `codomyrmex_workflow_runs_total`. Percentiles are exact over the most
 * recent {@link WINDOW} durations of a key (histograms only give bucketed estimates).
 */

/** Durations kept per key for percentiles. */
export const WINDOW = 1024;

/** One key's summary. Durations are in milliseconds; percentiles and max are over the last `window` durations. */
export interface PerformanceStats {
  /** Ended (tasks: any terminal status; workflows: any final status). */
  count: number;
  succeeded: number;
  /** Count by final status (`completed`, `failed`, `timed_out`, ... or `succeeded`, `failed`, `cancelled`). */
  byStatus: Record<string, number>;
  /** succeeded / count, or null before anything ended. */
  successRate: number | null;
  /** How many durations the percentiles are over (at most the last 1024). */
  window: number;
  meanMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** When the last one ended (epoch ms). */
  lastEndedAt: number | null;
}

class KeyStats {
  count = 0;
  succeeded = 0;
  readonly byStatus: Record<string, number> = {};
  lastEndedAt: number | null = null;
  readonly #ring = new Float64Array(WINDOW);
  #filled = 0;
  #next = 0;

  record(status: string, success: boolean, durationMs: number | null, at: number): void {
    this.count++;
    if (success) this.succeeded++;
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
    this.lastEndedAt = at;
    if (durationMs === null || !Number.isFinite(durationMs)) return;
    this.#ring[this.#next] = durationMs;
    this.#next = (this.#next + 1) % WINDOW;
    if (this.#filled < WINDOW) this.#filled++;
  }

  summary(): PerformanceStats {
    const sorted = Array.from(this.#ring.subarray(0, this.#filled)).sort((a, b) => a - b);
    const n = sorted.length;
    const at = (q: number): number | null => (n === 0 ? null : (sorted[Math.min(n - 1, Math.ceil(q * n) - 1)] ?? null));
    return {
      count: this.count,
      succeeded: this.succeeded,
      byStatus: { ...this.byStatus },
      successRate: this.count === 0 ? null : this.succeeded / this.count,
      window: n,
      meanMs: n === 0 ? null : sorted.reduce((a, b) => a + b, 0) / n,
      p50Ms: at(0.5),
      p95Ms: at(0.95),
      p99Ms: at(0.99),
      maxMs: n === 0 ? null : (sorted[n - 1] ?? null),
      lastEndedAt: this.lastEndedAt,
    };
  }
}

/** Summaries by key. Keys are bounded (module.action pairs, workflow names), like metric labels. */
export class PerformanceTracker {
  readonly #byKey = new Map<string, KeyStats>();

  record(key: string, status: string, success: boolean, durationMs: number | null, at: number): void {
    let stats = this.#byKey.get(key);
    if (!stats) {
      stats = new KeyStats();
      this.#byKey.set(key, stats);
    }
    stats.record(status, success, durationMs, at);
  }

  /** One key's summary, or null when nothing with that key has ended. */
  get(key: string): PerformanceStats | null {
    return this.#byKey.get(key)?.summary() ?? null;
  }

  /** Every key's summary, sorted by key. */
  all(filter?: (key: string) => boolean): Record<string, PerformanceStats> {
    const out: Record<string, PerformanceStats> = {};
    for (const key of [...this.#byKey.keys()].sort()) {
      if (filter && !filter(key)) continue;
      const stats = this.#byKey.get(key);
      if (stats) out[key] = stats.summary();
    }
    return out;
  }
}
