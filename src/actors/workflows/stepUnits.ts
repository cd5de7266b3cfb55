/**
 * What one unit of a step runs (the step itself, or one item of a forEach step): a task on the task orchestrator,
 * built from the step's fields and the run's scope, or a child run for a sub-workflow step; and how a running unit
 * is cancelled. A unit resolves with its result and never rejects: a unit that cannot start ends `failed`.
 */
import type { MessageBus } from '../../bus/bus.js';
import type { SerializedError } from '../../errors.js';
import { ChildRunError, ErrorCode, serializeError, ShuttingDownError, ValidationError } from '../../errors.js';
import { LIMITS } from '../../model/limits.js';
import type { TaskInput, TaskResult, TaskStatus } from '../../model/task.js';
import type { WorkflowResult, WorkflowStep } from '../../model/workflow.js';
import type { ArtifactRef, RunInputs } from '../../model/artifacts.js';
import { INPUT_STEP } from '../../model/artifacts.js';
import { findTemplates } from '../../workflows/template.js';
import type { StepDone, StepTask } from '../tasks/stepEntry.js';
import type { RunScope } from './runScope.js';
import { plainStep, stepSpec } from './stepTask.js';
import type { StepState } from './steps.js';

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

/** What running a unit needs of the engine: the task orchestrator, and the workflow manager for child runs. */
export interface UnitDeps {
  bus: MessageBus;
  /**
   * Runs one task to its end (the task orchestrator's `task.execute`). `paramsChecked`: its parameters are the
   * definition's, validated when it was created (no template in them), so they need not be validated again.
   */
  execute: (task: TaskInput, paramsChecked?: boolean) => Promise<TaskResult>;
  /**
   * Adds and starts a plain step's task built from the stored step (the scheduler's trusted step entry), its end
   * told to `done`; false when no scheduler serves it here (the step then goes through {@link execute}). Throws
   * when the task is refused.
   */
  start?: ((task: StepTask, done: StepDone) => boolean) | undefined;
  cancelTask: (taskId: string, reason: string) => Promise<unknown>;
  now: () => number;
  /**
   * For a resumed run: waits for the step's task if the task orchestrator already has it (it was submitted before
   * the restart), resolving null when it does not.
   */
  attach?: ((taskId: string) => Promise<TaskResult | null>) | undefined;
  /** Starts a sub-workflow step's child run; throws when it cannot (unknown workflow, too deep). */
  startChild?: ((req: ChildStart) => ChildHandle) | undefined;
  /** The end of a child run started before a restart, or null when it is not known. */
  attachChild?: ((runId: string) => Promise<WorkflowResult> | null) | undefined;
  /** Cancels a child run. */
  cancelRun?: ((runId: string, reason: string) => void) | undefined;
}

/** The uploaded files of the parameters a step's templates read (`{{params.path}}`); null when none. */
function stepInputs(inputs: RunInputs, step: WorkflowStep): Record<string, ArtifactRef> | null {
  let out: Record<string, ArtifactRef> | null = null;
  for (const site of findTemplates([step.parameters ?? {}, step.forEach ?? null])) {
    for (const ref of site.refs) {
      const param = ref.root === 'params' ? ref.path[0] : undefined;
      const files = typeof param === 'string' ? inputs[param] : undefined;
      if (!files) continue;
      out ??= Object.create(null) as Record<string, ArtifactRef>;
      for (const f of files) out[f.name] = f;
    }
  }
  return out;
}

/** The run a unit belongs to, as its tasks and child runs are labelled. */
export interface UnitRun {
  runId: string;
  /** Files uploaded as the run's inputs (null: none). */
  inputs: RunInputs | null;
  workflowName: string;
  sessionId: string | null;
  workingDir: string | null;
  /** Nesting depth of the run (a top-level run is 1). */
  depth: number;
  /** Resumed after a restart: units attach to the tasks and child runs they had started. */
  resumed: boolean;
  /**
   * Its id was made by the engine (a uuid) for this start: no stored task can have one of its tasks' ids, so they
   * are not looked up in the store when added (the tasks in memory still are).
   */
  freshId?: boolean | undefined;
  scope: RunScope;
  /** Told when a unit started a child run (worth persisting). */
  changed: () => void;
}

/** A unit's result with its child run, for a sub-workflow unit. */
export type UnitResult = TaskResult & { childRunId?: string };

export class StepUnits {
  readonly #run: UnitRun;
  readonly #deps: UnitDeps;

  constructor(run: UnitRun, deps: UnitDeps) {
    this.#run = run;
    this.#deps = deps;
  }

  /** Runs one unit of a step (`index` null: the step itself). Resolves with its result, never rejects. */
  run(s: StepState, parameters: Record<string, unknown>, index: number | null): Promise<UnitResult> {
    return new Promise((resolve) => this.start(s, parameters, index, resolve));
  }

  /**
   * Starts one unit of a step (`index` null: the step itself); `done` is told its result, once (never an error). A
   * plain step's task goes straight into the scheduler when it serves steps (stepTask.ts), added and dispatched in
   * this turn; its end comes back in one microtask, after the scheduler has applied and announced it.
   */
  start(s: StepState, parameters: Record<string, unknown>, index: number | null, done: (r: UnitResult) => void): void {
    const step = s.step;
    const { runId, scope } = this.#run;
    const id = index === null ? s.taskId : `${s.taskId}.${index}`;
    if (step.workflow !== undefined) {
      void this.#runChild(s, step.workflow, parameters, index, id).then(done);
      return;
    }
    const name = index === null ? step.name : `${step.name}.${index}`;
    const metadata = {
      ...step.metadata,
      workflow: this.#run.workflowName,
      runId,
      step: step.name,
      ...(index !== null ? { item: index } : {}),
    };
    const upstream = step.dependencies?.length ? scope.upstream(step.dependencies) : null;
    const artifacts = s.artifactSources.length ? scope.upstreamArtifacts(s.artifactSources) : null;
    const inputs = this.#run.inputs ? stepInputs(this.#run.inputs, step) : null;
    // Parameters without templates are the definition's, validated by createWorkflow (a forEach item's read {{item}}).
    const paramsChecked = !s.hasTemplates && index === null;
    const start = this.#run.resumed ? undefined : this.#deps.start;
    if (start && !artifacts && !inputs && plainStep(step)) {
      const { sessionId, workingDir } = this.#run;
      const spec = stepSpec(step, id, name, parameters, { sessionId, workingDir, metadata, upstream });
      const fail = (err: unknown): void => done(this.#notSubmitted(step, index, id, name, err));
      try {
        const served = start({ spec, paramsChecked, freshId: this.#run.freshId === true }, [
          (result) => queueMicrotask(() => done(result)),
          (err) => queueMicrotask(() => fail(err)),
        ]);
        if (served) return;
      } catch (err) {
        fail(err);
        return;
      }
    }
    const task: TaskInput = {
      id,
      name,
      module: step.module ?? '',
      action: step.action ?? '',
      parameters,
      priority: step.priority,
      timeout: step.timeout,
      maxRetries: step.maxRetries,
      retry: step.retry,
      resources: step.resources,
      idempotencyKey:
        step.idempotencyKey !== undefined
          ? index === null
            ? step.idempotencyKey
            : `${step.idempotencyKey}.${index}`
          : id,
      ...scope.flowFields(step),
      ...(step.placement !== undefined && { placement: step.placement }),
      // Sticky: the run's id is the key every sticky step of it shares (the runner keeps them on one worker).
      ...(step.affinity === 'run' && { affinity: runId }),
      sessionId: this.#run.sessionId ?? undefined,
      metadata,
      ...(this.#run.workingDir !== null ? { workingDir: this.#run.workingDir } : {}),
    };
    if (upstream) task.upstream = upstream;
    if (artifacts || inputs) task.artifacts = { ...artifacts, ...(inputs && { [INPUT_STEP]: inputs }) };
    const attach = this.#run.resumed ? this.#deps.attach : undefined;
    const submitted = attach
      ? attach(id).then((r) => r ?? this.#deps.execute(task, paramsChecked))
      : this.#deps.execute(task, paramsChecked);
    submitted.then(done, (err: unknown) => done(this.#notSubmitted(step, index, id, name, err)));
  }

  /** The result of a unit whose task could not be submitted (or was lost to a shutdown before it ended). */
  #notSubmitted(step: WorkflowStep, index: number | null, id: string, name: string, err: unknown): TaskResult {
    const e = serializeError(err);
    const status: TaskStatus = err instanceof ShuttingDownError ? 'cancelled' : 'failed';
    const what = index === null ? `step "${step.name}"` : `item ${index} of step "${step.name}"`;
    return this.failed(id, name, status, { ...e, message: `${what} could not be submitted: ${e.message}` });
  }

  /** The result of a unit that ended without running (it could not be submitted, or its parameters did not resolve). */
  failed(taskId: string, name: string, status: TaskStatus, error: SerializedError): TaskResult {
    return {
      taskId,
      name,
      status,
      success: false,
      result: null,
      error,
      attempts: 0,
      startedAt: null,
      endedAt: this.#deps.now(),
      durationMs: null,
    };
  }

  /** A sub-workflow unit: starts the child run (or, after a restart, attaches to the one it had started). */
  async #runChild(
    s: StepState,
    workflow: string,
    params: Record<string, unknown>,
    index: number | null,
    id: string,
  ): Promise<UnitResult> {
    const step = s.step;
    const { runId, depth } = this.#run;
    const name = index === null ? step.name : `${step.name}.${index}`;
    const startedAt = this.#deps.now();
    const prior = index === null ? s.prior?.childRunId : s.prior?.items?.[index]?.childRunId;
    let handle: ChildHandle | null = null;
    if (prior !== undefined && this.#run.resumed) {
      const done = this.#deps.attachChild?.(prior);
      if (done) handle = { runId: prior, done };
    }
    try {
      if (!handle) {
        if (!this.#deps.startChild)
          throw new ValidationError(`step "${step.name}": this engine cannot start sub-workflows`);
        if (depth + 1 > LIMITS.maxWorkflowDepth) {
          throw new ValidationError(
            `step "${step.name}": sub-workflow "${workflow}" would run at depth ${depth + 1}, past the limit of ${LIMITS.maxWorkflowDepth} nested runs (limit maxWorkflowDepth; a top-level run is depth 1)`,
          );
        }
        handle = this.#deps.startChild({
          workflow,
          params,
          parentRunId: runId,
          parentStep: step.name,
          parentItem: index,
          depth: depth + 1,
        });
      }
    } catch (err) {
      return this.failed(id, name, 'failed', serializeError(err));
    }
    const childRunId = handle.runId;
    (s.children ??= new Map()).set(index ?? -1, childRunId);
    this.#run.changed();
    let result: WorkflowResult;
    try {
      result = await handle.done;
    } catch (err) {
      return { ...this.failed(id, name, 'cancelled', serializeError(err)), childRunId };
    }
    const status: TaskStatus =
      result.status === 'succeeded' ? 'completed' : result.status === 'cancelled' ? 'cancelled' : 'failed';
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(result.steps)) outputs[k] = v.result;
    const output = { runId: childRunId, status: result.status, outputs };
    const failedSteps = Object.values(result.steps)
      .filter((r) => r.status !== 'completed' && r.error?.code !== ErrorCode.CONDITION_FALSE)
      .map((r) => r.step);
    const error =
      status === 'completed'
        ? null
        : new ChildRunError(
            `child run ${childRunId} of workflow "${workflow}" ended ${result.status}${failedSteps.length ? ` (steps: ${failedSteps.join(', ')})` : ''}${result.error ? `: ${result.error.message}` : ''}`,
          ).toJSON();
    const endedAt = this.#deps.now();
    return {
      taskId: id,
      name,
      status,
      success: status === 'completed',
      result: output,
      error,
      attempts: 1,
      startedAt,
      endedAt,
      durationMs: endedAt - startedAt,
      childRunId,
    };
  }

  /** Cancels one running unit of a step: its task, or its child run. */
  cancel(s: StepState, index: number | null, reason: string): void {
    const { runId } = this.#run;
    const child = s.children?.get(index ?? -1);
    if (child !== undefined) {
      this.#deps.cancelRun?.(child, `parent run ${runId} cancelled: ${reason}`);
      return;
    }
    if (s.step.workflow !== undefined) return;
    const taskId = index === null ? s.taskId : `${s.taskId}.${index}`;
    this.#deps.cancelTask(taskId, `workflow run cancelled: ${reason}`).catch((err: unknown) =>
      this.#deps.bus.publish('component_error', {
        component: 'workflowManager',
        operation: `cancelling ${taskId} of run ${runId}`,
        error: serializeError(err),
      }),
    );
  }
}
