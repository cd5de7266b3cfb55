/**
 * A workflow run's record in the store (`workflow_runs`): what it holds (the run as `getRun` shows it, and the
 * definition it ran), when it is written (once per commit; a large run at most every so often), and how it is read
 * back: one ended run, a page of runs, the context a run in flight resumes with.
 */
import type { RunListFilter } from '../../bus/protocol.js';
import type { Clock, ClockTimer } from '../../model/clock.js';
import type { StoredWorkflow } from '../../model/workflow.js';
import type { RunContext, RunLineage, RunOrigin, WorkflowRun } from '../../model/run.js';
import { TERMINAL_RUN_STATUSES } from '../../model/workflow.js';
import type { RecordQueue } from '../../store/commits.js';
import { toJson } from '../../store/json.js';
import type { RecordWrite, Store, StoredRecord } from '../../store/store.js';
import { definitionJson } from './definitions.js';
import type { WorkflowRunExecutor } from './run.js';

/** What a run record holds: the run as `getRun` shows it, and the definition it ran (any version, or ad hoc). */
export interface RunRecord {
  run: WorkflowRun;
  workflow: StoredWorkflow;
}

/** A run of at most this many steps writes its record at every commit. */
const RECORD_ALWAYS_STEPS = 1000;
/** A larger run writes its record at most once per this many ms per 1,000 steps (100,000 steps: every 10 s). */
const RECORD_MS_PER_1000_STEPS = 100;

/** Writes the workflow manager's records (runs and definitions) through the engine's group commit, until halted. */
export class RunRecorder {
  readonly #records: RecordQueue;
  readonly #now: () => number;
  readonly #clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  #halted = false;
  /** Large runs' pending record writes (see {@link changed}). */
  readonly #timers = new Map<string, ClockTimer>();
  /** When each large running run's record was last queued for a commit. */
  readonly #recordedAt = new Map<string, number>();
  /** With tracing on: the run span's `traceparent`, stored with the run (see `WorkflowRun.runSpan`). */
  readonly #runTraceparent: ((runId: string) => string | null) | undefined;

  constructor(
    records: RecordQueue,
    now: () => number,
    clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>,
    runTraceparent?: (runId: string) => string | null,
  ) {
    this.#records = records;
    this.#now = now;
    this.#clock = clock;
    this.#runTraceparent = runTraceparent;
  }

  /** Writes a definition's record (or its deletion); a function is called at the commit. */
  definition(id: string, record: RecordWrite | (() => RecordWrite)): void {
    if (!this.#halted) this.#records.write('workflow_definitions', id, record);
  }

  /** A run changed: its record is written at the next commit (a large running run's, at most every so often). */
  changed(run: WorkflowRunExecutor): void {
    // A run's record holds all its steps: it is encoded once per commit, however many steps ended meanwhile.
    if (this.#halted) return;
    const steps = run.workflow.steps.length;
    const pending = this.#timers.get(run.runId);
    const now = this.#now();
    // A large run rewrites its whole record at most every RECORD_MS_PER_1000_STEPS per 1,000 steps, so writing it
    // stays linear in its size (once per commit, a 100,000-step run's record made its run quadratic). Its start and
    // end are written at once; in between, a restart finds steps that ended meanwhile by their tasks.
    if (steps > RECORD_ALWAYS_STEPS && run.status === 'running') {
      const everyMs = (steps / 1000) * RECORD_MS_PER_1000_STEPS;
      const last = this.#recordedAt.get(run.runId);
      if (last !== undefined && now - last < everyMs) {
        if (!pending) {
          this.#timers.set(
            run.runId,
            this.#clock.setTimeout(
              () => {
                this.#timers.delete(run.runId);
                this.changed(run);
              },
              everyMs - (now - last),
              { unref: true },
            ),
          );
        }
        return;
      }
      this.#recordedAt.set(run.runId, now);
    } else {
      if (pending) this.#clock.clearTimeout(pending);
      this.#timers.delete(run.runId);
      this.#recordedAt.delete(run.runId);
    }
    this.#records.write('workflow_runs', run.runId, () => {
      // The span of the run's first start, once tracing made it: a resumed run's span links to it.
      if (run.runSpan === null && this.#runTraceparent) run.runSpan = this.#runTraceparent(run.runId);
      return runRecord(run);
    });
  }

  /** Stops writing: runs in flight stay as their records last said (`running`), to resume at the next start. */
  halt(): void {
    this.#halted = true;
    for (const t of this.#timers.values()) this.#clock.clearTimeout(t);
    this.#timers.clear();
  }
}

function runRecord(run: WorkflowRunExecutor): RecordWrite {
  const view = run.view();
  const data: RunRecord = { run: view, workflow: run.workflow };
  // What `toJson(data, true)` gives, with the definition (most of a large run's record) encoded once, not per write.
  const json = `{"run":${toJson(view, true)},"workflow":${definitionJson(run.workflow)}}`;
  return { kind: 'workflow_runs', id: run.runId, parent: view.workflowName, status: view.status, data, json };
}

/** What a start reads of the stored runs: those in flight, and only the newest `retain` finished ones (oldest first). */
export function storedRuns(store: Store, retain: number): StoredRecord<RunRecord>[] {
  const open = store.listRecords<RunRecord>('workflow_runs', { status: ['running'] });
  const finished =
    retain > 0
      ? store.listRecords<RunRecord>('workflow_runs', {
          status: [...TERMINAL_RUN_STATUSES],
          limit: retain,
          newest: true,
        })
      : [];
  return [...open, ...finished].sort((a, b) => a.data.run.startedAt - b.data.run.startedAt);
}

/** A run that ended and is no longer held in memory, read from the durable store; null when none is stored. */
export function storedEnded(store: Store | undefined, runId: string): WorkflowRun | null {
  if (!store?.persistent) return null;
  const run = store.getRecord<RunRecord>('workflow_runs', runId)?.data.run;
  return run && run.status !== 'running' ? run : null;
}

/** The lineage fields of a stored run. */
export function lineageOf(run: WorkflowRun): RunLineage {
  return {
    parentRunId: run.parentRunId ?? null,
    parentStep: run.parentStep ?? null,
    parentItem: run.parentItem ?? null,
    depth: run.depth ?? 1,
    retryOf: run.retryOf ?? null,
  };
}

/** What a stored run in flight resumes with: where it worked, its project, its origin and its trace context. */
export function resumeContext(run: WorkflowRun): RunContext {
  let origin: RunOrigin | undefined;
  if (run.scheduleName !== undefined || run.triggerName !== undefined) {
    origin = {};
    if (run.scheduleName !== undefined) origin.scheduleName = run.scheduleName;
    if (run.scheduledFor !== undefined) origin.scheduledFor = run.scheduledFor;
    if (run.triggerName !== undefined) origin.triggerName = run.triggerName;
  }
  return {
    ...(run.workingDir ? { workingDir: run.workingDir } : {}),
    ...(run.project ? { project: run.project } : {}),
    ...(origin ? { origin } : {}),
    ...(run.traceparent !== undefined ? { traceparent: run.traceparent } : {}),
    ...(run.inputs !== undefined ? { inputs: run.inputs } : {}),
  };
}

/** Runs in the store, newest first, paged with `after`; `view` shows a live run as it is now. */
export function listStoredRuns(
  store: Store,
  filter: RunListFilter,
  view: (r: StoredRecord<RunRecord>) => WorkflowRun,
): WorkflowRun[] {
  const page = (limit: number, after: string | undefined): StoredRecord<RunRecord>[] =>
    store.listRecords<RunRecord>('workflow_runs', {
      newest: true,
      limit,
      ...(filter.workflowName !== undefined ? { parent: filter.workflowName } : {}),
      ...(filter.status !== undefined ? { status: [filter.status] } : {}),
      ...(after !== undefined ? { after } : {}),
      ...(filter.from !== undefined ? { createdFrom: filter.from } : {}),
      ...(filter.to !== undefined ? { createdTo: filter.to } : {}),
    });
  if (filter.schedule === undefined && filter.trigger === undefined)
    return page(filter.limit ?? 1000, filter.after).map(view);
  // The origin is inside the run's data: read pages until enough runs of that schedule or trigger are found.
  const out: WorkflowRun[] = [];
  const want = filter.limit ?? 1000;
  for (let after = filter.after; ;) {
    const records = page(1000, after);
    for (const r of records) {
      const run = view(r);
      if (
        (filter.schedule === undefined || run.scheduleName === filter.schedule) &&
        (filter.trigger === undefined || run.triggerName === filter.trigger)
      )
        out.push(run);
      if (out.length >= want) return out;
    }
    if (records.length < 1000) return out;
    after = records[records.length - 1]?.id;
  }
}
