/** What `explain` says of a workflow step that has no task to explain: a step waiting on a signal or a time. */
import type { TaskExplanation } from '../../model/taskView.js';
import type { WorkflowRun } from '../../model/run.js';

/**
 * What the step whose task id is given (`<runId>.<step>`) waits for, when it waits on a signal or a time; null when
 * the id names no such step. `pending` lists the signals kept for a run.
 */
export function explainStep(
  taskId: string,
  getRun: (runId: string) => WorkflowRun | null,
  pending: (runId: string) => string[],
): TaskExplanation | null {
  const dot = taskId.indexOf('.');
  if (dot < 0) return null;
  const run = getRun(taskId.slice(0, dot));
  const step = run?.steps[taskId.slice(dot + 1)];
  if (!run || !step) return null;
  const w = step.waiting;
  if (step.status !== 'waiting' || !w) {
    return {
      taskId,
      status: step.status === 'waiting' ? 'running' : step.status,
      summary: `step "${step.step}" of run ${run.runId} is ${step.status}${step.items ? ` (${step.items.length} items)` : ''}${step.childRunId ? ` (child run ${step.childRunId})` : ''}`,
      waitingOn: null,
    };
  }
  const until = w.until !== null ? ` until ${new Date(w.until).toISOString()}` : '';
  if (w.signal !== null) {
    const kept = pending(run.runId);
    return {
      taskId,
      status: 'waiting',
      summary: `step "${step.step}" of run ${run.runId} waits for signal "${w.signal}"${w.until !== null ? `${until} (then onTimeout applies)` : ' (no time limit)'}; send it with signalRun("${run.runId}", "${w.signal}", payload)${kept.length ? `; kept for this run: ${kept.join(', ')}` : ''}`,
      waitingOn: { kind: 'signal', signal: w.signal, until: w.until, since: w.since },
    };
  }
  return {
    taskId,
    status: 'waiting',
    summary: `step "${step.step}" of run ${run.runId} sleeps${until}`,
    waitingOn: { kind: 'timer', until: w.until, since: w.since },
  };
}
