/**
 * A plain step's task spec, built straight from the stored step for the scheduler's trusted step entry
 * (`tasks/stepEntry.ts`): the step's fields were validated by `createWorkflow` with the task schema's own field
 * schemas, so they are not read again as a caller's input; the run adds its id, session, folder, metadata and
 * upstream outputs. A step with a field the entry leaves to intake (resources, concurrency keys, a rate limit,
 * placement, affinity, its own idempotency key, artifacts to hand over) gets no spec and is submitted as a task
 * input (stepUnits.ts).
 */
import type { TaskSpec } from '../../model/task.js';
import { DEFAULT_MAX_RETRIES, DEFAULT_RETRY, mergeRetry } from '../../model/task.js';
import type { WorkflowStep } from '../../model/workflow.js';

const NO_DEPENDENCIES: string[] = Object.freeze([]) as unknown as string[];
const NO_RESOURCES = Object.freeze({}) as Record<string, never>;

/** Whether a step's task can be built as a spec here (else it is submitted as a task input). */
export function plainStep(step: WorkflowStep): boolean {
  return (
    step.workflow === undefined &&
    step.module !== undefined &&
    step.action !== undefined &&
    (step.resources === undefined || Object.keys(step.resources).length === 0) &&
    // A number bounds a forEach step's items; a rule is a concurrency key of its tasks.
    (step.concurrency === undefined || typeof step.concurrency === 'number') &&
    step.rateLimit === undefined &&
    step.placement === undefined &&
    step.affinity === undefined &&
    step.idempotencyKey === undefined
  );
}

/** What the run gives a step's task. */
export interface SpecRun {
  sessionId: string | null;
  workingDir: string | null;
  metadata: Record<string, unknown>;
  upstream: Record<string, unknown> | null;
}

/**
 * The task spec of a unit of a {@link plainStep}, as intake would make it of the task input stepUnits.ts builds:
 * defaults filled in, its id its idempotency key.
 */
export function stepSpec(
  step: WorkflowStep,
  id: string,
  name: string,
  parameters: Record<string, unknown>,
  run: SpecRun,
): TaskSpec {
  const spec: TaskSpec = {
    id,
    name,
    module: step.module ?? '',
    action: step.action ?? '',
    parameters,
    priority: step.priority ?? 'normal',
    dependencies: NO_DEPENDENCIES,
    resources: NO_RESOURCES,
    maxRetries: step.maxRetries ?? DEFAULT_MAX_RETRIES,
    retry: step.retry === undefined ? DEFAULT_RETRY : mergeRetry(step.retry),
    metadata: run.metadata,
  };
  if (step.timeout !== undefined) spec.timeout = step.timeout;
  spec.idempotencyKey = id;
  if (run.sessionId !== null) spec.sessionId = run.sessionId;
  if (run.workingDir !== null) spec.workingDir = run.workingDir;
  if (run.upstream !== null) spec.upstream = run.upstream;
  return spec;
}
