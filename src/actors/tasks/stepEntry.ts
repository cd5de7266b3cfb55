/**
 * The trusted entry of a workflow step's task into the scheduler (see stepIntake.ts). The workflow layer builds the
 * task's spec straight from the stored step, whose fields `createWorkflow` validated, so the spec is not read again
 * as a caller's input: no input object, no intake pass, no second validation of the definition's parameters. What
 * is only known at run time is still checked here: parameters a template or a forEach item resolved (against the
 * action's schema and the payload limits), that the action exists, that the id is free and the session open.
 *
 * Only the happy path is decided here. Anything else (a problem, or a field this entry does not handle: resources,
 * concurrency keys, rate limits, placement, idempotency keys of their own) returns null, and the step takes intake
 * (`accept`), which handles every field and words every problem as for any task.
 */
import type { TaskMachineEvent } from '../../machines/task.js';
import { LIMITS } from '../../model/limits.js';
import type { TaskSpec } from '../../model/task.js';
import { MAX_WORKING_DIR } from '../../model/task.js';
import { checkPayloadLimits } from '../../model/validate.js';
import type { Accepted, IntakeContext } from './intake.js';
import type { Waiter } from './record.js';

/** A workflow step's task, as the workflow layer hands it over. */
export interface StepTask {
  /** Built from the validated step (its defaults filled in), with the run's fields (id, session, metadata, upstream). */
  spec: TaskSpec;
  /**
   * Its parameters are the definition's, validated when it was created; false when resolved at run time (templates,
   * a forEach item), so they are checked against the action's schema and the payload limits before it is added.
   */
  paramsChecked: boolean;
  /**
   * Its id is new: the run's id was made by the engine for this start, so no stored task has it and the store is
   * not asked (an id given by a caller, or a resumed run's, is looked up as intake would).
   */
  freshId?: boolean;
}

/**
 * Told once how a step's task ended: its result, or the error that kept it from ending (a shutdown, a failed
 * commit). The record's waiter itself: no promise between the scheduler and the workflow.
 */
export type StepDone = Waiter;

/** The event that queues a task with no dependencies (a step's task has none: the workflow waits on its steps). */
export const DEPS_MET: TaskMachineEvent = Object.freeze({ type: 'task.deps_met' });

/** Whether the spec has only the fields this entry decides on its own (the rest take intake). */
function plain(spec: TaskSpec): boolean {
  const maxId = LIMITS.maxIdLength;
  return (
    spec.id.length <= maxId &&
    spec.name.length <= maxId &&
    (spec.sessionId === undefined || spec.sessionId.length <= maxId) &&
    (spec.workingDir === undefined || spec.workingDir.length <= MAX_WORKING_DIR) &&
    spec.dependencies.length === 0 &&
    spec.concurrency === undefined &&
    spec.rateLimit === undefined &&
    spec.placement === undefined &&
    spec.affinity === undefined &&
    (spec.idempotencyKey === undefined || spec.idempotencyKey === spec.id) &&
    Object.keys(spec.resources).length === 0
  );
}

/**
 * The step's task accepted as intake would accept it, or null when intake must decide (anything unusual, and every
 * problem, so that intake reports it in its words).
 */
export function acceptStep(task: StepTask, ctx: IntakeContext): Accepted | null {
  const { spec } = task;
  if (!plain(spec)) return null;
  let channel: boolean;
  try {
    const def = ctx.registry.resolve(spec.module, spec.action);
    // An action that declares placement tags adds them to the task's: intake does that.
    if (def.placement !== undefined) return null;
    channel = def.channel === true;
    if (!task.paramsChecked) {
      if (checkPayloadLimits(spec.parameters, 'parameters') !== null) return null;
      if (!def.params.safeParse(spec.parameters).success) return null;
    }
  } catch {
    return null;
  }
  const id = spec.id;
  if (ctx.record(id) || ctx.reserved?.(id) === true || !ctx.laneOpen(spec.sessionId)) return null;
  if (task.freshId !== true && ctx.storedStatuses([id]).size > 0) return null;
  return { spec, channel, held: null, flow: null, minted: false };
}
