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
import { checkRunInputs, inputParams } from '../../model/artifacts.js';
import type { Clock, ClockTimer } from '../../model/clock.js';
import type { TaskExplanation } from '../../model/taskView.js';
import type { TaskInput, TaskResult } from '../../model/task.js';
import type { RunLineage, RunOrigin, StepResult, StoredWorkflow, WorkflowResult, WorkflowRun } from '../../model/workflow.js';
import { signalNameSchema, TERMINAL_RUN_STATUSES } from '../../model/workflow.js';
import { transitiveDependents } from './retry.js';
import type { KeptSignal } from './signals.js';
import { SignalBox } from './signals.js';
import { checkPayloadLimits, didYouMean } from '../../model/validate.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import { complexToDefinition } from '../../workflows/complex.js';
import type { ValidationContext } from '../../workflows/validate.js';
import { calledWorkflows, validateWorkflow } from '../../workflows/validate.js';
import type { GroupCommitter } from '../../store/commits.js';
import { RecordQueue } from '../../store/commits.js';
import type { RecordWrite, Store, StoredRecord } from '../../store/store.js';
import type { RunResume } from './run.js';
import { WorkflowRunExecutor } from './run.js';
import type { RunHandle } from './runFlow.js';
import { RunFlow } from './runFlow.js';
import { IdempotencyKeys } from '../tasks/admission/idempotency.js';
import { systemClock } from '../../model/clock.js';

/** What a run record holds: the run as `getRun` shows it, and the definition it ran (any version, or ad hoc). */
interface RunRecord {
  run: WorkflowRun;
  workflow: StoredWorkflow;
}

export interface WorkflowManagerDeps {
  bus: MessageBus;
  registry: ModuleRegistry;
  execute: (task: TaskInput, paramsChecked?: boolean) => Promise<TaskResult>;
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
  /** Timers of sleeps and signal timeouts (the system clock when absent). */
  clock?: (Pick<Clock, 'setTimeout' | 'clearTimeout'> & Partial<Pick<Clock, 'now'>>) | undefined;
  /** Items one forEach step may have (default `LIMITS.maxForEachItems`). */
  maxForEachItems?: number | undefined;
  /** How long a run's idempotency key is remembered (default 24 h). */
  idempotencyTtlMs?: number | undefined;
  /** With tracing on: a run's span as a W3C `traceparent`, stored with the run (see `WorkflowRun.runSpan`). */
  runTraceparent?: ((runId: string) => string | null) | undefined;
}

/** A stored run's origin, as the context that resumes it. */
function originOf(run: WorkflowRun): { origin?: RunOrigin } {
  if (run.scheduleName === undefined && run.triggerName === undefined) return {};
  const origin: RunOrigin = {};
  if (run.scheduleName !== undefined) origin.scheduleName = run.scheduleName;
  if (run.scheduledFor !== undefined) origin.scheduledFor = run.scheduledFor;
  if (run.triggerName !== undefined) origin.triggerName = run.triggerName;
  return { origin };
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

/** The lineage fields of a stored run. */
function lineageOf(run: WorkflowRun): RunLineage {
  return { parentRunId: run.parentRunId ?? null, parentStep: run.parentStep ?? null, parentItem: run.parentItem ?? null, depth: run.depth ?? 1, retryOf: run.retryOf ?? null };
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? null;
}

/** A run of at most this many steps writes its record at every commit. */
const RECORD_ALWAYS_STEPS = 1000;
/** A larger run writes its record at most once per this many ms per 1,000 steps (100,000 steps: every 10 s). */
const RECORD_MS_PER_1000_STEPS = 100;

export class WorkflowManager {
  readonly #deps: WorkflowManagerDeps;
  readonly #now: () => number;
  readonly #versions = new Map<string, StoredWorkflow[]>();
  readonly #live = new Map<string, WorkflowRunExecutor>();
  readonly #finished = new Map<string, WorkflowRun>();
  /** The definition each finished run held in memory ran (a re-run runs it again). */
  readonly #ranDefinition = new Map<string, StoredWorkflow>();
  /** Signals sent before a step waited for them. */
  readonly #signals: SignalBox;
  readonly #perf = new Map<string, PerfState>();
  /** Sessions' workflow limits and the runs waiting for a slot. */
  readonly #sessions = new Map<string, { max: number; active: number; waiting: WorkflowRunExecutor[] }>();
  #closing = false;
  /** Shut down with a durable store: runs in flight stay `running` on disk and resume at the next start. */
  #halted = false;
  /** Large runs' pending record writes (see {@link #runChanged}). */
  readonly #recordTimers = new Map<string, ClockTimer>();
  /** When each large running run's record was last queued for a commit. */
  readonly #recordedAt = new Map<string, number>();
  /** Definitions and runs waiting for the next commit (null: nothing is written). */
  readonly #records: RecordQueue | null;

  readonly #checks: ValidationContext;
  /** Idempotency keys, debounce windows and run-level concurrency keys. */
  readonly flow: RunFlow;

  constructor(deps: WorkflowManagerDeps) {
    this.#deps = deps;
    this.#checks = {
      checkResources: deps.checkResources,
      workflows: { names: () => this.#versions.keys(), calls: (name) => { const wf = this.get(name); return wf ? calledWorkflows(wf.steps) : null; } },
    };
    this.#now = deps.now ?? Date.now;
    this.#records = deps.commits && deps.store?.persistent === true ? new RecordQueue(deps.commits) : null;
    this.#signals = new SignalBox(this.#records);
    const c = deps.clock ?? systemClock;
    // Debounce windows and key waits count on the clock their timers run on (a fake one in tests).
    const clock = {
      now: c.now ? () => (c.now as () => number).call(c) : this.#now,
      setTimeout: (fn: () => void, ms: number) => c.setTimeout(fn, ms),
      clearTimeout: (t: ReturnType<Clock['setTimeout']>) => c.clearTimeout(t),
    };
    const keys = deps.store ? new IdempotencyKeys(deps.store, this.#records, clock, deps.idempotencyTtlMs ?? 24 * 3600 * 1000, 'run') : null;
    this.flow = new RunFlow(
      {
        now: clock.now,
        clock,
        persist: (run) => this.#runChanged(run),
        cancel: (runId, reason) => this.#cancelLive(runId, reason),
        handleOf: (runId) => {
          const live = this.#live.get(runId);
          if (live) return { runId, done: live.done };
          const ended = this.#finished.get(runId) ?? this.#storedEnded(runId);
          return ended ? { runId, done: Promise.resolve(ended) } : null;
        },
        ancestors: (lineage) => {
          const out = new Set<string>();
          for (let id = lineage.parentRunId ?? null; id && !out.has(id); id = this.#live.get(id)?.lineage.parentRunId ?? null) out.add(id);
          return out;
        },
      },
      keys,
    );
  }

  // ---------------------------------------------------------------- durability

  #runRecord(run: WorkflowRunExecutor): RecordWrite {
    // The span of the run's first start, once tracing made it: a resumed run's span links to it.
    if (run.runSpan === null && this.#deps.runTraceparent) run.runSpan = this.#deps.runTraceparent(run.runId);
    const view = run.view();
    const data: RunRecord = { run: view, workflow: run.workflow };
    return { kind: 'workflow_runs', id: run.runId, parent: view.workflowName, status: view.status, data };
  }

  #persist(record: RecordWrite): void {
    if (!this.#halted) this.#records?.write(record.kind, record.id, record);
  }

  #runChanged(run: WorkflowRunExecutor): void {
    // A run's record holds all its steps: it is encoded once per commit, however many steps ended meanwhile.
    if (this.#halted || !this.#records) return;
    const steps = run.workflow.steps.length;
    const pending = this.#recordTimers.get(run.runId);
    const now = this.#now();
    // A large run rewrites its whole record at most every RECORD_MS_PER_1000_STEPS per 1,000 steps, so writing it
    // stays linear in its size (once per commit, a 100,000-step run's record made its run quadratic). Its start and
    // end are written at once; in between, a restart finds steps that ended meanwhile by their tasks.
    if (steps > RECORD_ALWAYS_STEPS && run.status === 'running') {
      const everyMs = (steps / 1000) * RECORD_MS_PER_1000_STEPS;
      const last = this.#recordedAt.get(run.runId);
      if (last !== undefined && now - last < everyMs) {
        if (!pending) {
          const clock = this.#deps.clock ?? systemClock;
          this.#recordTimers.set(run.runId, clock.setTimeout(() => {
            this.#recordTimers.delete(run.runId);
            this.#runChanged(run);
          }, everyMs - (now - last), { unref: true }));
        }
        return;
      }
      this.#recordedAt.set(run.runId, now);
    } else {
      if (pending) (this.#deps.clock ?? systemClock).clearTimeout(pending);
      this.#recordTimers.delete(run.runId);
      this.#recordedAt.delete(run.runId);
    }
    this.#records.write('workflow_runs', run.runId, () => this.#runRecord(run));
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
    const finished = this.#deps.retainRuns > 0 ? store.listRecords<RunRecord>('workflow_runs', { status: [...TERMINAL_RUN_STATUSES], limit: this.#deps.retainRuns, newest: true }) : [];
    const runs = [...open, ...finished].sort((a, b) => a.data.run.startedAt - b.data.run.startedAt);
    this.#signals.restore(store.listRecords<KeptSignal>('workflow_signals', { status: ['pending'] }));
    const toStart: WorkflowRunExecutor[] = [];
    const held: { executor: WorkflowRunExecutor; run: WorkflowRun }[] = [];
    for (const rec of runs) {
      const { run, workflow } = rec.data;
      if (run.status !== 'running') {
        this.#finished.set(run.runId, run);
        this.#ranDefinition.set(run.runId, workflow);
        this.#record(run);
        continue;
      }
      const resume: RunResume = { startedAt: run.startedAt, steps: run.steps };
      const context = { ...(run.workingDir ? { workingDir: run.workingDir } : {}), ...(run.project ? { project: run.project } : {}), ...originOf(run), ...(run.traceparent !== undefined ? { traceparent: run.traceparent } : {}), ...(run.inputs !== undefined ? { inputs: run.inputs } : {}) };
      const executor = this.#executor(workflow, run.runId, { params: run.params, ...context }, run.sessionId, run.warnings, resume, lineageOf(run));
      executor.runSpan = run.runSpan ?? null;
      resumed.push(run.runId);
      // Held back by flow control (a debounce window, a full key): held back again, after the running runs took their keys.
      if (run.queued || run.debounce) {
        held.push({ executor, run });
        continue;
      }
      this.flow.resume(executor, run, lineageOf(run), () => undefined);
      // It was running: it holds one of its session's workflow slots again (its end frees that slot); a child run
      // holds none (it runs inside its parent's).
      const session = run.sessionId !== null && !run.parentRunId ? this.#sessions.get(run.sessionId) : undefined;
      if (session) session.active++;
      toStart.push(executor);
    }
    for (const { executor, run } of held) this.flow.resume(executor, run, lineageOf(run), () => this.#go(executor));
    // Started once every run exists: a parent's sub-workflow step attaches to its child run, which must be known.
    for (const executor of toStart) void executor.start();
    while (this.#finished.size > this.#deps.retainRuns) {
      const oldest = this.#finished.keys().next().value;
      if (oldest === undefined) break;
      this.#finished.delete(oldest);
      this.#ranDefinition.delete(oldest);
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
    for (const t of this.#recordTimers.values()) (this.#deps.clock ?? systemClock).clearTimeout(t);
    this.#recordTimers.clear();
    this.#closing = true;
    this.flow.stop();
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

  /**
   * Starts a run of a stored workflow, or answers the earlier run the request joins (an idempotency key used within
   * the TTL, an open debounce window: `joined` says which).
   */
  start(name: string, req: RunRequest = {}): RunHandle {
    const wf = this.#require(name, req.version);
    return this.#request(wf, req, []);
  }

  #request(wf: StoredWorkflow, req: RunRequest, warnings: string[]): RunHandle {
    if (this.#closing) throw new ShuttingDownError();
    const joined = this.flow.join(wf, req, {});
    if (joined) return joined;
    const run = this.#launch(wf, req, warnings);
    this.flow.took(req, run.runId);
    return run;
  }

  /**
   * Starts a run unless one with `req.runId` exists (live, kept in memory, or in the store): then answers that run's
   * id with `existing: true` and starts nothing. Schedules and triggers start through this, with ids derived from
   * the slot or message, so a slot re-driven after a crash or a message redelivered runs once.
   */
  startOnce(name: string, req: RunRequest = {}): { runId: string; existing: boolean } {
    if (req.runId !== undefined && this.#exists(req.runId)) return { runId: req.runId, existing: true };
    const handle = this.start(name, req);
    return { runId: handle.runId, existing: handle.joined !== undefined };
  }

  #exists(runId: string): boolean {
    return this.#live.has(runId) || this.#finished.has(runId) || this.#deps.store?.getRecord('workflow_runs', runId) !== undefined;
  }

  /**
   * Runs an ad hoc definition (the seed's `execute_complex_workflow`): `{ steps, dependencies: { step: [deps] },
   * parallelGroups }`, snake_case accepted. It is validated like any workflow but not stored as one.
   */
  startComplex(definition: unknown, req: RunRequest = {}): RunHandle {
    const merged = complexToDefinition(definition);
    const v = validateWorkflow(merged, this.#deps.registry, this.#now(), this.#checks);
    if (!v.workflow) throw new ValidationError(v.errors);
    return this.#request({ ...v.workflow, version: v.workflow.version || 'adhoc' }, req, v.warnings);
  }

  #launch(wf: StoredWorkflow, req: RunRequest, warnings: string[], lineage: RunLineage = {}, resume: RunResume | null = null): WorkflowRunExecutor {
    if (this.#closing) throw new ShuttingDownError();
    // Run parameters reach the store (the run's record) and every step's worker: refuse what cannot go there now.
    const bad = req.params === undefined ? null : checkPayloadLimits(req.params, 'params');
    if (bad) throw new ValidationError(bad);
    if (req.workingDir !== undefined && !isAbsolute(req.workingDir)) throw new ValidationError(`workingDir: must be an absolute path (got "${req.workingDir}")`);
    const found = req.sessionId !== undefined ? this.#sessions.get(req.sessionId) : undefined;
    if (req.sessionId !== undefined && !found) {
      throw new NotFoundError(`sessionId: no active session "${req.sessionId}"; create one with engine.createSession({ userId })`);
    }
    if (req.runId !== undefined && (req.runId.length === 0 || req.runId.length > 36)) throw new ValidationError(`runId: must be 1 to 36 characters (a step's task id is "<runId>.<step>"; got ${req.runId.length})`);
    if (req.runId !== undefined && this.#exists(req.runId)) throw new ValidationError(`runId: a run with id "${req.runId}" exists already; give another id, or omit it for a new uuid`);
    if (req.inputs !== undefined) {
      const issues = checkRunInputs(req.runId, req.inputs);
      if (issues.length) throw new ValidationError(issues);
      // An uploaded parameter names where its files are put in each step's folder.
      req = { ...req, params: { ...(req.params ?? {}), ...inputParams(req.runId as string, req.inputs) } };
    }
    // Keys and the debounce key must resolve before the run exists (a ValidationError naming the field).
    this.flow.resolveKeys(wf, { ...wf.params, ...(req.params ?? {}) });
    const run = this.#executor(wf, req.runId ?? randomUUID(), req, req.sessionId ?? null, warnings, resume, lineage);
    this.flow.admit(run, lineage, () => this.#go(run));
    return run;
  }

  /** Starts a run that flow control let through, once its session has a workflow slot. */
  #go(run: WorkflowRunExecutor): void {
    // A child run runs inside its parent's session slot: waiting for a slot of its own could wait forever.
    const session = run.sessionId !== null && !run.lineage.parentRunId ? this.#sessions.get(run.sessionId) : undefined;
    if (session && session.active >= session.max) session.waiting.push(run);
    else {
      if (session) session.active++;
      void run.start();
    }
  }

  /** Cancels a live run; one held back (debounce, key queue, session slot) leaves its queue and settles cancelled. */
  #cancelLive(runId: string, reason: string): boolean {
    const run = this.#live.get(runId);
    if (!run) return false;
    const cancelled = run.cancel(reason);
    if (!run.started) {
      this.flow.drop(run);
      for (const s of this.#sessions.values()) {
        const i = s.waiting.indexOf(run);
        if (i >= 0) s.waiting.splice(i, 1);
      }
      void run.start();
    }
    return cancelled;
  }

  #executor(wf: StoredWorkflow, runId: string, req: RunRequest, sessionId: string | null, warnings: string[], resume: RunResume | null, lineage: RunLineage = {}): WorkflowRunExecutor {
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
        clock: this.#deps.clock,
        maxForEachItems: this.#deps.maxForEachItems,
        startChild: (c) => {
          const child = this.#launch(this.#require(c.workflow), { params: c.params, sessionId: sessionId ?? undefined, workingDir: req.workingDir, project: req.project }, [], {
            parentRunId: c.parentRunId,
            parentStep: c.parentStep,
            parentItem: c.parentItem,
            depth: c.depth,
          });
          return { runId: child.runId, done: child.done };
        },
        attachChild: (childId) => {
          const live = this.#live.get(childId);
          if (live) return live.done;
          const ended = this.#finished.get(childId) ?? this.#storedEnded(childId);
          return ended ? Promise.resolve(ended) : null;
        },
        cancelRun: (childId, reason) => {
          this.#live.get(childId)?.cancel(reason);
        },
        takeSignal: (id, signal) => this.#signals.take(id, signal),
      },
      resume,
      { workingDir: req.workingDir, project: req.project, lineage, origin: req.origin, traceparent: req.traceparent, inputs: req.inputs },
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
    for (const run of [...this.#live.values()]) {
      if (run.sessionId !== sessionId) continue;
      if (this.#cancelLive(run.runId, `session closed: ${reason}`)) n++;
    }
    if (s) s.waiting.length = 0;
    return n;
  }

  #finish(run: WorkflowRunExecutor, result: WorkflowResult): void {
    this.#live.delete(run.runId);
    this.flow.ended(run.runId);
    this.#signals.drop(run.runId);
    const session = run.sessionId !== null && !run.lineage.parentRunId ? this.#sessions.get(run.sessionId) : undefined;
    if (session) {
      session.active--;
      const next = session.waiting.shift();
      if (next) {
        session.active++;
        void next.start();
      }
    }
    this.#finished.set(run.runId, run.view());
    this.#ranDefinition.set(run.runId, run.workflow);
    while (this.#finished.size > this.#deps.retainRuns) {
      const oldest = this.#finished.keys().next().value;
      if (oldest === undefined) break;
      this.#finished.delete(oldest);
      this.#ranDefinition.delete(oldest);
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
      const view = (r: StoredRecord<RunRecord>): WorkflowRun => this.#live.get(r.id)?.view() ?? r.data.run;
      if (filter.schedule === undefined && filter.trigger === undefined) return page(filter.limit ?? 1000, filter.after).map(view);
      // The origin is inside the run's data: read pages until enough runs of that schedule or trigger are found.
      const out: WorkflowRun[] = [];
      const want = filter.limit ?? 1000;
      for (let after = filter.after; ; ) {
        const records = page(1000, after);
        for (const r of records) {
          const run = view(r);
          if ((filter.schedule === undefined || run.scheduleName === filter.schedule) && (filter.trigger === undefined || run.triggerName === filter.trigger)) out.push(run);
          if (out.length >= want) return out;
        }
        if (records.length < 1000) return out;
        after = records[records.length - 1]?.id;
      }
    }
    const out: WorkflowRun[] = [];
    const all = [...[...this.#live.values()].map((r) => r.view()), ...this.#finished.values()];
    all.sort((a, b) => b.startedAt - a.startedAt);
    let afterSeen = filter.after === undefined;
    for (const r of all) {
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
    if (live) {
      const cancelled = this.#cancelLive(runId, reason ?? 'cancelled by request');
      return { runId, cancelled, status: live.status === 'running' ? 'running' : live.status };
    }
    const done = this.#finished.get(runId);
    if (done) return { runId, cancelled: false, status: done.status };
    throw new NotFoundError(`no workflow run with id "${runId}"`);
  }

  /**
   * Sends a signal to a running run: every step waiting for it now completes with `payload` as its output; when none
   * waits yet, it is kept (durably) for the first step that does. Refused for a run that has ended, and for a signal
   * no step of the run's definition waits for.
   */
  signalRun(runId: string, signal: string, payload: unknown = null): { runId: string; signal: string; delivered: boolean } {
    const name = signalNameSchema.safeParse(signal);
    if (!name.success) throw new ValidationError(`signal: ${name.error.issues[0]?.message ?? 'must be a plain name'} (got ${JSON.stringify(signal)})`);
    const bad = checkPayloadLimits(payload, 'payload');
    if (bad) throw new ValidationError(bad);
    const live = this.#live.get(runId);
    if (!live) {
      const ended = this.#finished.get(runId) ?? this.#storedEnded(runId);
      if (ended) throw new ValidationError(`run ${runId} has ended (${ended.status}); signals go to running runs only`);
      throw new NotFoundError(`no workflow run with id "${runId}"`);
    }
    const awaited = [...new Set(live.workflow.steps.flatMap((s) => (s.waitFor ? [s.waitFor.signal] : [])))];
    if (!awaited.includes(signal)) {
      throw new ValidationError(
        `signal: no step of workflow "${live.workflow.name}" (run ${runId}) waits for signal "${signal}"; ${awaited.length ? `its steps wait for: ${awaited.join(', ')}` : 'none of its steps waits for a signal'}`,
      );
    }
    const delivered = live.started && live.signal(signal, payload);
    if (!delivered) this.#signals.keep(runId, signal, payload, this.#now());
    if (this.#deps.bus.wants('run_signaled')) this.#deps.bus.publish('run_signaled', { workflowName: live.workflow.name, runId, signal, delivered });
    return { runId, signal, delivered };
  }

  /**
   * Starts a new run of an ended run's definition (the same version) and parameters. Steps that completed in the old
   * run keep their outputs (`reused: true`, `reusedFrom`) unless they are `fromStep`, downstream of it, or downstream
   * of a step that did not complete; the rest run. The new run records `retryOf`.
   */
  retryRun(runId: string, options: { fromStep?: string | undefined } = {}): WorkflowRunExecutor {
    if (this.#live.has(runId)) throw new ValidationError(`run ${runId} is still running; wait for it to end (or cancel it) before retrying it`);
    const old = this.#finished.get(runId) ?? this.#storedEnded(runId);
    if (!old) throw new NotFoundError(`no workflow run with id "${runId}"`);
    const wf = this.#ranDefinition.get(runId) ?? this.#deps.store?.getRecord<RunRecord>('workflow_runs', runId)?.data.workflow ?? this.get(old.workflowName, old.version);
    if (!wf) throw new NotFoundError(`run ${runId}: the definition it ran (workflow "${old.workflowName}" v${old.version}) is no longer stored, so it cannot be re-run`);
    const names = wf.steps.map((s) => s.name);
    const { fromStep } = options;
    if (fromStep !== undefined && !names.includes(fromStep)) {
      const hint = didYouMean(fromStep, names);
      throw new ValidationError(`fromStep: workflow "${wf.name}" has no step "${fromStep}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
    }
    const seeds = names.filter((n) => n === fromStep || old.steps[n]?.status !== 'completed');
    const redo = transitiveDependents(wf.steps, seeds);
    const steps: Record<string, StepResult> = {};
    for (const n of names) {
      const r = old.steps[n];
      if (r && r.status === 'completed' && !redo.has(n)) steps[n] = { ...r, reused: true, reusedFrom: runId };
    }
    const sessionId = old.sessionId !== null && this.#sessions.has(old.sessionId) ? old.sessionId : undefined;
    const req: RunRequest = { params: old.params, sessionId, ...(old.workingDir ? { workingDir: old.workingDir } : {}), ...(old.project ? { project: old.project } : {}) };
    return this.#launch(wf, req, [], { retryOf: runId }, { startedAt: this.#now(), steps, attach: false });
  }

  /**
   * What a workflow step whose task id is given (`<runId>.<step>`) waits for, when it waits on a signal or a time
   * (it has no task to explain); null when the id names no such step.
   */
  explainStep(taskId: string): TaskExplanation | null {
    const dot = taskId.indexOf('.');
    if (dot < 0) return null;
    const run = this.getRun(taskId.slice(0, dot));
    const step = run?.steps[taskId.slice(dot + 1)];
    if (!run || !step) return null;
    const w = step.waiting;
    if (step.status !== 'waiting' || !w) {
      return { taskId, status: step.status === 'waiting' ? 'running' : step.status, summary: `step "${step.step}" of run ${run.runId} is ${step.status}${step.items ? ` (${step.items.length} items)` : ''}${step.childRunId ? ` (child run ${step.childRunId})` : ''}`, waitingOn: null };
    }
    const until = w.until !== null ? ` until ${new Date(w.until).toISOString()}` : '';
    if (w.signal !== null) {
      const kept = this.#signals.pending(run.runId);
      return {
        taskId,
        status: 'waiting',
        summary: `step "${step.step}" of run ${run.runId} waits for signal "${w.signal}"${w.until !== null ? `${until} (then onTimeout applies)` : ' (no time limit)'}; send it with signalRun("${run.runId}", "${w.signal}", payload)${kept.length ? `; kept for this run: ${kept.join(', ')}` : ''}`,
        waitingOn: { kind: 'signal', signal: w.signal, until: w.until, since: w.since },
      };
    }
    return { taskId, status: 'waiting', summary: `step "${step.step}" of run ${run.runId} sleeps${until}`, waitingOn: { kind: 'timer', until: w.until, since: w.since } };
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
    // Runs held back by flow control would never start now: they end cancelled, so their callers hear of it.
    for (const run of [...this.#live.values()]) if (!run.started && (run.hold.debounce || run.hold.queued)) this.#cancelLive(run.runId, 'the engine shut down before the run started');
    this.flow.stop();
  }

  get runsInFlight(): number {
    return this.#live.size;
  }
}
