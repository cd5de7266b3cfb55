/**
 * The workflow manager's runs by id: the live ones, the newest finished ones it keeps in memory (`retainRuns`, with
 * the definition each ran), and, behind them, the runs in the durable store.
 */
import type { RunListFilter } from '../../bus/protocol.js';
import type { StoredWorkflow, WorkflowResult } from '../../model/workflow.js';
import type { RunLineage, WorkflowRun } from '../../model/run.js';
import { RecentMap } from '../../model/recentMap.js';
import type { Store } from '../../store/store.js';
import type { WorkflowRunExecutor } from './run.js';
import type { RunRecord } from './runRecords.js';
import { listStoredRuns, storedEnded } from './runRecords.js';

export class RunTable {
  readonly #live = new Map<string, WorkflowRunExecutor>();
  /** The runs that ended, each with the definition it ran (a re-run runs it again). */
  readonly #finished: RecentMap<string, { run: WorkflowRun; workflow: StoredWorkflow }>;
  readonly #store: Store | undefined;

  constructor(store: Store | undefined, retainRuns: number) {
    this.#store = store;
    this.#finished = new RecentMap(retainRuns);
  }

  /** A live run (started or held back), or undefined. */
  live(runId: string): WorkflowRunExecutor | undefined {
    return this.#live.get(runId);
  }

  /** The live runs, as a copy (cancelling one while iterating is safe). */
  liveRuns(): WorkflowRunExecutor[] {
    return [...this.#live.values()];
  }

  get liveCount(): number {
    return this.#live.size;
  }

  addLive(run: WorkflowRunExecutor): void {
    this.#live.set(run.runId, run);
  }

  removeLive(runId: string): void {
    this.#live.delete(runId);
  }

  /**
   * Keeps an ended run (its view, and the definition it ran): at least the last `retainRuns` (fewer than twice as
   * many), older ones forgotten.
   */
  finished(run: WorkflowRun, workflow: StoredWorkflow): void {
    this.#finished.set(run.runId, { run, workflow });
  }

  /** A run as `getRun` shows it: live, or ended and held in memory; null otherwise. */
  view(runId: string): WorkflowRun | null {
    return this.#live.get(runId)?.view() ?? this.#finished.get(runId)?.run ?? null;
  }

  /** A run that ended, held in memory or stored; null when none is known. */
  ended(runId: string): WorkflowRun | null {
    return this.#finished.get(runId)?.run ?? storedEnded(this.#store, runId);
  }

  /** The end of a run, live or ended; null when none is known. */
  doneOf(runId: string): Promise<WorkflowResult> | null {
    const live = this.#live.get(runId);
    if (live) return live.done;
    const ended = this.ended(runId);
    return ended ? Promise.resolve(ended) : null;
  }

  /** Whether a run with this id exists: live, held in memory, or in the store. */
  exists(runId: string): boolean {
    return (
      this.#live.has(runId) || this.#finished.has(runId) || this.#store?.getRecord('workflow_runs', runId) !== undefined
    );
  }

  /** The definition an ended run ran: held in memory, or in its stored record; null when neither has it. */
  ranDefinition(runId: string): StoredWorkflow | null {
    return (
      this.#finished.get(runId)?.workflow ??
      this.#store?.getRecord<RunRecord>('workflow_runs', runId)?.data.workflow ??
      null
    );
  }

  /** The ids of a run's ancestors (parent, grandparent, ...) that are live. */
  ancestors(lineage: RunLineage): Set<string> {
    const out = new Set<string>();
    for (let id = lineage.parentRunId ?? null; id && !out.has(id); id = this.#live.get(id)?.lineage.parentRunId ?? null)
      out.add(id);
    return out;
  }

  /**
   * Runs newest first. With a durable store the store answers (every stored run, paged with `after`; a live run shows
   * its state now); otherwise the runs held in memory.
   */
  list(filter: RunListFilter): WorkflowRun[] {
    const store = this.#store;
    if (store?.persistent) return listStoredRuns(store, filter, (r) => this.#live.get(r.id)?.view() ?? r.data.run);
    return filterRuns(
      [...this.liveRuns().map((r) => r.view()), ...[...this.#finished.values()].map((f) => f.run)],
      filter,
    );
  }
}

/** Runs held in memory that pass the filter, newest first, paged with `after`. */
function filterRuns(runs: WorkflowRun[], filter: RunListFilter): WorkflowRun[] {
  const out: WorkflowRun[] = [];
  runs.sort((a, b) => b.startedAt - a.startedAt);
  let afterSeen = filter.after === undefined;
  for (const r of runs) {
    if (filter.workflowName !== undefined && r.workflowName !== filter.workflowName) continue;
    if (filter.status !== undefined && r.status !== filter.status) continue;
    if (filter.schedule !== undefined && r.scheduleName !== filter.schedule) continue;
    if (filter.trigger !== undefined && r.triggerName !== filter.trigger) continue;
    if (filter.from !== undefined && r.startedAt < filter.from) continue;
    if (filter.to !== undefined && r.startedAt >= filter.to) continue;
    if (afterSeen === false) {
      afterSeen = r.runId === filter.after;
      continue;
    }
    out.push(r);
    if (out.length >= (filter.limit ?? Infinity)) break;
  }
  return out;
}
