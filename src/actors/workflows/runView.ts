/**
 * What `getRun` shows of a workflow run: every step's result (or, for a step that has not ended, where it is), the
 * run's status, timing, error, where it came from, and why it is held back while it has not started.
 */
import type { WorkflowRunContext } from '../../machines/workflowRun.js';
import type { ItemResult, RunError, StepResult, StoredWorkflow } from '../../model/workflow.js';
import type { RunDebounce, RunLineage, RunOrigin, RunProject, RunQueuedOn, WorkflowRun } from '../../model/run.js';
import type { RunInputs } from '../../model/artifacts.js';
import type { StepState } from './steps.js';
import { FAILED } from './steps.js';

/** The facts of a run its view reads (the executor's public fields). */
export interface RunFacts {
  readonly runId: string;
  readonly workflow: StoredWorkflow;
  readonly params: Record<string, unknown>;
  readonly sessionId: string | null;
  readonly startedAt: number;
  readonly warnings: string[];
  readonly workingDir: string | null;
  readonly project: RunProject | null;
  readonly origin: RunOrigin | null;
  readonly traceparent: string | null;
  readonly runSpan: string | null;
  readonly inputs: RunInputs | null;
  readonly lineage: RunLineage;
  readonly depth: number;
  readonly started: boolean;
  readonly hold: { queued?: (() => RunQueuedOn | null) | undefined; debounce?: RunDebounce | null };
}

/** The view with the run's end as `ended` says (the machine's context, current or being entered). */
export function runView(
  run: RunFacts,
  order: readonly StepState[],
  ended: Pick<WorkflowRunContext, 'endedAt' | 'outcome'>,
  now: () => number,
): WorkflowRun {
  const steps: Record<string, StepResult> = {};
  for (const s of order) steps[s.step.name] = s.result ?? placeholder(s);
  const end = ended.endedAt;
  const status = ended.outcome ?? 'running';
  const { workflow, lineage } = run;
  return {
    success: status === 'succeeded',
    status,
    workflowName: workflow.name,
    runId: run.runId,
    version: workflow.version,
    hash: workflow.hash,
    steps,
    durationMs: (end ?? now()) - run.startedAt,
    warnings: run.warnings,
    ...(status === 'failed' || status === 'cancelled' ? { error: runError(steps) } : {}),
    params: run.params,
    sessionId: run.sessionId,
    startedAt: run.startedAt,
    endedAt: end,
    workingDir: run.workingDir,
    project: run.project,
    parentRunId: lineage.parentRunId ?? null,
    parentStep: lineage.parentStep ?? null,
    parentItem: lineage.parentItem ?? null,
    depth: run.depth,
    retryOf: lineage.retryOf ?? null,
    ...run.origin,
    ...(run.traceparent !== null ? { traceparent: run.traceparent } : {}),
    ...(run.runSpan !== null ? { runSpan: run.runSpan } : {}),
    ...(run.inputs !== null ? { inputs: run.inputs } : {}),
    ...holdView(run),
  };
}

function holdView(run: RunFacts): Pick<WorkflowRun, 'queued' | 'debounce'> {
  if (run.started) return {};
  const queued = run.hold.queued?.() ?? null;
  const debounce = run.hold.debounce ?? null;
  return { ...(queued ? { queued } : {}), ...(debounce ? { debounce } : {}) };
}

/** The first step (in definition order) that failed, timed out or was cancelled, with its error; null if none did. */
function runError(steps: Record<string, StepResult>): RunError | null {
  const all = Object.values(steps);
  const first =
    all.find((s) => s.status === 'failed' || s.status === 'timed_out') ?? all.find((s) => FAILED.has(s.status));
  if (!first) return null;
  const others = all.filter((s) => s !== first && s.status !== 'completed').length;
  return {
    step: first.step,
    status: first.status,
    code: first.error?.code ?? 'UNKNOWN',
    message: first.error?.message ?? `step "${first.step}" ${first.status}`,
    others,
  };
}

/** What a run's view shows of a step that has not ended: pending, running or waiting, with its items and child run. */
function placeholder(s: StepState): StepResult {
  const status = s.waiting ? 'waiting' : s.phase === 'running' ? 'running' : 'pending';
  const out: StepResult = {
    taskId: s.taskId,
    step: s.step.name,
    name: s.step.name,
    status,
    success: false,
    result: null,
    error: null,
    attempts: 0,
    startedAt: s.startedAt,
    endedAt: null,
    durationMs: null,
  };
  if (s.waiting) out.waiting = { ...s.waiting };
  if (s.fan) {
    const items: ItemResult[] = s.fan.view();
    if (s.children)
      for (const it of items)
        if (it.childRunId === undefined && s.children.has(it.index)) it.childRunId = s.children.get(it.index);
    out.items = items;
  } else if (s.step.forEach !== undefined && s.prior?.items) out.items = s.prior.items;
  const child = s.children?.get(-1) ?? s.prior?.childRunId;
  if (child !== undefined) out.childRunId = child;
  return out;
}
