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
import { CancelledError, CodomyrmexError, ConditionFalseError, ErrorCode, serializeError, ShuttingDownError, SkippedError, ValidationError } from '../../errors.js';
import { workflowRunMachine } from '../../machines/workflowRun.js';
import type { TaskInput, TaskResult, TaskStatus } from '../../model/task.js';
import type { RunContext, RunProject, StepResult, StoredWorkflow, WorkflowResult, WorkflowRun, WorkflowStep } from '../../model/workflow.js';
import type { TemplateScope } from '../../workflows/template.js';
import { evaluateCondition, findTemplates, resolveTemplates } from '../../workflows/template.js';

export interface RunDeps {
  bus: MessageBus;
  /** Runs one task to its end (the task orchestrator's `task.execute`). */
  execute: (task: TaskInput) => Promise<TaskResult>;
  cancelTask: (taskId: string, reason: string) => Promise<unknown>;
  now: () => number;
  /**
   * For a resumed run: waits for the step's task if the task orchestrator already has it (it was submitted before
   * the restart), resolving null when it does not.
   */
  attach?: ((taskId: string) => Promise<TaskResult | null>) | undefined;
  /** Told after every change worth persisting (start, each step's end, the end). */
  changed?: (run: WorkflowRunExecutor) => void;
}

/** What a run had done before a restart. */
export interface RunResume {
  startedAt: number;
  steps: Record<string, StepResult>;
}

type StepPhase = 'waiting' | 'blocked' | 'running' | 'done';

interface StepState {
  step: WorkflowStep;
  phase: StepPhase;
  waitingOn: number;
  dependents: StepState[];
  hasTemplates: boolean;
  groups: Set<number> | null;
  result: StepResult | null;
  taskId: string;
  /** Skipped by its own `when`: dependents still run. */
  skippedByCondition: boolean;
}

const FAILED: ReadonlySet<TaskStatus> = new Set(['failed', 'timed_out', 'cancelled']);

export class WorkflowRunExecutor {
  readonly runId: string;
  readonly workflow: StoredWorkflow;
  readonly params: Record<string, unknown>;
  readonly sessionId: string | null;
  readonly startedAt: number;
  readonly warnings: string[];
  /** Where the steps' file actions work (null: the process's cwd). */
  readonly workingDir: string | null;
  readonly project: RunProject | null;
  readonly #deps: RunDeps;
  readonly #steps = new Map<string, StepState>();
  readonly #order: StepState[] = [];
  readonly #running = new Set<StepState>();
  readonly #blocked: StepState[] = [];
  readonly #scope: TemplateScope;
  readonly #actor: Actor<typeof workflowRunMachine>;
  #open: number;
  // Steps released by an ending step are handled through this worklist, not by recursion, so a failure at the
  // head of a 10,000-step chain cannot overflow the stack.
  #work: (() => void)[] = [];
  #working = false;
  #endedAt: number | null = null;
  /** How the run ended, as its machine decided (set once, by the machine's `announce`); null while it runs. */
  #outcome: 'succeeded' | 'failed' | 'cancelled' | null = null;
  /** Dependents of steps that had failed before a restart, still to be skipped. */
  readonly #restoredSkips: [StepState, StepState][] = [];
  /** `run.settled` has been sent (once). */
  #settled = false;
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
    context: RunContext = {},
  ) {
    this.workflow = workflow;
    this.workingDir = context.workingDir ?? null;
    this.project = context.project ?? null;
    this.runId = runId;
    this.params = { ...workflow.params, ...params };
    this.sessionId = sessionId;
    this.warnings = warnings;
    this.#deps = deps;
    this.startedAt = resume?.startedAt ?? deps.now();
    this.resumed = resume !== null;
    this.#scope = { params: this.params, steps: {}, ...(this.project ? { project: { ...this.project } } : {}) };
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
        groups: workflow.parallelGroups ? (groupsOf.get(step.name) ?? new Set()) : null,
        result: null,
        taskId: `${runId}.${step.name}`,
        skippedByCondition: false,
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
          announce: (_, params) => this.#announce(params.status),
        },
      }),
    );
    // Started at once (an independent actor is cheap): a run cancelled while it waits for a session slot is told
    // so by its machine like any other, and whether it is running or cancelling is read off the machine.
    this.#actor.start();
  }

  get status(): WorkflowRunStatus {
    return this.#outcome ?? 'running';
  }

  /**
   * Puts back the steps that had ended before a restart, with their outputs (they are not run again); releases
   * their dependents as their end did. Steps that had started are launched again and attach to their tasks.
   */
  #restore(resume: RunResume): void {
    const ended = (r: StepResult | undefined): r is StepResult => r !== undefined && ['completed', 'failed', 'timed_out', 'cancelled', 'skipped'].includes(r.status);
    for (const s of this.#order) {
      const r = resume.steps[s.step.name];
      if (!ended(r)) continue;
      s.phase = 'done';
      s.result = r;
      s.skippedByCondition = r.status === 'skipped' && r.error?.code === 'CONDITION_FALSE';
      this.#open--;
      this.#scope.steps[s.step.name] = { output: r.result, error: r.error, status: r.status };
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
    this.#reject(
      new ShuttingDownError(`the engine shut down before workflow run ${this.runId} ("${this.workflow.name}") ended; it stays running in ${store} and resumes when an engine opens that store again`),
    );
  }

  /** Starts the run; `done` resolves when it ends. */
  start(): Promise<WorkflowResult> {
    if (this.#started) return this.done;
    this.#started = true;
    // Cancelled while it waited for a slot in its session: its steps ended cancelled without running.
    if (this.#outcome !== null || this.#isCancelling()) return this.done;
    const { bus } = this.#deps;
    if (bus.wants('workflow_started')) {
      bus.publish('workflow_started', { workflowName: this.workflow.name, runId: this.runId, version: this.workflow.version, steps: this.#order.length, sessionId: this.sessionId });
    }
    for (const [d, up] of this.#restoredSkips) {
      const skipped = this.#skippedAfter(d, up);
      this.#defer(() => this.#end(d, skipped));
    }
    for (const s of this.#order) if (s.phase === 'waiting' && s.waitingOn === 0) this.#defer(() => this.#ready(s));
    // A resumed run whose steps had all ended (a crash between the last step and the run's record) settles now.
    if (this.#open === 0 && !this.#settled) {
      this.#settled = true;
      this.#actor.send({ type: 'run.settled', failed: this.#failed() });
    }
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

  /** Whether `start` has been called (a run waiting for a session slot has not). */
  get started(): boolean {
    return this.#started;
  }

  /** A snapshot of the run as `getRun` shows it. */
  view(): WorkflowRun {
    const steps: Record<string, StepResult> = {};
    for (const s of this.#order) steps[s.step.name] = s.result ?? this.#placeholder(s);
    const end = this.#endedAt;
    return {
      success: this.status === 'succeeded',
      status: this.status,
      workflowName: this.workflow.name,
      runId: this.runId,
      version: this.workflow.version,
      hash: this.workflow.hash,
      steps,
      durationMs: (end ?? this.#deps.now()) - this.startedAt,
      warnings: this.warnings,
      params: this.params,
      sessionId: this.sessionId,
      startedAt: this.startedAt,
      endedAt: end,
      workingDir: this.workingDir,
      project: this.project,
    };
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
    let parameters = step.parameters ?? {};
    if (s.hasTemplates) {
      try {
        parameters = resolveTemplates(parameters, this.#scope) as Record<string, unknown>;
      } catch (err) {
        this.#end(s, this.#synthetic(s, 'failed', new ValidationError(`step "${step.name}".parameters: ${(err as Error).message}`).toJSON()));
        return;
      }
    }
    s.phase = 'running';
    this.#running.add(s);
    const { bus } = this.#deps;
    if (bus.wants('step_started')) {
      bus.publish('step_started', { workflowName: this.workflow.name, runId: this.runId, step: step.name, module: step.module, action: step.action, taskId: s.taskId, attempt: 1 });
    }
    const task: TaskInput = {
      id: s.taskId,
      name: step.name,
      module: step.module,
      action: step.action,
      parameters,
      priority: step.priority,
      timeout: step.timeout,
      maxRetries: step.maxRetries,
      retry: step.retry,
      resources: step.resources,
      idempotencyKey: step.idempotencyKey ?? s.taskId,
      sessionId: this.sessionId ?? undefined,
      metadata: { ...step.metadata, workflow: this.workflow.name, runId: this.runId, step: step.name },
      ...(this.workingDir !== null ? { workingDir: this.workingDir } : {}),
    };
    const upstream = step.dependencies?.length ? this.#upstream(step.dependencies) : null;
    if (upstream) task.upstream = upstream;
    const attach = this.resumed ? this.#deps.attach : undefined;
    const submitted = attach ? attach(s.taskId).then((r) => r ?? this.#deps.execute(task)) : this.#deps.execute(task);
    submitted.then(
      (result) => this.#end(s, { ...result, step: step.name }),
      (err: unknown) => {
        const e = serializeError(err);
        const status: TaskStatus = err instanceof ShuttingDownError ? 'cancelled' : 'failed';
        this.#end(s, this.#synthetic(s, status, { ...e, message: `step "${step.name}" could not be submitted: ${e.message}` }));
      },
    );
  }

  /**
   * The outputs of a step's completed dependencies, by step name (`ctx.upstream` of its action); null and undefined
   * outputs are left out, and null when none is left (no map is built, sent or stored for steps whose upstream
   * produced nothing: a wide DAG of no-ops would otherwise carry a map of nulls into every task).
   */
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
    const wasRunning = s.phase === 'running';
    s.phase = 'done';
    s.result = result;
    this.#running.delete(s);
    this.#open--;
    this.#scope.steps[s.step.name] = { output: result.result, error: result.error, status: result.status };
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
    if (this.#open === 0 && !this.#settled) {
      this.#settled = true;
      this.#actor.send({ type: 'run.settled', failed: this.#failed() });
    }
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
    for (const s of this.#order) {
      const r = s.result;
      if (!r) continue;
      if (FAILED.has(r.status) && !s.step.continueOnFailure) return true;
      if (r.status === 'skipped' && !s.skippedByCondition) return true;
    }
    return false;
  }

  #cancelSteps(reason: string): void {
    for (const s of [...this.#order]) {
      if (s.phase === 'waiting' || s.phase === 'blocked') {
        this.#end(s, this.#synthetic(s, 'cancelled', new CancelledError(`step "${s.step.name}" did not start: run cancelled (${reason})`).toJSON()));
      }
    }
    this.#blocked.length = 0;
    for (const s of this.#running) {
      this.#deps.cancelTask(s.taskId, `workflow run cancelled: ${reason}`).catch((err: unknown) =>
        this.#deps.bus.publish('component_error', { component: 'workflowManager', operation: `cancelling step "${s.step.name}" of run ${this.runId}`, error: serializeError(err) }),
      );
    }
  }

  #publishStep(s: StepState, r: StepResult): void {
    const { bus } = this.#deps;
    const type = r.status === 'completed' ? 'step_completed' : r.status === 'skipped' ? 'step_skipped' : 'step_failed';
    if (!bus.wants(type)) return;
    const base = { workflowName: this.workflow.name, runId: this.runId, step: s.step.name, module: s.step.module, action: s.step.action };
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

  #announce(status: 'succeeded' | 'failed' | 'cancelled'): void {
    this.#outcome = status;
    this.#endedAt = this.#deps.now();
    const result = this.view();
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
    const status: TaskStatus = s.phase === 'running' ? 'running' : 'pending';
    return { taskId: s.taskId, step: s.step.name, name: s.step.name, status, success: false, result: null, error: null, attempts: 0, startedAt: null, endedAt: null, durationMs: null };
  }
}
