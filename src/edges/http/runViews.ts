/**
 * Workflow runs as the HTTP API shows them: a row of the runs list (steps counted by status), a step whose large
 * output is cut to a preview (the whole is one download away), and a run's history read from the journal.
 */
import type { OrchestrationEngine } from '../../actors/engine/engine.js';
import type { WorkflowRun } from '../../model/run.js';
import type { StepResult } from '../../model/workflow.js';
import { runIdsOf } from './events.js';

/** A step output larger than this (as JSON) is cut in the run view; the whole is one download away. */
export const OUTPUT_PREVIEW_BYTES = 16 * 1024;
/** How many journal entries one run's history reads at most. */
const HISTORY_SCAN_MAX = 200_000;

/** A step's result with a large output replaced by a preview (the download route gives the whole). */
export function previewStep(step: StepResult): StepResult & { outputBytes?: number; outputTruncated?: boolean } {
  if (step.result === undefined || step.result === null) return step;
  const text = JSON.stringify(step.result) ?? '';
  if (text.length <= OUTPUT_PREVIEW_BYTES) return step;
  return {
    ...step,
    result: `${text.slice(0, OUTPUT_PREVIEW_BYTES)}…`,
    outputBytes: Buffer.byteLength(text),
    outputTruncated: true,
  };
}

/** One row of the runs list: the run without its step outputs, with counts of its steps by status. */
export interface RunSummary {
  runId: string;
  workflowName: string;
  version: string;
  status: WorkflowRun['status'];
  startedAt: number;
  endedAt: number | null;
  durationMs: number;
  sessionId: string | null;
  steps: Record<string, number>;
}

/** The runs list's row of one run. */
export function runSummary(run: WorkflowRun): RunSummary {
  const steps: Record<string, number> = {};
  for (const s of Object.values(run.steps)) steps[s.status] = (steps[s.status] ?? 0) + 1;
  return {
    runId: run.runId,
    workflowName: run.workflowName,
    version: run.version,
    status: run.status,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    durationMs: run.durationMs,
    sessionId: run.sessionId,
    steps,
  };
}

/** A run's events from the journal, and whether they are all of them (false: the journal is off or was cut). */
export interface RunHistory {
  events: { seq: number; type: string; timestamp: number; data: unknown }[];
  complete: boolean;
}

/**
 * A run's events from the journal (attempts, retries, logs): the entries from the run's start on, found by a
 * binary search on the journal's timestamps, then read forward until the run's end.
 */
export async function runHistory(engine: OrchestrationEngine, run: WorkflowRun): Promise<RunHistory> {
  const runId = run.runId;
  const store = engine.store;
  if (engine.options.journalMaxEvents === 0) return { events: [], complete: false };
  await engine.commits.afterCommit(null);
  const first = store.readEvents({ limit: 1 })[0];
  if (!first) return { events: [], complete: false };
  let lo = first.seq - 1;
  let hi = store.lastEventSeq();
  // The last seq whose event is older than the run's start (timestamps grow with seq).
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const e = store.readEvents({ afterSeq: mid - 1, limit: 1 })[0];
    if (e && e.timestamp < run.startedAt - 1000) lo = mid;
    else hi = mid - 1;
  }
  const out: RunHistory['events'] = [];
  const end = run.endedAt ?? Infinity;
  let after = lo;
  let scanned = 0;
  for (;;) {
    const page = store.readEvents({ afterSeq: after, limit: 2000 });
    if (page.length === 0) return { events: out, complete: true };
    for (const e of page) {
      after = e.seq;
      if (e.timestamp > end + 1000) return { events: out, complete: true };
      if (runIdsOf(e.data).includes(runId)) out.push(e);
    }
    scanned += page.length;
    if (scanned >= HISTORY_SCAN_MAX) return { events: out, complete: false };
  }
}
