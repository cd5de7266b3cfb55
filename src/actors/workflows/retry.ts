/** Which steps a re-run (`retryRun`) runs again, and which keep the outputs of the run it retries. */
import { ValidationError } from '../../errors.js';
import { didYouMean } from '../../model/validate.js';
import type { StepResult, StoredWorkflow, WorkflowStep } from '../../model/workflow.js';
import type { WorkflowRun } from '../../model/run.js';

/** `seeds` and every step downstream of one of them (through dependencies), by name. */
function transitiveDependents(steps: readonly WorkflowStep[], seeds: readonly string[]): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const s of steps)
    for (const d of s.dependencies ?? []) (dependents.get(d) ?? dependents.set(d, []).get(d))?.push(s.name);
  const out = new Set<string>();
  const todo = [...seeds];
  for (let n = todo.pop(); n !== undefined; n = todo.pop()) {
    if (out.has(n)) continue;
    out.add(n);
    todo.push(...(dependents.get(n) ?? []));
  }
  return out;
}

/**
 * The steps of `old` (a run of `wf`) a re-run keeps (`reused: true`, `reusedFrom`): those that completed, unless
 * they are `fromStep`, downstream of it, or downstream of a step that did not complete. Refuses an unknown `fromStep`.
 */
export function reusedSteps(
  wf: StoredWorkflow,
  old: WorkflowRun,
  fromStep: string | undefined,
): Record<string, StepResult> {
  const names = wf.steps.map((s) => s.name);
  if (fromStep !== undefined && !names.includes(fromStep)) {
    const hint = didYouMean(fromStep, names);
    throw new ValidationError(
      `fromStep: workflow "${wf.name}" has no step "${fromStep}"${hint ? ` (did you mean "${hint}"?)` : ''}`,
    );
  }
  const seeds = names.filter((n) => n === fromStep || old.steps[n]?.status !== 'completed');
  const redo = transitiveDependents(wf.steps, seeds);
  const steps: Record<string, StepResult> = {};
  for (const n of names) {
    const r = old.steps[n];
    if (r && r.status === 'completed' && !redo.has(n)) steps[n] = { ...r, reused: true, reusedFrom: old.runId };
  }
  return steps;
}
