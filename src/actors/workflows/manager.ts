/**
 * The WorkflowManager's state: versioned definitions, runs (live and finished) and per-workflow performance.
 * The actor in `actor.ts` serves it on the bus.
 *
 * Past 400 lines: definitions (versions), live and finished runs, session slots and recovery share the run table;
 * the run itself is run.ts. Known debt: split recovery and performance summaries out next.
 */
import { randomUUID } from 'node:crypto';
import { isAbsolute } from 'node:path';
import type { MessageBus } from '../../bus/bus.js';
import type { RunListFilter, RunRequest, WorkflowPerformance, WorkflowRunStatus, WorkflowSummary } from '../../bus/protocol.js';
import { NotFoundError, ShuttingDownError, ValidationError } from '../../errors.js';
import type { TaskInput, TaskResult } from '../../model/task.js';
import type { StoredWorkflow, WorkflowResult, WorkflowRun } from '../../model/workflow.js';
import { checkPayloadLimits, didYouMean } from '../../model/validate.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import { complexToDefinition } from '../../workflows/complex.js';
import type { ValidationContext } from '../../workflows/validate.js';
import { validateWorkflow } from '../../workflows/validate.js';
import type { GroupCommitter } from '../../store/commits.js';
import { RecordQueue } from '../../store/commits.js';
import type { RecordWrite, Store } from '../../store/store.js';
import type { RunResume } from './run.js';
import { WorkflowRunExecutor } from './run.js';

/** What a run record holds: the run as `getRun` shows it, and the definition it ran (any version, or ad hoc). */
interface RunRecord {
  run: WorkflowRun;
  workflow: StoredWorkflow;
}

export interface WorkflowManagerDeps {
  bus: MessageBus;
  registry: ModuleRegistry;
  execute: (task: TaskInput) => Promise<TaskResult>;
  cancelTask: (taskId: string, reason: string) => Promise<unknown>;
  retainRuns: number;
  now?: () => number;
  /** Where definitions and runs are written (through the engine's group committer). */
  commits?: GroupCommitter | undefined;
  store?: Store | undefined;
  /** Strict durability: a run's result is answered only once it is on disk. */
  ackOnCommit?: boolean;
  /** Waits for a task the orchestrator already has (resumed runs), or null when it has none. */
  attach?: ((taskId: string) => Promise<TaskResult | null>) | undefined;
  /** Refuses step resources the engine could never grant, at validation (as submission would). */
  checkResources?: ValidationContext['checkResources'];
}

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

export class WorkflowManager {
  readonly #deps: WorkflowManagerDeps;
  readonly #now: () => number;
  readonly #versions = new Map<string, StoredWorkflow[]>();
  readonly #live = new Map<string, WorkflowRunExecutor>();
  readonly #finished = new Map<string, WorkflowRun>();
  readonly #perf = new Map<string, PerfState>();
  /** Sessions' workflow limits and the runs waiting for a slot. */
  readonly #sessions = new Map<string, { max: number; active: number; waiting: WorkflowRunExecutor[] }>();
  #closing = false;
  /** Shut down with a durable store: runs in flight stay `running` on disk and resume at the next start. */
  #halted = false;
  /** Definitions and runs waiting for the next commit (null: nothing is written). */
  readonly #records: RecordQueue | null;

  readonly #checks: ValidationContext;

  constructor(deps: WorkflowManagerDeps) {
    this.#deps = deps;
    this.#checks = { checkResources: deps.checkResources };
    this.#now = deps.now ?? Date.now;
    this.#records = deps.commits && deps.store?.persistent === true ? new RecordQueue(deps.commits) : null;
  }

  // ---------------------------------------------------------------- durability

  #runRecord(run: WorkflowRunExecutor): RecordWrite {
    const view = run.view();
    const data: RunRecord = { run: view, workflow: run.workflow };
    return { kind: 'workflow_runs', id: run.runId, parent: view.workflowName, status: view.status, data };
  }

  #persist(record: RecordWrite): void {
    if (!this.#halted) this.#records?.write(record.kind, record.id, record);
  }

  #runChanged(run: WorkflowRunExecutor): void {
    // A run's record holds all its steps: it is encoded once per commit, however many steps ended meanwhile.
    if (!this.#halted) this.#records?.write('workflow_runs', run.runId, () => this.#runRecord(run));
  }

  /**
   * Loads definitions (every version) and runs from the store; runs that were in flight resume: their ended steps
   * keep their results, steps that had started attach to their tasks (which the task orchestrator recovered), the
   * rest run. Call once, before any command.
   */
  recover(): { definitions: number; runs: number; resumed: string[] } {
    const store = this.#deps.store;
    if (!store?.persistent) return { definitions: 0, runs: 0, resumed: [] };
    const defs = store.listRecords<StoredWorkflow>('workflow_definitions');
    for (const rec of defs) {
      const wf = rec.data;
      const versions = this.#versions.get(wf.name) ?? [];
      versions.push(wf);
      this.#versions.set(wf.name, versions);
    }
    const resumed: string[] = [];
    // Runs in flight, and only the newest finished ones `getRun` keeps: a start does not read all finished history.
    const open = store.listRecords<RunRecord>('workflow_runs', { status: ['running'] });
    const finished = this.#deps.retainRuns > 0 ? store.listRecords<RunRecord>('workflow_runs', { status: ['succeeded', 'failed', 'cancelled'], limit: this.#deps.retainRuns, newest: true }) : [];
    const runs = [...open, ...finished].sort((a, b) => a.data.run.startedAt - b.data.run.startedAt);
    for (const rec of runs) {
      const { run, workflow } = rec.data;
      if (run.status !== 'running') {
        this.#finished.set(run.runId, run);
        this.#record(run);
        continue;
      }
      const resume: RunResume = { startedAt: run.startedAt, steps: run.steps };
      const context = { ...(run.workingDir ? { workingDir: run.workingDir } : {}), ...(run.project ? { project: run.project } : {}) };
      const executor = this.#executor(workflow, run.runId, { params: run.params, ...context }, run.sessionId, run.warnings, resume);
      // It was running: it holds one of its session's workflow slots again (its end frees that slot).
      const session = run.sessionId !== null ? this.#sessions.get(run.sessionId) : undefined;
      if (session) session.active++;
      resumed.push(run.runId);
      void executor.start();
    }
    while (this.#finished.size > this.#deps.retainRuns) {
      const oldest = this.#finished.keys().next().value;
      if (oldest === undefined) break;
      this.#finished.delete(oldest);
    }
    return { definitions: defs.length, runs: runs.length, resumed };
  }

  /** The result once it is durable (strict), or at once. */
  acked(result: Promise<WorkflowResult>): Promise<WorkflowResult> {
    const commits = this.#deps.commits;
    if (!this.#deps.ackOnCommit || !commits) return result;
    return result.then((r) => commits.afterCommit(r));
  }

  /** `value` once the changes made so far are durable (strict), or at once: a started run or a stored definition. */
  committed<T>(value: T): T | Promise<T> {
    const commits = this.#deps.commits;
    if (!this.#deps.ackOnCommit || !commits) return value;
    return commits.afterCommit(value);
  }

  /** Stops persisting runs: those in flight stay `running` on disk and resume when an engine opens the store. */
  halt(): void {
    this.#halted = true;
    this.#closing = true;
    const store = this.#deps.store?.location ?? 'the store';
    for (const run of this.#live.values()) run.leave(store);
  }

  // ---------------------------------------------------------------- definitions

  /**
   * Validates and stores a definition. The same definition again is a no-op; a changed one becomes a new version
   * (the next number, unless the definition names its version).
   */
  create(definition: unknown, source: string | null = null): { workflow: StoredWorkflow; created: boolean; warnings: string[] } {
    const v = validateWorkflow(definition, this.#deps.registry, this.#now(), this.#checks);
    if (!v.workflow) throw new ValidationError(v.errors);
    const wf = { ...v.workflow, source };
    const versions = this.#versions.get(wf.name) ?? [];
    const latest = versions[versions.length - 1];
    if (latest && latest.hash === wf.hash && (wf.version === '' || wf.version === latest.version)) {
      return { workflow: latest, created: false, warnings: v.warnings };
    }
    if (wf.version !== '') {
      const clash = versions.find((x) => x.version === wf.version);
      if (clash) {
        if (clash.hash === wf.hash) return { workflow: clash, created: false, warnings: v.warnings };
        throw new ValidationError(`workflow "${wf.name}": version "${wf.version}" already exists with a different definition; give the new definition another version`);
      }
    } else {
      const numeric = versions.map((x) => Number(x.version)).filter((n) => Number.isInteger(n));
      wf.version = String(numeric.length ? Math.max(...numeric) + 1 : versions.length + 1);
    }
    versions.push(wf);
    this.#versions.set(wf.name, versions);
    this.#persist({ kind: 'workflow_definitions', id: `${wf.name}@${wf.version}`, parent: wf.name, status: 'active', data: wf });
    return { workflow: wf, created: true, warnings: v.warnings };
  }

  validate(definition: unknown): { valid: boolean; errors: string[]; warnings: string[] } {
    const v = validateWorkflow(definition, this.#deps.registry, this.#now(), this.#checks);
    return { valid: v.valid, errors: v.errors, warnings: v.warnings };
  }

  /**
   * A workflow by name; when no name matches exactly, the one name that matches with `-` and `_` folded (the seed's
   * `ai_analysis` finds the shipped `ai-analysis`, as Python package names match).
   */
  get(name: string, version?: string): StoredWorkflow | null {
    let versions = this.#versions.get(name);
    if (!versions) {
      const fold = (n: string): string => n.replace(/-/g, '_');
      const hits = [...this.#versions.keys()].filter((n) => fold(n) === fold(name));
      versions = hits.length === 1 && hits[0] !== undefined ? this.#versions.get(hits[0]) : undefined;
    }
    if (!versions) return null;
    if (version === undefined) return versions[versions.length - 1] ?? null;
    return versions.find((v) => v.version === version) ?? null;
  }

  #require(name: string, version?: string): StoredWorkflow {
    const wf = this.get(name, version);
    if (wf) return wf;
    const latest = this.get(name);
    if (latest) {
      throw new NotFoundError(`workflow "${latest.name}" has no version "${version}"; versions: ${this.#versions.get(latest.name)?.map((v) => v.version).join(', ')}`);
    }
    const hint = didYouMean(name, this.#versions.keys());
    throw new NotFoundError(`no workflow named "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; create it first or list them with listWorkflows()`);
  }

  list(): WorkflowSummary[] {
    return [...this.#versions.values()].map((versions) => {
      const wf = versions[versions.length - 1] as StoredWorkflow;
      return {
        name: wf.name,
        description: wf.description,
        version: wf.version,
        versions: versions.map((v) => v.version),
        hash: wf.hash,
        steps: wf.steps.length,
        source: wf.source,
        createdAt: wf.createdAt,
      };
    });
  }

  delete(name: string): { deleted: boolean } {
    const versions = this.#versions.get(name) ?? [];
    for (const v of versions) this.#persist({ kind: 'workflow_definitions', id: `${name}@${v.version}`, delete: true });
    return { deleted: this.#versions.delete(name) };
  }

  // ---------------------------------------------------------------- runs

  /** Starts a run of a stored workflow and returns its executor. */
  start(name: string, req: RunRequest = {}): WorkflowRunExecutor {
    const wf = this.#require(name, req.version);
    return this.#launch(wf, req, []);
  }

  /**
   * Runs an ad hoc definition (the seed's `execute_complex_workflow`): `{ steps, dependencies: { step: [deps] },
   * parallelGroups }`, snake_case accepted. It is validated like any workflow but not stored as one.
   */
  startComplex(definition: unknown, req: RunRequest = {}): WorkflowRunExecutor {
    const merged = complexToDefinition(definition);
    const v = validateWorkflow(merged, this.#deps.registry, this.#now(), this.#checks);
    if (!v.workflow) throw new ValidationError(v.errors);
    return this.#launch({ ...v.workflow, version: v.workflow.version || 'adhoc' }, req, v.warnings);
  }

  #launch(wf: StoredWorkflow, req: RunRequest, warnings: string[]): WorkflowRunExecutor {
    if (this.#closing) throw new ShuttingDownError();
    // Run parameters reach the store (the run's record) and every step's worker: refuse what cannot go there now.
    const bad = req.params === undefined ? null : checkPayloadLimits(req.params, 'params');
    if (bad) throw new ValidationError(bad);
    if (req.workingDir !== undefined && !isAbsolute(req.workingDir)) throw new ValidationError(`workingDir: must be an absolute path (got "${req.workingDir}")`);
    const session = req.sessionId !== undefined ? this.#sessions.get(req.sessionId) : undefined;
    if (req.sessionId !== undefined && !session) {
      throw new NotFoundError(`sessionId: no active session "${req.sessionId}"; create one with engine.createSession({ userId })`);
    }
    const run = this.#executor(wf, randomUUID(), req, req.sessionId ?? null, warnings, null);
    if (session && session.active >= session.max) session.waiting.push(run);
    else {
      if (session) session.active++;
      void run.start();
    }
    return run;
  }

  #executor(wf: StoredWorkflow, runId: string, req: RunRequest, sessionId: string | null, warnings: string[], resume: RunResume | null): WorkflowRunExecutor {
    const run = new WorkflowRunExecutor(
      wf,
      runId,
      req.params ?? {},
      sessionId,
      warnings,
      {
        bus: this.#deps.bus,
        execute: this.#deps.execute,
        cancelTask: this.#deps.cancelTask,
        now: this.#now,
        attach: this.#deps.attach,
        changed: (r) => this.#runChanged(r),
      },
      resume,
      { workingDir: req.workingDir, project: req.project },
    );
    this.#live.set(runId, run);
    run.done.then(
      (result) => this.#finish(run, result),
      () => this.#live.delete(run.runId),
    );
    return run;
  }

  /** Sets a session's workflow limit (the session component calls this when it creates a session). */
  configureSession(sessionId: string, maxParallelWorkflows: number): void {
    const s = this.#sessions.get(sessionId);
    if (s) s.max = maxParallelWorkflows;
    else this.#sessions.set(sessionId, { max: maxParallelWorkflows, active: 0, waiting: [] });
  }

  /** Cancels a session's runs (waiting ones without starting a step) and forgets the session. */
  closeSession(sessionId: string, reason: string): number {
    const s = this.#sessions.get(sessionId);
    this.#sessions.delete(sessionId);
    let n = 0;
    for (const run of this.#live.values()) {
      if (run.sessionId !== sessionId) continue;
      if (run.cancel(`session closed: ${reason}`)) n++;
      if (!run.started) void run.start();
    }
    if (s) s.waiting.length = 0;
    return n;
  }

  #finish(run: WorkflowRunExecutor, result: WorkflowResult): void {
    this.#live.delete(run.runId);
    const session = run.sessionId !== null ? this.#sessions.get(run.sessionId) : undefined;
    if (session) {
      session.active--;
      const next = session.waiting.shift();
      if (next) {
        session.active++;
        void next.start();
      }
    }
    this.#finished.set(run.runId, run.view());
    while (this.#finished.size > this.#deps.retainRuns) {
      const oldest = this.#finished.keys().next().value;
      if (oldest === undefined) break;
      this.#finished.delete(oldest);
    }
    this.#runChanged(run);
    this.#record(result);
  }

  /** Counts a finished run in its workflow's performance summary. */
  #record(result: WorkflowResult): void {
    let p = this.#perf.get(result.workflowName);
    if (!p) this.#perf.set(result.workflowName, (p = { runs: 0, successes: 0, failures: 0, cancelled: 0, durations: [], next: 0, lastRun: null }));
    p.runs++;
    if (result.status === 'succeeded') p.successes++;
    else if (result.status === 'cancelled') p.cancelled++;
    else p.failures++;
    if (p.durations.length < PERF_WINDOW) p.durations.push(result.durationMs);
    else p.durations[p.next] = result.durationMs;
    p.next = (p.next + 1) % PERF_WINDOW;
    p.lastRun = { runId: result.runId, status: result.status, endedAt: this.#now(), durationMs: result.durationMs };
  }

  getRun(runId: string): WorkflowRun | null {
    return this.#live.get(runId)?.view() ?? this.#finished.get(runId) ?? null;
  }

  /**
   * Runs newest first. With a durable store the store answers (every stored run, paged with `after`; a live run shows
   * its state now); otherwise the runs held in memory.
   */
  listRuns(filter: RunListFilter = {}): WorkflowRun[] {
    const store = this.#deps.store;
    if (store?.persistent) {
      const records = store.listRecords<RunRecord>('workflow_runs', {
        newest: true,
        limit: filter.limit ?? 1000,
        ...(filter.workflowName !== undefined ? { parent: filter.workflowName } : {}),
        ...(filter.status !== undefined ? { status: [filter.status] } : {}),
        ...(filter.after !== undefined ? { after: filter.after } : {}),
        ...(filter.from !== undefined ? { createdFrom: filter.from } : {}),
        ...(filter.to !== undefined ? { createdTo: filter.to } : {}),
      });
      return records.map((r) => this.#live.get(r.id)?.view() ?? r.data.run);
    }
    const out: WorkflowRun[] = [];
    const all = [...[...this.#live.values()].map((r) => r.view()), ...this.#finished.values()];
    all.sort((a, b) => b.startedAt - a.startedAt);
    let afterSeen = filter.after === undefined;
    for (const r of all) {
      if (filter.workflowName !== undefined && r.workflowName !== filter.workflowName) continue;
      if (filter.status !== undefined && r.status !== filter.status) continue;
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

  /** A run that ended and is no longer held in memory (past `retainRuns`), read from the durable store. */
  #storedEnded(runId: string): WorkflowRun | null {
    const store = this.#deps.store;
    if (!store?.persistent) return null;
    const run = store.getRecord<RunRecord>('workflow_runs', runId)?.data.run;
    return run && run.status !== 'running' ? run : null;
  }

  waitRun(runId: string): Promise<WorkflowResult> {
    const live = this.#live.get(runId);
    if (live) return live.done;
    const done = this.#finished.get(runId) ?? this.#storedEnded(runId);
    if (done) return Promise.resolve(done);
    return Promise.reject(new NotFoundError(`no workflow run with id "${runId}"`));
  }

  cancelRun(runId: string, reason?: string): { runId: string; cancelled: boolean; status: WorkflowRunStatus } {
    const live = this.#live.get(runId);
    if (live) return { runId, cancelled: live.cancel(reason), status: live.status === 'running' ? 'running' : live.status };
    const done = this.#finished.get(runId);
    if (done) return { runId, cancelled: false, status: done.status };
    throw new NotFoundError(`no workflow run with id "${runId}"`);
  }

  /** Runs, successes, failures and duration percentiles per workflow (all, or the one named). */
  performance(name?: string): WorkflowPerformance[] {
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

  /** Refuses new runs; runs in flight end as their tasks end (the task orchestrator drains them). */
  close(): void {
    this.#closing = true;
  }

  get runsInFlight(): number {
    return this.#live.size;
  }
}
