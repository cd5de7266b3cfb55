/**
 * The WorkflowManager: starts runs (through flow control and sessions' slots), cancels, signals, re-runs and
 * recovers them. The actor in `actor.ts` serves it on the bus. The runs it knows are runTable.ts, definitions
 * definitions.ts, building and admitting a run launch.ts, run records runRecords.ts, session slots sessionSlots.ts,
 * performance summaries performance.ts; the run itself is run.ts.
 */
import type { MessageBus } from '../../bus/bus.js';
import type { RunListFilter, RunRequest, WorkflowRunStatus } from '../../bus/protocol.js';
import { NotFoundError, ShuttingDownError, ValidationError } from '../../errors.js';
import { type Clock, systemClock } from '../../model/clock.js';
import type { TaskExplanation } from '../../model/taskView.js';
import type { TaskInput, TaskResult } from '../../model/task.js';
import type { StoredWorkflow, WorkflowResult } from '../../model/workflow.js';
import type { WorkflowRun } from '../../model/run.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import type { GroupCommitter } from '../../store/commits.js';
import { RecordQueue } from '../../store/commits.js';
import type { Store } from '../../store/store.js';
import type { ValidationContext } from '../../workflows/validate.js';
import { IdempotencyKeys } from '../tasks/admission/idempotency.js';
import { WorkflowDefinitions } from './definitions.js';
import { explainStep } from './explainStep.js';
import { RunLauncher } from './launch.js';
import { RunPerformance } from './performance.js';
import { reusedSteps } from './retry.js';
import type { RunResume } from './run.js';
import type { UnitDeps } from './stepUnits.js';
import type { WorkflowRunExecutor } from './run.js';
import type { RunHandle } from './runFlow.js';
import { RunFlow } from './runFlow.js';
import { lineageOf, resumeContext, RunRecorder, storedRuns } from './runRecords.js';
import { RunTable } from './runTable.js';
import { SessionSlots } from './sessionSlots.js';
import type { KeptSignal } from './signals.js';
import { checkAwaited, checkSignal, SignalBox } from './signals.js';

export interface WorkflowManagerDeps {
  bus: MessageBus;
  registry: ModuleRegistry;
  execute: (task: TaskInput, paramsChecked?: boolean) => Promise<TaskResult>;
  /** Adds and starts a plain step's task straight in the scheduler (see `UnitDeps.start`); absent: {@link execute}. */
  start?: UnitDeps['start'];
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

export class WorkflowManager {
  readonly #deps: WorkflowManagerDeps;
  readonly #now: () => number;
  /** The stored definitions, every version. */
  readonly definitions: WorkflowDefinitions;
  /** Live runs, the finished ones kept in memory, and the store behind them. */
  readonly #runs: RunTable;
  /** Signals sent before a step waited for them. */
  readonly #signals: SignalBox;
  /** Runs, successes, failures and duration percentiles per workflow. */
  readonly performance: RunPerformance;
  /** Sessions' workflow limits and the runs waiting for a slot. */
  readonly #slots = new SessionSlots<WorkflowRunExecutor>();
  #closing = false;
  /** Writes definitions and runs at the next commit (null: nothing is written). */
  readonly #recorder: RunRecorder | null;
  /** Idempotency keys, debounce windows and run-level concurrency keys. */
  readonly flow: RunFlow;
  /** Builds, admits and files runs. */
  readonly #launcher: RunLauncher;

  constructor(deps: WorkflowManagerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#runs = new RunTable(deps.store, deps.retainRuns);
    const c = deps.clock ?? systemClock;
    const records = deps.commits && deps.store?.persistent === true ? new RecordQueue(deps.commits) : null;
    this.#recorder = records ? new RunRecorder(records, this.#now, c, deps.runTraceparent) : null;
    this.#signals = new SignalBox(records);
    this.definitions = new WorkflowDefinitions(deps.registry, this.#now, deps.checkResources, (id, record) =>
      this.#recorder?.definition(id, record),
    );
    this.performance = new RunPerformance(this.#now);
    // Debounce windows and key waits count on the clock their timers run on (a fake one in tests).
    const clock = {
      now: c.now ? () => (c.now as () => number).call(c) : this.#now,
      setTimeout: (fn: () => void, ms: number) => c.setTimeout(fn, ms),
      clearTimeout: (t: ReturnType<Clock['setTimeout']>) => c.clearTimeout(t),
    };
    const keys = deps.store
      ? new IdempotencyKeys(deps.store, records, clock, deps.idempotencyTtlMs ?? 24 * 3600 * 1000, 'run')
      : null;
    this.flow = new RunFlow(
      {
        now: clock.now,
        clock,
        persist: (run) => this.#recorder?.changed(run),
        cancel: (runId, reason) => this.#cancelLive(runId, reason),
        handleOf: (runId) => {
          const done = this.#runs.doneOf(runId);
          return done ? { runId, done } : null;
        },
        ancestors: (lineage) => this.#runs.ancestors(lineage),
      },
      keys,
    );
    this.#launcher = new RunLauncher({
      engine: {
        bus: deps.bus,
        execute: deps.execute,
        start: deps.start,
        cancelTask: deps.cancelTask,
        now: this.#now,
        attach: deps.attach,
        clock: deps.clock,
        maxForEachItems: deps.maxForEachItems,
      },
      definitions: this.definitions,
      runs: this.#runs,
      slots: this.#slots,
      flow: this.flow,
      signals: this.#signals,
      performance: this.performance,
      recorder: this.#recorder,
    });
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
    this.definitions.restore(defs.map((rec) => rec.data));
    const resumed: string[] = [];
    const runs = storedRuns(store, this.#deps.retainRuns);
    this.#signals.restore(store.listRecords<KeptSignal>('workflow_signals', { status: ['pending'] }));
    const toStart: WorkflowRunExecutor[] = [];
    const held: { executor: WorkflowRunExecutor; run: WorkflowRun }[] = [];
    for (const rec of runs) {
      const { run, workflow } = rec.data;
      if (run.status !== 'running') {
        this.#runs.finished(run, workflow);
        this.performance.record(run);
        continue;
      }
      const resume: RunResume = { startedAt: run.startedAt, steps: run.steps, runSpan: run.runSpan };
      const executor = this.#launcher.executor(
        workflow,
        run.runId,
        { params: run.params, ...resumeContext(run) },
        run.sessionId,
        run.warnings,
        resume,
        lineageOf(run),
      );
      resumed.push(run.runId);
      // Held back by flow control (a debounce window, a full key): held back again, after the running runs took their keys.
      if (run.queued || run.debounce) {
        held.push({ executor, run });
        continue;
      }
      this.flow.resume(executor, run, lineageOf(run), () => undefined);
      // It was running: it holds one of its session's workflow slots again (its end frees that slot); a child run
      // holds none (it runs inside its parent's).
      this.#slots.hold(executor);
      toStart.push(executor);
    }
    for (const { executor, run } of held)
      this.flow.resume(executor, run, lineageOf(run), () => this.#slots.go(executor));
    // Started once every run exists: a parent's sub-workflow step attaches to its child run, which must be known.
    for (const executor of toStart) void executor.start();
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
    this.#recorder?.halt();
    this.#closing = true;
    this.#launcher.close();
    this.flow.stop();
    const store = this.#deps.store?.location ?? 'the store';
    for (const run of this.#runs.liveRuns()) run.leave(store);
  }

  /**
   * Starts a run of a stored workflow, or answers the earlier run the request joins (an idempotency key used within
   * the TTL, an open debounce window: `joined` says which).
   */
  start(name: string, req: RunRequest = {}): RunHandle {
    const wf = this.definitions.require(name, req.version);
    return this.#request(wf, req, []);
  }

  #request(wf: StoredWorkflow, req: RunRequest, warnings: string[]): RunHandle {
    if (this.#closing) throw new ShuttingDownError();
    const joined = this.flow.join(wf, req, {});
    if (joined) return joined;
    const run = this.#launcher.launch(wf, req, warnings);
    this.flow.took(req, run.runId);
    return run;
  }

  /**
   * Starts a run unless one with `req.runId` exists (live, kept in memory, or in the store): then answers that run's
   * id with `existing: true` and starts nothing. Schedules and triggers start through this, with ids derived from
   * the slot or message, so a slot re-driven after a crash or a message redelivered runs once.
   */
  startOnce(name: string, req: RunRequest = {}): { runId: string; existing: boolean } {
    if (req.runId !== undefined && this.#runs.exists(req.runId)) return { runId: req.runId, existing: true };
    const handle = this.start(name, req);
    return { runId: handle.runId, existing: handle.joined !== undefined };
  }

  /**
   * Runs an ad hoc definition (the seed's `execute_complex_workflow`): `{ steps, dependencies: { step: [deps] },
   * parallelGroups }`, snake_case accepted. It is validated like any workflow but not stored as one.
   */
  startComplex(definition: unknown, req: RunRequest = {}): RunHandle {
    const { workflow, warnings } = this.definitions.adHoc(definition);
    return this.#request(workflow, req, warnings);
  }

  /** Cancels a live run; one held back (debounce, key queue, session slot) leaves its queue and settles cancelled. */
  #cancelLive(runId: string, reason: string): boolean {
    const run = this.#runs.live(runId);
    if (!run) return false;
    const cancelled = run.cancel(reason);
    if (!run.started) {
      this.flow.drop(run);
      this.#slots.drop(run);
      void run.start();
    }
    return cancelled;
  }

  /** Sets a session's workflow limit (the session component calls this when it creates a session). */
  configureSession(sessionId: string, maxParallelWorkflows: number): void {
    this.#slots.configure(sessionId, maxParallelWorkflows);
  }

  /** Cancels a session's runs (waiting ones without starting a step) and forgets the session. */
  closeSession(sessionId: string, reason: string): number {
    this.#slots.close(sessionId);
    let n = 0;
    for (const run of this.#runs.liveRuns()) {
      if (run.sessionId !== sessionId) continue;
      if (this.#cancelLive(run.runId, `session closed: ${reason}`)) n++;
    }
    return n;
  }

  getRun(runId: string): WorkflowRun | null {
    return this.#runs.view(runId);
  }

  /**
   * Runs newest first. With a durable store the store answers (every stored run, paged with `after`; a live run shows
   * its state now); otherwise the runs held in memory.
   */
  listRuns(filter: RunListFilter = {}): WorkflowRun[] {
    return this.#runs.list(filter);
  }

  waitRun(runId: string): Promise<WorkflowResult> {
    return this.#runs.doneOf(runId) ?? Promise.reject(new NotFoundError(`no workflow run with id "${runId}"`));
  }

  cancelRun(runId: string, reason?: string): { runId: string; cancelled: boolean; status: WorkflowRunStatus } {
    const live = this.#runs.live(runId);
    if (live) {
      const cancelled = this.#cancelLive(runId, reason ?? 'cancelled by request');
      return { runId, cancelled, status: live.status === 'running' ? 'running' : live.status };
    }
    const done = this.#runs.view(runId);
    if (done) return { runId, cancelled: false, status: done.status };
    throw new NotFoundError(`no workflow run with id "${runId}"`);
  }

  /**
   * Sends a signal to a running run: every step waiting for it now completes with `payload` as its output; when none
   * waits yet, it is kept (durably) for the first step that does. Refused for a run that has ended, and for a signal
   * no step of the run's definition waits for.
   */
  signalRun(
    runId: string,
    signal: string,
    payload: unknown = null,
  ): { runId: string; signal: string; delivered: boolean } {
    checkSignal(signal, payload);
    const live = this.#runs.live(runId);
    if (!live) {
      const ended = this.#runs.ended(runId);
      if (ended) throw new ValidationError(`run ${runId} has ended (${ended.status}); signals go to running runs only`);
      throw new NotFoundError(`no workflow run with id "${runId}"`);
    }
    checkAwaited(live.workflow, runId, signal);
    const delivered = live.started && live.signal(signal, payload);
    if (!delivered) this.#signals.keep(runId, signal, payload, this.#now());
    if (this.#deps.bus.wants('run_signaled'))
      this.#deps.bus.publish('run_signaled', { workflowName: live.workflow.name, runId, signal, delivered });
    return { runId, signal, delivered };
  }

  /**
   * Starts a new run of an ended run's definition (the same version) and parameters. Steps that completed in the old
   * run keep their outputs (`reused: true`, `reusedFrom`) unless they are `fromStep`, downstream of it, or downstream
   * of a step that did not complete; the rest run. The new run records `retryOf`.
   */
  retryRun(runId: string, options: { fromStep?: string | undefined } = {}): WorkflowRunExecutor {
    if (this.#runs.live(runId))
      throw new ValidationError(`run ${runId} is still running; wait for it to end (or cancel it) before retrying it`);
    const old = this.#runs.ended(runId);
    if (!old) throw new NotFoundError(`no workflow run with id "${runId}"`);
    const wf = this.#runs.ranDefinition(runId) ?? this.definitions.get(old.workflowName, old.version);
    if (!wf)
      throw new NotFoundError(
        `run ${runId}: the definition it ran (workflow "${old.workflowName}" v${old.version}) is no longer stored, so it cannot be re-run`,
      );
    const steps = reusedSteps(wf, old, options.fromStep);
    const sessionId = old.sessionId !== null && this.#slots.has(old.sessionId) ? old.sessionId : undefined;
    const req: RunRequest = {
      params: old.params,
      sessionId,
      ...(old.workingDir ? { workingDir: old.workingDir } : {}),
      ...(old.project ? { project: old.project } : {}),
    };
    return this.#launcher.launch(wf, req, [], { retryOf: runId }, { startedAt: this.#now(), steps, attach: false });
  }

  /** What a workflow step waiting on a signal or a time waits for (explainStep.ts); null when the id names no step. */
  explainStep(taskId: string): TaskExplanation | null {
    return explainStep(
      taskId,
      (runId) => this.getRun(runId),
      (runId) => this.#signals.pending(runId),
    );
  }

  /** Refuses new runs; runs in flight end as their tasks end (the task orchestrator drains them). */
  close(): void {
    this.#closing = true;
    this.#launcher.close();
    // Runs held back by flow control would never start now: they end cancelled, so their callers hear of it.
    for (const run of this.#runs.liveRuns())
      if (!run.started && (run.hold.debounce || run.hold.queued))
        this.#cancelLive(run.runId, 'the engine shut down before the run started');
    this.flow.stop();
  }

  get runsInFlight(): number {
    return this.#runs.liveCount;
  }
}
