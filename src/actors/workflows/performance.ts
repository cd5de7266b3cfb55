/** Per-workflow performance: runs, successes, failures, cancellations, duration percentiles (over the last 1,000 runs) and the last run. */
import type { WorkflowPerformance } from '../../bus/protocol.js';
import type { WorkflowResult } from '../../model/workflow.js';

/** Durations kept per workflow for percentiles. */
const PERF_WINDOW = 1000;

interface PerfState {
  runs: number;
  successes: number;
  failures: number;
  cancelled: number;
  durations: number[];
  next: number;
  lastRun: WorkflowPerformance['lastRun'];
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? null;
}

export class RunPerformance {
  readonly #perf = new Map<string, PerfState>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Counts a finished run in its workflow's summary. */
  record(result: WorkflowResult): void {
    let p = this.#perf.get(result.workflowName);
    if (!p)
      this.#perf.set(
        result.workflowName,
        (p = { runs: 0, successes: 0, failures: 0, cancelled: 0, durations: [], next: 0, lastRun: null }),
      );
    p.runs++;
    if (result.status === 'succeeded') p.successes++;
    else if (result.status === 'cancelled') p.cancelled++;
    else p.failures++;
    if (p.durations.length < PERF_WINDOW) p.durations.push(result.durationMs);
    else p.durations[p.next] = result.durationMs;
    p.next = (p.next + 1) % PERF_WINDOW;
    p.lastRun = { runId: result.runId, status: result.status, endedAt: this.#now(), durationMs: result.durationMs };
  }

  /** Runs, successes, failures and duration percentiles per workflow (all, or the one named). */
  summary(name?: string): WorkflowPerformance[] {
    const names = name !== undefined ? [name] : [...this.#perf.keys()];
    return names.map((n) => {
      const p = this.#perf.get(n);
      const sorted = [...(p?.durations ?? [])].sort((a, b) => a - b);
      return {
        workflowName: n,
        runs: p?.runs ?? 0,
        successes: p?.successes ?? 0,
        failures: p?.failures ?? 0,
        cancelled: p?.cancelled ?? 0,
        successRate: p && p.runs ? p.successes / p.runs : null,
        p50Ms: percentile(sorted, 50),
        p95Ms: percentile(sorted, 95),
        maxMs: sorted.length ? (sorted[sorted.length - 1] ?? null) : null,
        lastRun: p?.lastRun ?? null,
      };
    });
  }
}
