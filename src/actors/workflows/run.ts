/**
 * Executes one workflow run: starts every step whose dependencies have ended (a task on the task orchestrator, a
 * child run, or a wait), skips the dependents of a step that failed for good, and honours `when`,
 * `continueOnFailure`, parallel groups, resume after a restart and cancellation. The run's own lifecycle (running,
 * cancelling, its outcome and end) is the `workflowRunMachine` actor; how its steps move along stepDriver.ts, the step
 * table steps.ts, what templates see runScope.ts, what a step runs stepUnits.ts, its waiting steps stepWaits.ts, the events it publishes runEvents.ts,
 * and what `getRun` shows of it runView.ts.
 */
import type { Actor, AnyActorRef } from 'xstate';
import { createActor } from 'xstate';
import type { WorkflowRunStatus } from '../../bus/protocol.js';
import { ShuttingDownError } from '../../errors.js';
import { workflowRunMachine } from '../../machines/workflowRun.js';
import type { WorkflowRunContext } from '../../machines/workflowRun.js';
import type { Clock } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';
import { LIMITS } from '../../model/limits.js';
import type { StepResult, StoredWorkflow, WorkflowResult } from '../../model/workflow.js';
import type {
  RunContext,
  RunDebounce,
  RunLineage,
  RunOrigin,
  RunProject,
  RunQueuedOn,
  WorkflowRun,
} from '../../model/run.js';
import type { RunInputs } from '../../model/artifacts.js';
import { RunEvents } from './runEvents.js';
import { RunScope } from './runScope.js';
import { runView } from './runView.js';
import { StepDriver } from './stepDriver.js';
import type { StepState, StepTable } from './steps.js';
import { buildSteps, restoreSteps, runFailed } from './steps.js';
import type { UnitDeps } from './stepUnits.js';
import { StepUnits } from './stepUnits.js';
import { StepWaits } from './stepWaits.js';

export interface RunDeps extends UnitDeps {
  /** Told after every change worth persisting (start, each step's end, the end). */
  changed?: (run: WorkflowRunExecutor) => void;
  /** Timers of sleeps and signal timeouts (the system clock when absent). */
  clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'> | undefined;
  /** Items one forEach step may have (default `LIMITS.maxForEachItems`). */
  maxForEachItems?: number | undefined;
  /** Takes (consumes) a signal of this name kept for the run before a step waited for it; null when none is kept. */
  takeSignal?: ((runId: string, signal: string) => { payload: unknown } | null) | undefined;
}

/** What a run starts from: the steps a restart (`attach: true`) or a re-run (`attach: false`) finds already done. */
export interface RunResume {
  startedAt: number;
  steps: Record<string, StepResult>;
  /** Steps that had started attach to their tasks and child runs (a restart); default true. */
  attach?: boolean;
  /** The stored span of the run's first start (`WorkflowRun.runSpan`): the resumed run's span links to it. */
  runSpan?: string | undefined;
}

/** What a run's machine asks of its executor. */
interface RunEffects {
  cancel(reason: string): void;
  announce(ended: WorkflowRunContext): void;
}
/** Each run's effects, by its machine's actor: the machine is provided once, not per run (~0.1 ms a run). */
const effectsOf = new WeakMap<AnyActorRef, RunEffects>();
const runMachine = workflowRunMachine.provide({
  actions: {
    // After the transition: by then the machine says `cancelling`, which every step launch checks.
    cancelSteps: ({ context, self }) => {
      const effects = effectsOf.get(self);
      if (effects) queueMicrotask(() => effects.cancel(context.cancelReason ?? 'cancelled'));
    },
    announce: ({ context, self }) => effectsOf.get(self)?.announce(context),
  },
});

export class WorkflowRunExecutor {
  readonly runId: string;
  readonly workflow: StoredWorkflow;
  #params: Record<string, unknown>;
  readonly sessionId: string | null;
  readonly startedAt: number;
  /** Set by the run's admission while it is held back (a queued key, a debounce window): shown on the view. */
  hold: { queued?: (() => RunQueuedOn | null) | undefined; debounce?: RunDebounce | null } = {};
  readonly warnings: string[];
  /** Where the steps' file actions work (null: the process's cwd). */
  readonly workingDir: string | null;
  readonly project: RunProject | null;
  /** The schedule or trigger that started it (null: a direct request). */
  readonly origin: RunOrigin | null;
  /** The W3C trace context the run was started in (null: none, or tracing off). */
  readonly traceparent: string | null;
  /**
   * The span of the run's first start (W3C `traceparent`; null: not known yet, or not traced): stored with the run,
   * and given back to the executor that resumes it (its span links to that one).
   */
  runSpan: string | null;
  /** Files uploaded as inputs (null: none): the steps that read an uploaded parameter get its files. */
  readonly inputs: RunInputs | null;
  readonly #deps: RunDeps;
  readonly #steps: StepTable;
  /** Steps waiting for a signal or a time (no task, no thread, no slot). */
  readonly #waits: StepWaits;
  readonly lineage: RunLineage;
  /** Nesting depth (a top-level run is 1). */
  readonly depth: number;
  readonly #scope: RunScope;
  readonly #events: RunEvents;
  readonly #driver: StepDriver;
  readonly #actor: Actor<typeof runMachine>;
  /** Dependents of steps that had failed before a restart, still to be skipped. */
  #restoredSkips: [StepState, StepState][] = [];
  #started = false;
  #resolve!: (r: WorkflowResult) => void;
  #reject!: (e: ShuttingDownError) => void;
  #left = false;
  /**
   * Resolves when the run has ended, whatever way; rejects with a `ShuttingDownError` when a durable shutdown left
   * the run to resume on the next engine (see {@link leave}): its callers are never told a final status it lacks.
   */
  readonly done: Promise<WorkflowResult>;

  /** Resumed after a restart: steps may already have tasks on the orchestrator. */
  readonly resumed: boolean;

  constructor(
    workflow: StoredWorkflow,
    runId: string,
    params: Record<string, unknown>,
    sessionId: string | null,
    warnings: string[],
    deps: RunDeps,
    resume: RunResume | null = null,
    context: RunContext & {
      lineage?: RunLineage | undefined;
      /** The engine made the run's id for this start (see `UnitRun.freshId`). */
      freshId?: boolean | undefined;
    } = {},
  ) {
    this.workflow = workflow;
    this.lineage = context.lineage ?? {};
    this.depth = this.lineage.depth ?? 1;
    this.workingDir = context.workingDir ?? null;
    this.project = context.project ?? null;
    this.origin = context.origin ?? null;
    this.traceparent = context.traceparent ?? null;
    this.runSpan = resume?.runSpan ?? null;
    this.inputs = context.inputs ?? null;
    this.runId = runId;
    this.#params = { ...workflow.params, ...params };
    this.sessionId = sessionId;
    this.warnings = warnings;
    this.#deps = deps;
    this.startedAt = resume?.startedAt ?? deps.now();
    this.resumed = resume !== null && resume.attach !== false;
    this.#scope = new RunScope(runId, this.#params, this.project);
    this.#events = new RunEvents(deps.bus, workflow.name, runId);
    const changed = (): void => this.#deps.changed?.(this);
    const units = new StepUnits(
      {
        runId,
        inputs: this.inputs,
        workflowName: workflow.name,
        sessionId,
        workingDir: this.workingDir,
        depth: this.depth,
        resumed: this.resumed,
        freshId: context.freshId === true && !this.resumed,
        scope: this.#scope,
        changed,
      },
      deps,
    );
    this.#waits = new StepWaits({
      clock: deps.clock ?? systemClock,
      now: deps.now,
      scope: this.#scope,
      events: this.#events,
      takeSignal: (signal) => deps.takeSignal?.(runId, signal) ?? null,
      defer: (fn) => this.#driver.defer(fn),
      end: (s, r) => this.#driver.end(s, r),
      changed,
    });
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#steps = buildSteps(workflow, runId);
    let open = this.#steps.order.length;
    if (resume) {
      const restored = restoreSteps(this.#steps, resume.steps, this.resumed);
      for (const [s, r] of restored.ended) this.#scope.record(s.step.name, r);
      open -= restored.ended.length;
      this.#restoredSkips = restored.skips;
    }
    this.#driver = new StepDriver(
      {
        steps: this.#steps,
        scope: this.#scope,
        units,
        events: this.#events,
        waits: this.#waits,
        now: deps.now,
        maxForEachItems: deps.maxForEachItems ?? LIMITS.maxForEachItems,
        cancelling: () => this.#actor.getSnapshot().matches('cancelling'),
        changed,
        stepEnded: () => this.#settleIfDone(),
      },
      open,
    );
    this.#actor = createActor(runMachine);
    effectsOf.set(this.#actor, {
      cancel: (reason) => this.#driver.cancel(reason),
      announce: (ended) => this.#announce(ended),
    });
    // Started at once (an independent actor is cheap): a run cancelled while it waits for a session slot is told
    // so by its machine like any other, and whether it is running or cancelling is read off the machine.
    this.#actor.start();
  }

  get status(): WorkflowRunStatus {
    return this.#actor.getSnapshot().context.outcome ?? 'running';
  }

  /**
   * The engine shut down with the run kept in `store` (it resumes when an engine opens that store again): its
   * callers are rejected with a `ShuttingDownError` saying so, and nothing it hears afterwards changes that.
   */
  leave(store: string): void {
    if (this.#left) return;
    this.#left = true;
    this.#waits.stopTimers();
    this.#reject(
      new ShuttingDownError(
        `the engine shut down before workflow run ${this.runId} ("${this.workflow.name}") ended; it stays running in ${store} and resumes when an engine opens that store again`,
      ),
    );
  }

  /** Starts the run; `done` resolves when it ends. */
  start(): Promise<WorkflowResult> {
    if (this.#started) return this.done;
    this.#started = true;
    // Cancelled while it waited for a slot in its session: its steps ended cancelled without running.
    if (this.#actor.getSnapshot().status !== 'active' || this.#actor.getSnapshot().matches('cancelling'))
      return this.done;
    this.#events.started(this.workflow.version, this.#steps.order.length, this.sessionId, this);
    this.#driver.start(this.#restoredSkips);
    // A resumed run whose steps had all ended (a crash between the last step and the run's record) settles now.
    this.#settleIfDone();
    this.#deps.changed?.(this);
    return this.done;
  }

  /** Cancels the run: waiting steps end `cancelled`, running ones are cancelled on the orchestrator. */
  cancel(reason = 'cancelled by request'): boolean {
    if (!this.#actor.getSnapshot().matches('running')) return false;
    this.#actor.send({ type: 'run.cancel', reason });
    return true;
  }

  /** The run's parameters: the definition's defaults with the request's over them. */
  get params(): Record<string, unknown> {
    return this.#params;
  }

  /** Replaces the request's parameters of a run that has not started (a debounced run takes the last submission's). */
  replaceParams(params: Record<string, unknown>): void {
    if (this.#started) throw new Error(`run ${this.runId} has started: its parameters are fixed`);
    this.#params = { ...this.workflow.params, ...params };
    this.#scope.params = this.#params;
  }

  /** Whether `start` has been called (a run waiting for a session slot has not). */
  get started(): boolean {
    return this.#started;
  }

  /** A snapshot of the run as `getRun` shows it. */
  view(): WorkflowRun {
    return runView(this, this.#steps.order, this.#actor.getSnapshot().context, this.#deps.now);
  }

  /**
   * Delivers a signal: every step waiting for it completes with `payload` as its output. False when no step waits
   * for it now (the caller keeps it for a step that waits later).
   */
  signal(name: string, payload: unknown): boolean {
    return this.#waits.signal(name, payload);
  }

  /** The signal names this run's steps are waiting for now. */
  get awaitedSignals(): string[] {
    return this.#waits.awaitedSignals;
  }

  /** Tells the machine, once, that every step has ended (it ends the run, or finishes cancelling it). */
  #settleIfDone(): void {
    if (this.#driver.allEnded && this.#actor.getSnapshot().status === 'active')
      this.#actor.send({ type: 'run.settled', failed: runFailed(this.#steps), at: this.#deps.now() });
  }

  #announce(ended: WorkflowRunContext): void {
    // Left to resume (a durable shutdown): what its steps hear while the engine stops (attempts stopped with it)
    // is no ending, and is not announced as one.
    if (this.#left) return;
    const result = runView(this, this.#steps.order, ended, this.#deps.now);
    this.#events.ended(result, () =>
      this.#steps.order
        .filter((s) => s.result && s.result.status !== 'completed' && !s.skippedByCondition)
        .map((s) => s.step.name),
    );
    this.#actor.stop();
    this.#resolve(result);
  }
}
