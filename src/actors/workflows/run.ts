/**
 * Executes one workflow run: starts every step whose dependencies have ended, as a task on the task orchestrator,
 * with its templates resolved against upstream outputs; skips the dependents of a step that failed for good;
 * honours `when`, `continueOnFailure` and parallel groups. The run's own lifecycle is the `workflowRunMachine`
 * actor.
 *
 * Past 400 lines: a run's step table, template scope, parallel groups, resume and cancellation are one state.
 * Known debt: the class keeps copies of what its actor knows (status, timing); moving that into the machine is the
 * way to shrink it.
 */
import type { Actor } from 'xstate';
import { createActor } from 'xstate';
import type { MessageBus } from '../../bus/bus.js';
import type { WorkflowRunStatus } from '../../bus/protocol.js';
import type { SerializedError } from '../../errors.js';
import { CancelledError, ChildRunError, CodomyrmexError, ConditionFalseError, ErrorCode, serializeError, ShuttingDownError, SkippedError, ValidationError, WaitTimeoutError } from '../../errors.js';
import { workflowRunMachine } from '../../machines/workflowRun.js';
import type { EventMap } from '../../model/events.js';
import type { WorkflowRunContext } from '../../machines/workflowRun.js';
import type { Clock, ClockTimer } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';
import { LIMITS } from '../../model/limits.js';
import type { TaskInput, TaskResult, TaskStatus } from '../../model/task.js';
import { TERMINAL_STATUSES } from '../../model/task.js';
import type { ItemResult, RunContext, RunDebounce, RunError, RunLineage, RunOrigin, RunProject, RunQueuedOn, StepResult, StepWaiting, StoredWorkflow, WorkflowResult, WorkflowRun, WorkflowStep } from '../../model/workflow.js';
import type { ArtifactRef, RunInputs, UpstreamArtifacts } from '../../model/artifacts.js';
import { artifactPath, INPUT_STEP } from '../../model/artifacts.js';
import { parseSleep, parseTime, stepCall, stepKind, typeName } from '../../workflows/kinds.js';
import type { TemplateScope } from '../../workflows/template.js';
import { evaluateCondition, findTemplates, resolveTemplates } from '../../workflows/template.js';
import { FanOut } from './fanout.js';

/** What a sub-workflow step asks of the workflow manager to start its child run. */
export interface ChildStart {
  workflow: string;
  params: Record<string, unknown>;
  parentRunId: string;
  parentStep: string;
  parentItem: number | null;
  depth: number;
}

/** A child run: its id, and its end. */
export interface ChildHandle {
  runId: string;
  done: Promise<WorkflowResult>;
}

export interface RunDeps {
  bus: MessageBus;
  /**
   * Runs one task to its end (the task orchestrator's `task.execute`). `paramsChecked`: its parameters are the
   * definition's, validated when it was created (no template in them), so they need not be validated again.
   */
  execute: (task: TaskInput, paramsChecked?: boolean) => Promise<TaskResult>;
  cancelTask: (taskId: string, reason: string) => Promise<unknown>;
  now: () => number;
  /**
   * For a resumed run: waits for the step's task if the task orchestrator already has it (it was submitted before
   * the restart), resolving null when it does not.
   */
  attach?: ((taskId: string) => Promise<TaskResult | null>) | undefined;
  /** Told after every change worth persisting (start, each step's end, the end). */
  changed?: (run: WorkflowRunExecutor) => void;
  /** Timers of sleeps and signal timeouts (the system clock when absent). */
  clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'> | undefined;
  /** Items one forEach step may have (default `LIMITS.maxForEachItems`). */
  maxForEachItems?: number | undefined;
  /** Starts a sub-workflow step's child run; throws when it cannot (unknown workflow, too deep). */
  startChild?: ((req: ChildStart) => ChildHandle) | undefined;
  /** The end of a child run started before a restart, or null when it is not known. */
  attachChild?: ((runId: string) => Promise<WorkflowResult> | null) | undefined;
  /** Cancels a child run. */
  cancelRun?: ((runId: string, reason: string) => void) | undefined;
  /** Takes (consumes) a signal of this name kept for the run before a step waited for it; null when none is kept. */
  takeSignal?: ((runId: string, signal: string) => { payload: unknown } | null) | undefined;
}

/** What a run starts from: the steps a restart (`attach: true`) or a re-run (`attach: false`) finds already done. */
export interface RunResume {
  startedAt: number;
  steps: Record<string, StepResult>;
  /** Steps that had started attach to their tasks and child runs (a restart); default true. */
  attach?: boolean;
}

type StepPhase = 'waiting' | 'blocked' | 'running' | 'done';

interface StepState {
  step: WorkflowStep;
  phase: StepPhase;
  waitingOn: number;
  dependents: StepState[];
  hasTemplates: boolean;
  /** The steps whose artifacts it gets: its dependencies, and any step its templates read `artifacts` of. */
  artifactSources: readonly string[];
  groups: Set<number> | null;
  result: StepResult | null;
  taskId: string;
  /** Skipped by its own `when`: dependents still run. */
  skippedByCondition: boolean;
  /** What a restart found of this step while it had not ended (items that ended, its child run, its wait). */
  prior: StepResult | null;
  startedAt: number | null;
  /** A forEach step's items, once it started. */
  fan: FanOut | null;
  /** Child runs of a sub-workflow step: by item index, or -1 for a step without forEach. */
  children: Map<number, string> | null;
  /** What a waiting step waits for, while it waits. */
  waiting: StepWaiting | null;
  timer: ClockTimer | null;
}

const FAILED: ReadonlySet<string> = new Set(['failed', 'timed_out', 'cancelled']);

/**
 * The steps whose artifacts a step is given: its dependencies, and the steps further up that its templates name
 * (`{{make.artifacts.out}}` behind a wait step), so the file a template points at is there when it starts.
 */
function artifactSources(step: WorkflowStep): string[] {
  const names = new Set(step.dependencies ?? []);
  for (const site of findTemplates([step.parameters ?? {}, step.forEach ?? null])) for (const ref of site.refs) if (ref.path[0] === 'artifacts') names.add(ref.root);
  return [...names];
}

/** The first step (in definition order) that failed, timed out or was cancelled, with its error; null if none did. */
function runError(steps: Record<string, StepResult>): RunError | null {
  const all = Object.values(steps);
  const first = all.find((s) => s.status === 'failed' || s.status === 'timed_out') ?? all.find((s) => FAILED.has(s.status));
  if (!first) return null;
  const others = all.filter((s) => s !== first && s.status !== 'completed').length;
  return { step: first.step, status: first.status, code: first.error?.code ?? 'UNKNOWN', message: first.error?.message ?? `step "${first.step}" ${first.status}`, others };
}

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
   * and set again on the executor that resumes it (its span links to that one).
   */
  runSpan: string | null;
  /** Files uploaded as inputs (null: none): the steps that read an uploaded parameter get its files. */
  readonly inputs: RunInputs | null;
  readonly #deps: RunDeps;
  readonly #steps = new Map<string, StepState>();
  readonly #order: StepState[] = [];
  readonly #running = new Set<StepState>();
  /** Steps waiting for a signal or a time (no task, no thread, no slot). */
  readonly #waiting = new Set<StepState>();
  readonly #clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  readonly lineage: RunLineage;
  /** Nesting depth (a top-level run is 1). */
  readonly depth: number;
  readonly #blocked: StepState[] = [];
  readonly #scope: TemplateScope;
  /** The artifacts of ended steps, step → name → ref. */
  readonly #artifacts = new Map<string, Record<string, ArtifactRef>>();
  readonly #actor: Actor<typeof workflowRunMachine>;
  #open: number;
  // Steps released by an ending step are handled through this worklist, not by recursion, so a failure at the
  // head of a 10,000-step chain cannot overflow the stack.
  #work: (() => void)[] = [];
  #working = false;
  /** Dependents of steps that had failed before a restart, still to be skipped. */
  readonly #restoredSkips: [StepState, StepState][] = [];
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
    context: RunContext & { lineage?: RunLineage | undefined } = {},
  ) {
    this.workflow = workflow;
    this.#clock = deps.clock ?? systemClock;
    this.lineage = context.lineage ?? {};
    this.depth = this.lineage.depth ?? 1;
    this.workingDir = context.workingDir ?? null;
    this.project = context.project ?? null;
    this.origin = context.origin ?? null;
    this.traceparent = context.traceparent ?? null;
    this.runSpan = null;
    this.inputs = context.inputs ?? null;
    this.runId = runId;
    this.#params = { ...workflow.params, ...params };
    this.sessionId = sessionId;
    this.warnings = warnings;
    this.#deps = deps;
    this.startedAt = resume?.startedAt ?? deps.now();
    this.resumed = resume !== null && resume.attach !== false;
    this.#scope = { params: this.#params, steps: {}, ...(this.project ? { project: { ...this.project } } : {}) };
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const groupsOf = new Map<string, Set<number>>();
    workflow.parallelGroups?.forEach((g, i) => {
      for (const name of g) {
        let set = groupsOf.get(name);
        if (!set) groupsOf.set(name, (set = new Set()));
        set.add(i);
      }
    });
    for (const step of workflow.steps) {
      const state: StepState = {
        step,
        phase: 'waiting',
        waitingOn: 0,
        dependents: [],
        hasTemplates: findTemplates(step.parameters ?? {}).length > 0,
        artifactSources: artifactSources(step),
        groups: workflow.parallelGroups ? (groupsOf.get(step.name) ?? new Set()) : null,
        result: null,
        taskId: `${runId}.${step.name}`,
        skippedByCondition: false,
        prior: null,
        startedAt: null,
        fan: null,
        children: null,
        waiting: null,
        timer: null,
      };
      this.#steps.set(step.name, state);
      this.#order.push(state);
    }
    for (const s of this.#order) {
      for (const d of new Set(s.step.dependencies ?? [])) {
        const up = this.#steps.get(d);
        if (!up) continue;
        s.waitingOn++;
        up.dependents.push(s);
      }
    }
    this.#open = this.#order.length;
    if (resume) this.#restore(resume);
    this.#actor = createActor(
      workflowRunMachine.provide({
        actions: {
          // After the transition: by then the machine says `cancelling`, which every step launch checks.
          cancelSteps: ({ context }) => queueMicrotask(() => this.#cancelSteps(context.cancelReason ?? 'cancelled')),
          announce: ({ context }) => this.#announce(context),
        },
      }),
    );
    // Started at once (an independent actor is cheap): a run cancelled while it waits for a session slot is told
    // so by its machine like any other, and whether it is running or cancelling is read off the machine.
    this.#actor.start();
  }

  get status(): WorkflowRunStatus {
    return this.#actor.getSnapshot().context.outcome ?? 'running';
  }

  /**
   * Puts back the steps that had ended before a restart, with their outputs (they are not run again); releases
   * their dependents as their end did. Steps that had started are launched again and attach to their tasks.
   */
  #restore(resume: RunResume): void {
    const ended = (r: StepResult | undefined): r is StepResult => r !== undefined && TERMINAL_STATUSES.has(r.status);
    for (const s of this.#order) {
      const r = resume.steps[s.step.name];
      if (!ended(r)) {
        if (r && this.resumed) s.prior = r;
        continue;
      }
      s.phase = 'done';
      s.result = r;
      s.skippedByCondition = r.status === 'skipped' && r.error?.code === 'CONDITION_FALSE';
      this.#open--;
      this.#scopeStep(s.step.name, r);
    }
    for (const s of this.#order) {
      if (s.phase !== 'done' || !s.result) continue;
      const tolerated = this.#releasesDependents(s, s.result);
      for (const d of s.dependents) {
        if (d.phase !== 'waiting') continue;
        if (tolerated) d.waitingOn--;
        else this.#restoredSkips.push([d, s]);
      }
    }
  }

  /**
   * The engine shut down with the run kept in `store` (it resumes when an engine opens that store again): its
   * callers are rejected with a `ShuttingDownError` saying so, and nothing it hears afterwards changes that.
   */
  leave(store: string): void {
    if (this.#left) return;
    this.#left = true;
    for (const s of this.#waiting) this.#clock.clearTimeout(s.timer);
    this.#reject(
      new ShuttingDownError(`the engine shut down before workflow run ${this.runId} ("${this.workflow.name}") ended; it stays running in ${store} and resumes when an engine opens that store again`),
    );
  }

  /** Starts the run; `done` resolves when it ends. */
  start(): Promise<WorkflowResult> {
    if (this.#started) return this.done;
    this.#started = true;
    // Cancelled while it waited for a slot in its session: its steps ended cancelled without running.
    if (this.#actor.getSnapshot().status !== 'active' || this.#isCancelling()) return this.done;
    const { bus } = this.#deps;
    if (bus.wants('workflow_started')) {
      bus.publish('workflow_started', { workflowName: this.workflow.name, runId: this.runId, version: this.workflow.version, steps: this.#order.length, sessionId: this.sessionId, ...startLinks(this) });
    }
    for (const [d, up] of this.#restoredSkips) {
      const skipped = this.#skippedAfter(d, up);
      this.#defer(() => this.#end(d, skipped));
    }
    for (const s of this.#order) if (s.phase === 'waiting' && s.waitingOn === 0) this.#defer(() => this.#ready(s));
    // A resumed run whose steps had all ended (a crash between the last step and the run's record) settles now.
    this.#settleIfDone();
    this.#deps.changed?.(this);
    return this.done;
  }

  #defer(fn: () => void): void {
    this.#work.push(fn);
    if (this.#working) return;
    this.#working = true;
    try {
      for (let i = 0; i < this.#work.length; i++) this.#work[i]?.();
    } finally {
      this.#work = [];
      this.#working = false;
    }
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
    return this.#view(this.#actor.getSnapshot().context);
  }

  /** The view with the run's end as `ended` says (the machine's context, current or being entered). */
  #view(ended: WorkflowRunContext): WorkflowRun {
    const steps: Record<string, StepResult> = {};
    for (const s of this.#order) steps[s.step.name] = s.result ?? this.#placeholder(s);
    const end = ended.endedAt;
    const status = ended.outcome ?? 'running';
    return {
      success: status === 'succeeded',
      status,
      workflowName: this.workflow.name,
      runId: this.runId,
      version: this.workflow.version,
      hash: this.workflow.hash,
      steps,
      durationMs: (end ?? this.#deps.now()) - this.startedAt,
      warnings: this.warnings,
      ...(status === 'failed' || status === 'cancelled' ? { error: runError(steps) } : {}),
      params: this.params,
      sessionId: this.sessionId,
      startedAt: this.startedAt,
      endedAt: end,
      workingDir: this.workingDir,
      project: this.project,
      parentRunId: this.lineage.parentRunId ?? null,
      parentStep: this.lineage.parentStep ?? null,
      parentItem: this.lineage.parentItem ?? null,
      depth: this.depth,
      retryOf: this.lineage.retryOf ?? null,
      ...this.origin,
      ...(this.traceparent !== null ? { traceparent: this.traceparent } : {}),
      ...(this.runSpan !== null ? { runSpan: this.runSpan } : {}),
      ...(this.inputs !== null ? { inputs: this.inputs } : {}),
      ...this.#holdView(),
    };
  }

  #holdView(): Pick<WorkflowRun, 'queued' | 'debounce'> {
    if (this.#started) return {};
    const queued = this.hold.queued?.() ?? null;
    const debounce = this.hold.debounce ?? null;
    return { ...(queued ? { queued } : {}), ...(debounce ? { debounce } : {}) };
  }

  /**
   * Delivers a signal: every step waiting for it completes with `payload` as its output. False when no step waits
   * for it now (the caller keeps it for a step that waits later).
   */
  signal(name: string, payload: unknown): boolean {
    let delivered = false;
    for (const s of [...this.#waiting]) {
      if (s.waiting?.signal !== name) continue;
      delivered = true;
      this.#defer(() => this.#wake(s, payload));
    }
    return delivered;
  }

  /** The signal names this run's steps are waiting for now. */
  get awaitedSignals(): string[] {
    return [...this.#waiting].flatMap((s) => (s.waiting?.signal ? [s.waiting.signal] : []));
  }

  // ---------------------------------------------------------------- steps

  #isCancelling(): boolean {
    return this.#actor.getSnapshot().matches('cancelling');
  }

  /** A step whose dependencies have all ended: run it, or wait for its parallel group to allow it. */
  #ready(s: StepState): void {
    if (this.#isCancelling()) {
      this.#end(s, this.#synthetic(s, 'cancelled', new CancelledError(`step "${s.step.name}" did not start: the run was cancelled`).toJSON()));
      return;
    }
    if (!this.#groupAllows(s)) {
      s.phase = 'blocked';
      this.#blocked.push(s);
      return;
    }
    this.#launch(s);
  }

  /** With parallel groups, a step may start only if it shares a group with every running step. */
  #groupAllows(s: StepState): boolean {
    if (!s.groups) return true;
    for (const r of this.#running) {
      let shared = false;
      for (const g of s.groups) if (r.groups?.has(g)) shared = true;
      if (!shared) return false;
    }
    return true;
  }

  #launch(s: StepState): void {
    const step = s.step;
    if (step.when !== undefined) {
      let holds: boolean;
      try {
        holds = evaluateCondition(step.when, this.#scope);
      } catch (err) {
        this.#end(s, this.#synthetic(s, 'failed', new ValidationError(`step "${step.name}".when: ${(err as Error).message}`).toJSON()));
        return;
      }
      if (!holds) {
        s.skippedByCondition = true;
        this.#end(s, this.#synthetic(s, 'skipped', new ConditionFalseError(`step "${step.name}" was skipped: its condition ${step.when} is false`).toJSON()));
        return;
      }
    }
    const kind = stepKind(step);
    if (kind === 'wait' || kind === 'sleep' || kind === 'sleepUntil') {
      this.#wait(s, kind);
      return;
    }
    let parameters = step.parameters ?? {};
    // A forEach step resolves its parameters once per item (they may read {{item}}).
    if (s.hasTemplates && step.forEach === undefined) {
      try {
        parameters = resolveTemplates(parameters, this.#scope) as Record<string, unknown>;
      } catch (err) {
        this.#end(s, this.#synthetic(s, 'failed', new ValidationError(`step "${step.name}".parameters: ${(err as Error).message}`).toJSON()));
        return;
      }
    }
    s.phase = 'running';
    s.startedAt = this.#deps.now();
    this.#running.add(s);
    if (step.forEach !== undefined) {
      this.#fanOut(s);
      return;
    }
    this.#publishStarted(s, undefined);
    void this.#runUnit(s, parameters, null).then((result) => this.#end(s, { ...result, step: step.name }));
  }

  /**
   * Runs one unit of a step (the step itself, or one item of a forEach step): a task, or a child run for a
   * sub-workflow step. Resolves with its result, never rejects.
   */
  #runUnit(s: StepState, parameters: Record<string, unknown>, index: number | null): Promise<TaskResult & { childRunId?: string }> {
    const step = s.step;
    const id = index === null ? s.taskId : `${s.taskId}.${index}`;
    if (step.workflow !== undefined) return this.#runChild(s, step.workflow, parameters, index, id);
    const task: TaskInput = {
      id,
      name: index === null ? step.name : `${step.name}.${index}`,
      module: step.module ?? '',
      action: step.action ?? '',
      parameters,
      priority: step.priority,
      timeout: step.timeout,
      maxRetries: step.maxRetries,
      retry: step.retry,
      resources: step.resources,
      idempotencyKey: step.idempotencyKey !== undefined ? (index === null ? step.idempotencyKey : `${step.idempotencyKey}.${index}`) : id,
      ...this.#flowFields(step),
      ...(step.placement !== undefined && { placement: step.placement }),
      // Sticky: the run's id is the key every sticky step of it shares (the runner keeps them on one worker).
      ...(step.affinity === 'run' && { affinity: this.runId }),
      sessionId: this.sessionId ?? undefined,
      metadata: { ...step.metadata, workflow: this.workflow.name, runId: this.runId, step: step.name, ...(index !== null ? { item: index } : {}) },
      ...(this.workingDir !== null ? { workingDir: this.workingDir } : {}),
    };
    const upstream = step.dependencies?.length ? this.#upstream(step.dependencies) : null;
    if (upstream) task.upstream = upstream;
    const sources = this.#steps.get(step.name)?.artifactSources ?? [];
    const artifacts = sources.length ? this.#upstreamArtifacts(sources) : null;
    const inputs = this.#stepInputs(step);
    if (artifacts || inputs) task.artifacts = { ...artifacts, ...(inputs && { [INPUT_STEP]: inputs }) };
    const attach = this.resumed ? this.#deps.attach : undefined;
    // Parameters without templates are the definition's, validated by createWorkflow (a forEach item's read {{item}}).
    const paramsChecked = !s.hasTemplates && index === null;
    const submitted = attach ? attach(id).then((r) => r ?? this.#deps.execute(task, paramsChecked)) : this.#deps.execute(task, paramsChecked);
    return submitted.then(
      (result) => result,
      (err: unknown) => {
        const e = serializeError(err);
        const status: TaskStatus = err instanceof ShuttingDownError ? 'cancelled' : 'failed';
        const what = index === null ? `step "${step.name}"` : `item ${index} of step "${step.name}"`;
        return this.#unitResult(id, task.name ?? step.name, status, { ...e, message: `${what} could not be submitted: ${e.message}` }, null);
      },
    );
  }

  /** A sub-workflow unit: starts the child run (or, after a restart, attaches to the one it had started). */
  async #runChild(s: StepState, workflow: string, params: Record<string, unknown>, index: number | null, id: string): Promise<TaskResult & { childRunId?: string }> {
    const step = s.step;
    const name = index === null ? step.name : `${step.name}.${index}`;
    const startedAt = this.#deps.now();
    const prior = index === null ? s.prior?.childRunId : s.prior?.items?.[index]?.childRunId;
    let handle: ChildHandle | null = null;
    if (prior !== undefined && this.resumed) {
      const done = this.#deps.attachChild?.(prior);
      if (done) handle = { runId: prior, done };
    }
    try {
      if (!handle) {
        if (!this.#deps.startChild) throw new ValidationError(`step "${step.name}": this engine cannot start sub-workflows`);
        if (this.depth + 1 > LIMITS.maxWorkflowDepth) {
          throw new ValidationError(`step "${step.name}": sub-workflow "${workflow}" would run at depth ${this.depth + 1}, past the limit of ${LIMITS.maxWorkflowDepth} nested runs (limit maxWorkflowDepth; a top-level run is depth 1)`);
        }
        handle = this.#deps.startChild({ workflow, params, parentRunId: this.runId, parentStep: step.name, parentItem: index, depth: this.depth + 1 });
      }
    } catch (err) {
      return this.#unitResult(id, name, 'failed', serializeError(err), null);
    }
    const childRunId = handle.runId;
    (s.children ??= new Map()).set(index ?? -1, childRunId);
    this.#deps.changed?.(this);
    let result: WorkflowResult;
    try {
      result = await handle.done;
    } catch (err) {
      return { ...this.#unitResult(id, name, 'cancelled', serializeError(err), null), childRunId };
    }
    const status: TaskStatus = result.status === 'succeeded' ? 'completed' : result.status === 'cancelled' ? 'cancelled' : 'failed';
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(result.steps)) outputs[k] = v.result;
    const output = { runId: childRunId, status: result.status, outputs };
    const failedSteps = Object.values(result.steps).filter((r) => r.status !== 'completed' && r.error?.code !== ErrorCode.CONDITION_FALSE).map((r) => r.step);
    const error = status === 'completed' ? null : new ChildRunError(`child run ${childRunId} of workflow "${workflow}" ended ${result.status}${failedSteps.length ? ` (steps: ${failedSteps.join(', ')})` : ''}${result.error ? `: ${result.error.message}` : ''}`).toJSON();
    const endedAt = this.#deps.now();
    return { taskId: id, name, status, success: status === 'completed', result: output, error, attempts: 1, startedAt, endedAt, durationMs: endedAt - startedAt, childRunId };
  }

  #unitResult(taskId: string, name: string, status: TaskStatus, error: SerializedError, result: unknown): TaskResult {
    return { taskId, name, status, success: false, result, error, attempts: 0, startedAt: null, endedAt: this.#deps.now(), durationMs: null };
  }

  /** A forEach step: resolves its list and runs one unit per item (fanout.ts keeps the items). */
  #fanOut(s: StepState): void {
    const step = s.step;
    const fail = (message: string): void => this.#end(s, this.#synthetic(s, 'failed', new ValidationError(`step "${step.name}".forEach: ${message}`).toJSON()));
    let list: unknown;
    try {
      list = resolveTemplates(step.forEach, this.#scope);
    } catch (err) {
      fail((err as Error).message);
      return;
    }
    if (!Array.isArray(list)) {
      fail(`must resolve to an array, got ${typeName(list)}${typeof list === 'number' || typeof list === 'boolean' ? ` (${String(list)})` : ''}`);
      return;
    }
    const max = this.#deps.maxForEachItems ?? LIMITS.maxForEachItems;
    if (list.length > max) {
      fail(`${list.length} items is more than the limit of ${max} per step (engine option maxForEachItems); split the list, or raise the limit`);
      return;
    }
    this.#publishStarted(s, list.length);
    const template = step.parameters ?? {};
    s.fan = new FanOut(
      list,
      { concurrency: typeof step.concurrency === 'number' ? step.concurrency : undefined, continueOnFailure: step.continueOnFailure === true, prior: s.prior?.items, taskId: (i) => `${s.taskId}.${i}`, now: this.#deps.now },
      {
        run: (index, item) => {
          let params = template;
          if (s.hasTemplates) {
            try {
              params = resolveTemplates(template, { ...this.#scope, item: { value: item, index } }) as Record<string, unknown>;
            } catch (err) {
              const e = new ValidationError(`item ${index} of step "${step.name}".parameters: ${(err as Error).message}`).toJSON();
              return Promise.resolve({ ...this.#unitResult(`${s.taskId}.${index}`, `${step.name}.${index}`, 'failed', e, null), index });
            }
          }
          return this.#runUnit(s, params, index).then((r) => ({ ...r, index }));
        },
        cancel: (index, reason) => this.#cancelUnit(s, index, reason),
        changed: () => this.#deps.changed?.(this),
        end: (o) => {
          const endedAt = this.#deps.now();
          const startedAt = s.startedAt ?? endedAt;
          this.#end(s, { taskId: s.taskId, step: step.name, name: step.name, status: o.status, success: o.status === 'completed', result: o.output, error: o.error, attempts: o.attempts, startedAt, endedAt, durationMs: endedAt - startedAt, items: o.items });
        },
      },
    );
    s.fan.start();
  }

  #publishStarted(s: StepState, items: number | undefined): void {
    const { bus } = this.#deps;
    if (!bus.wants('step_started')) return;
    bus.publish('step_started', { workflowName: this.workflow.name, runId: this.runId, step: s.step.name, ...stepCall(s.step), taskId: s.taskId, attempt: 1, ...(items !== undefined ? { items } : {}) });
  }

  /** Cancels one running unit of a step: its task, or its child run. */
  #cancelUnit(s: StepState, index: number | null, reason: string): void {
    const child = s.children?.get(index ?? -1);
    if (child !== undefined) {
      this.#deps.cancelRun?.(child, `parent run ${this.runId} cancelled: ${reason}`);
      return;
    }
    if (s.step.workflow !== undefined) return;
    const taskId = index === null ? s.taskId : `${s.taskId}.${index}`;
    this.#deps.cancelTask(taskId, `workflow run cancelled: ${reason}`).catch((err: unknown) =>
      this.#deps.bus.publish('component_error', { component: 'workflowManager', operation: `cancelling ${taskId} of run ${this.runId}`, error: serializeError(err) }),
    );
  }

  /** A waiting step: holds nothing but a timer; ends on its signal, its timeout, or its time. */
  #wait(s: StepState, kind: 'wait' | 'sleep' | 'sleepUntil'): void {
    const step = s.step;
    const now = this.#deps.now();
    const since = s.prior?.waiting?.since ?? now;
    let until: number | null;
    try {
      if (kind === 'sleep') until = since + parseSleep(step.sleep ?? 0);
      else if (kind === 'sleepUntil') until = parseTime(resolveTemplates(step.sleepUntil, this.#scope));
      else until = step.waitFor?.timeoutSeconds !== undefined ? since + step.waitFor.timeoutSeconds * 1000 : null;
    } catch (err) {
      this.#end(s, this.#synthetic(s, 'failed', new ValidationError(`step "${step.name}".${kind}: ${(err as Error).message}`).toJSON()));
      return;
    }
    const signal = kind === 'wait' ? (step.waitFor?.signal ?? null) : null;
    s.phase = 'running';
    s.startedAt = since;
    s.waiting = { signal, until, since };
    this.#waiting.add(s);
    const { bus } = this.#deps;
    if (bus.wants('step_waiting')) bus.publish('step_waiting', { workflowName: this.workflow.name, runId: this.runId, step: step.name, taskId: s.taskId, signal, until });
    this.#deps.changed?.(this);
    if (signal !== null) {
      const kept = this.#deps.takeSignal?.(this.runId, signal);
      if (kept) {
        this.#defer(() => this.#wake(s, kept.payload));
        return;
      }
    }
    if (until !== null) s.timer = this.#clock.setTimeout(() => this.#defer(() => this.#waitDue(s)), until - now, { unref: true });
  }

  /** A waiting step's signal came: it completes with the payload. */
  #wake(s: StepState, payload: unknown): void {
    if (s.phase !== 'running' || !s.waiting) return;
    this.#end(s, this.#waitResult(s, 'completed', payload ?? null, null));
  }

  /** A waiting step's time came: a sleep completes; a signal wait ends as its `onTimeout` says. */
  #waitDue(s: StepState): void {
    if (s.phase !== 'running' || !s.waiting) return;
    if (s.waiting.signal === null) {
      this.#end(s, this.#waitResult(s, 'completed', null, null));
      return;
    }
    const policy = s.step.waitFor?.onTimeout ?? 'fail';
    const secs = s.step.waitFor?.timeoutSeconds ?? 0;
    const error = new WaitTimeoutError(`step "${s.step.name}": signal "${s.waiting.signal}" did not come within ${secs} s (onTimeout: ${policy})`).toJSON();
    if (policy === 'continue') this.#end(s, this.#waitResult(s, 'completed', null, null));
    else this.#end(s, this.#waitResult(s, policy === 'skip' ? 'skipped' : 'timed_out', null, error));
  }

  #waitResult(s: StepState, status: TaskStatus, output: unknown, error: SerializedError | null): StepResult {
    const endedAt = this.#deps.now();
    const startedAt = s.waiting?.since ?? endedAt;
    return { taskId: s.taskId, step: s.step.name, name: s.step.name, status, success: status === 'completed', result: output, error, attempts: 0, startedAt, endedAt, durationMs: endedAt - startedAt };
  }

  /**
   * The outputs of a step's completed dependencies, by step name (`ctx.upstream` of its action); null and undefined
   * outputs are left out, and null when none is left (no map is built, sent or stored for steps whose upstream
   * produced nothing: a wide DAG of no-ops would otherwise carry a map of nulls into every task).
   */
  /**
   * A step's concurrency keys and rate-limit use, their templates resolved against the run (`{{params.x}}`, upstream
   * outputs). A template the run cannot resolve (`{{metadata.x}}`, say) is left for the task, which resolves it
   * against its own parameters and metadata, or refuses it naming the field.
   */
  #flowFields(step: WorkflowStep): Pick<TaskInput, 'concurrency' | 'rateLimit'> {
    const out: Pick<TaskInput, 'concurrency' | 'rateLimit'> = {};
    const resolve = <T>(value: T): T => {
      try {
        return resolveTemplates(value, this.#scope) as T;
      } catch {
        return value;
      }
    };
    if (step.concurrency !== undefined && typeof step.concurrency !== 'number') out.concurrency = resolve(step.concurrency);
    if (step.rateLimit !== undefined) out.rateLimit = resolve(step.rateLimit);
    return out;
  }

  /** What templates see of an ended step; its artifacts are named by their path in a consuming step's folder. */
  #scopeStep(name: string, r: StepResult): void {
    const entry: { output: unknown; error: unknown; status: string; artifacts?: Record<string, string> } = { output: r.result, error: r.error, status: r.status };
    if (r.status === 'completed' && r.artifacts?.length) {
      const refs: Record<string, ArtifactRef> = Object.create(null) as Record<string, ArtifactRef>;
      const paths: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const a of r.artifacts) {
        refs[a.name] = a;
        paths[a.name] = artifactPath(this.runId, name, a);
      }
      entry.artifacts = paths;
      this.#artifacts.set(name, refs);
    }
    this.#scope.steps[name] = entry;
  }

  /** The uploaded files of the parameters a step's templates read (`{{params.path}}`); null when none. */
  #stepInputs(step: WorkflowStep): Record<string, ArtifactRef> | null {
    if (this.inputs === null) return null;
    let out: Record<string, ArtifactRef> | null = null;
    for (const site of findTemplates([step.parameters ?? {}, step.forEach ?? null])) {
      for (const ref of site.refs) {
        const param = ref.root === 'params' ? ref.path[0] : undefined;
        const files = typeof param === 'string' ? this.inputs[param] : undefined;
        if (!files) continue;
        out ??= Object.create(null) as Record<string, ArtifactRef>;
        for (const f of files) out[f.name] = f;
      }
    }
    return out;
  }

  /** The artifacts of a step's completed dependencies (put in its folder before it runs); null when none. */
  #upstreamArtifacts(dependencies: readonly string[]): UpstreamArtifacts | null {
    let out: UpstreamArtifacts | null = null;
    for (const d of dependencies) {
      const refs = this.#artifacts.get(d);
      if (!refs) continue;
      out ??= Object.create(null) as UpstreamArtifacts;
      out[d] = refs;
    }
    return out;
  }

  #upstream(dependencies: readonly string[]): Record<string, unknown> | null {
    let out: Record<string, unknown> | null = null;
    for (const d of dependencies) {
      const up = this.#scope.steps[d];
      if (up?.status !== 'completed' || up.output === null || up.output === undefined) continue;
      out ??= Object.create(null) as Record<string, unknown>;
      out[d] = up.output;
    }
    return out;
  }

  #end(s: StepState, result: StepResult): void {
    if (s.phase === 'done') return;
    const wasRunning = s.phase === 'running' && this.#running.has(s);
    s.phase = 'done';
    s.result = result;
    this.#running.delete(s);
    if (s.waiting) {
      this.#clock.clearTimeout(s.timer);
      this.#waiting.delete(s);
      s.waiting = null;
      s.timer = null;
    }
    this.#open--;
    this.#scopeStep(s.step.name, result);
    this.#publishStep(s, result);
    const tolerated = this.#releasesDependents(s, result);
    for (const d of s.dependents) {
      if (d.phase !== 'waiting') continue;
      if (tolerated) {
        if (--d.waitingOn === 0) this.#defer(() => this.#ready(d));
      } else {
        const skipped = this.#skippedAfter(d, s);
        this.#defer(() => this.#end(d, skipped));
      }
    }
    if (wasRunning && this.#blocked.length) this.#defer(() => this.#unblock());
    this.#deps.changed?.(this);
    this.#settleIfDone();
  }

  /** Tells the machine, once, that every step has ended (it ends the run, or finishes cancelling it). */
  #settleIfDone(): void {
    if (this.#open === 0 && this.#actor.getSnapshot().status === 'active') this.#actor.send({ type: 'run.settled', failed: this.#failed(), at: this.#deps.now() });
  }

  #unblock(): void {
    for (let i = 0; i < this.#blocked.length; ) {
      const b = this.#blocked[i];
      if (b && this.#groupAllows(b)) {
        this.#blocked.splice(i, 1);
        // Inline, not deferred: the next blocked step's check must see this one running.
        this.#ready(b);
      } else i++;
    }
  }

  /** Whether a step's end lets its dependents run: it completed, its own condition skipped it, or it may fail. */
  #releasesDependents(s: StepState, r: StepResult): boolean {
    return s.skippedByCondition || r.status === 'completed' || (s.step.continueOnFailure === true && r.status !== 'skipped');
  }

  /** The result of a step skipped because `up` ended without releasing it. */
  #skippedAfter(d: StepState, up: StepState): StepResult {
    return this.#synthetic(d, 'skipped', new SkippedError(`step "${d.step.name}" was skipped: step "${up.step.name}" ended ${up.result?.status}`).toJSON());
  }

  #failed(): boolean {
    const tolerated = new Map<StepState, boolean>();
    for (const s of this.#order) {
      const r = s.result;
      if (!r) continue;
      if (FAILED.has(r.status) && !s.step.continueOnFailure) return true;
      if (r.status === 'skipped' && !this.#toleratedSkip(s, tolerated)) return true;
    }
    return false;
  }

  /**
   * A skip that does not fail the run: by its own condition, a wait that timed out with `onTimeout: "skip"`, or a
   * step skipped only because such a wait (or a step skipped for it) did not release it.
   */
  #toleratedSkip(s: StepState, memo: Map<StepState, boolean>): boolean {
    const known = memo.get(s);
    if (known !== undefined) return known;
    memo.set(s, false);
    const r = s.result;
    let ok = false;
    if (r?.status === 'skipped') {
      if (s.skippedByCondition || r.error?.code === ErrorCode.WAIT_TIMED_OUT) ok = true;
      else if (r.error?.code === ErrorCode.DEPENDENCY_FAILED) {
        const blockers = (s.step.dependencies ?? []).map((d) => this.#steps.get(d)).filter((d): d is StepState => d?.result !== null && d?.result !== undefined && !this.#releasesDependents(d, d.result));
        ok = blockers.length > 0 && blockers.every((d) => this.#toleratedSkip(d, memo));
      }
    }
    memo.set(s, ok);
    return ok;
  }

  #cancelSteps(reason: string): void {
    for (const s of [...this.#order]) {
      if (s.phase === 'waiting' || s.phase === 'blocked') {
        this.#end(s, this.#synthetic(s, 'cancelled', new CancelledError(`step "${s.step.name}" did not start: run cancelled (${reason})`).toJSON()));
      }
    }
    this.#blocked.length = 0;
    for (const s of [...this.#waiting]) {
      this.#end(s, this.#waitResult(s, 'cancelled', null, new CancelledError(`step "${s.step.name}" stopped waiting: run cancelled (${reason})`).toJSON()));
    }
    for (const s of [...this.#running]) {
      if (s.fan) s.fan.cancel(reason);
      else this.#cancelUnit(s, null, reason);
    }
  }

  #publishStep(s: StepState, r: StepResult): void {
    const { bus } = this.#deps;
    const type = r.status === 'completed' ? 'step_completed' : r.status === 'skipped' ? 'step_skipped' : 'step_failed';
    if (!bus.wants(type)) return;
    const base = { workflowName: this.workflow.name, runId: this.runId, step: s.step.name, ...stepCall(s.step) };
    if (r.status === 'completed') {
      if (bus.wants('step_completed')) bus.publish('step_completed', { ...base, taskId: s.taskId, durationMs: r.durationMs ?? 0 });
      return;
    }
    // Built only for a step that did not complete (an error object with its stack is not free).
    const error: SerializedError = r.error ?? new CodomyrmexError('the step ended without an error recorded', ErrorCode.UNKNOWN).toJSON();
    if (r.status === 'skipped') {
      if (bus.wants('step_skipped')) bus.publish('step_skipped', { ...base, reason: error.message });
    } else if (bus.wants('step_failed')) {
      bus.publish('step_failed', { ...base, taskId: s.taskId, status: r.status as 'failed' | 'timed_out' | 'cancelled', error, durationMs: r.durationMs });
    }
  }

  #announce(ended: WorkflowRunContext): void {
    // Left to resume (a durable shutdown): what its steps hear while the engine stops (attempts stopped with it)
    // is no ending, and is not announced as one.
    if (this.#left) return;
    const result = this.#view(ended);
    const { bus } = this.#deps;
    const durationMs = result.durationMs;
    bus.publish('workflow_completed', { workflowName: this.workflow.name, runId: this.runId, success: result.success, status: result.status, durationMs });
    if (!result.success) {
      const failedSteps = this.#order.filter((s) => s.result && s.result.status !== 'completed' && !s.skippedByCondition).map((s) => s.step.name);
      bus.publish('workflow_failed', { workflowName: this.workflow.name, runId: this.runId, success: false, status: result.status, durationMs, failedSteps });
    }
    this.#actor.stop();
    this.#resolve(result);
  }

  #synthetic(s: StepState, status: TaskStatus, error: SerializedError): StepResult {
    const now = this.#deps.now();
    return { taskId: s.taskId, step: s.step.name, name: s.step.name, status, success: false, result: null, error, attempts: 0, startedAt: null, endedAt: now, durationMs: null };
  }

  #placeholder(s: StepState): StepResult {
    const status = s.waiting ? 'waiting' : s.phase === 'running' ? 'running' : 'pending';
    const out: StepResult = { taskId: s.taskId, step: s.step.name, name: s.step.name, status, success: false, result: null, error: null, attempts: 0, startedAt: s.startedAt, endedAt: null, durationMs: null };
    if (s.waiting) out.waiting = { ...s.waiting };
    if (s.fan) {
      const items: ItemResult[] = s.fan.view();
      if (s.children) for (const it of items) if (it.childRunId === undefined && s.children.has(it.index)) it.childRunId = s.children.get(it.index);
      out.items = items;
    } else if (s.step.forEach !== undefined && s.prior?.items) out.items = s.prior.items;
    const child = s.children?.get(-1) ?? s.prior?.childRunId;
    if (child !== undefined) out.childRunId = child;
    return out;
  }
}

/** What `workflow_started` says about where a run came from, only the fields that apply (spans are built from it). */
function startLinks(run: WorkflowRunExecutor): Partial<EventMap['workflow_started']> {
  const out: Partial<EventMap['workflow_started']> = {};
  const { lineage, origin } = run;
  if (lineage.parentRunId) out.parentRunId = lineage.parentRunId;
  if (lineage.parentStep) out.parentStep = lineage.parentStep;
  if (origin?.scheduleName !== undefined) out.scheduleName = origin.scheduleName;
  if (origin?.scheduledFor !== undefined) out.scheduledFor = origin.scheduledFor;
  if (origin?.triggerName !== undefined) out.triggerName = origin.triggerName;
  if (run.traceparent !== null) out.traceparent = run.traceparent;
  if (run.resumed) out.resumed = true;
  if (run.resumed && run.runSpan !== null) out.resumedFrom = run.runSpan;
  return out;
}
