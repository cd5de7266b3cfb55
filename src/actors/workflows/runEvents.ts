/**
 * The events a workflow run publishes: `workflow_started` (with where the run came from), `step_started`,
 * `step_waiting`, a step's end (`step_completed | step_skipped | step_failed`), and the run's end
 * (`workflow_completed`, and `workflow_failed` for a run that did not succeed). Each is built only when wanted.
 */
import type { MessageBus } from '../../bus/bus.js';
import type { SerializedError } from '../../errors.js';
import { CodomyrmexError, ErrorCode } from '../../errors.js';
import type { EventMap } from '../../model/events.js';
import type { StepResult, StepWaiting } from '../../model/workflow.js';
import type { RunLineage, RunOrigin, WorkflowRun } from '../../model/run.js';
import { stepCall } from '../../workflows/kinds.js';
import type { StepState } from './steps.js';

/** Where a run came from, as `workflow_started` tells it. */
export interface RunLinks {
  lineage: RunLineage;
  origin: RunOrigin | null;
  traceparent: string | null;
  resumed: boolean;
  /** The span of the run's first start (a resumed run's span links to it), null when unknown. */
  runSpan: string | null;
}

/** What `workflow_started` says about where a run came from, only the fields that apply (spans are built from it). */
function startLinks(run: RunLinks): Partial<EventMap['workflow_started']> {
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

export class RunEvents {
  readonly #bus: MessageBus;
  readonly #workflowName: string;
  readonly #runId: string;

  constructor(bus: MessageBus, workflowName: string, runId: string) {
    this.#bus = bus;
    this.#workflowName = workflowName;
    this.#runId = runId;
  }

  started(version: string, steps: number, sessionId: string | null, links: RunLinks): void {
    if (!this.#bus.wants('workflow_started')) return;
    this.#bus.publish('workflow_started', {
      workflowName: this.#workflowName,
      runId: this.#runId,
      version,
      steps,
      sessionId,
      ...startLinks(links),
    });
  }

  stepStarted(s: StepState, items: number | undefined): void {
    if (!this.#bus.wants('step_started')) return;
    const { module, action } = stepCall(s.step);
    const data: EventMap['step_started'] = {
      workflowName: this.#workflowName,
      runId: this.#runId,
      step: s.step.name,
      module,
      action,
      taskId: s.taskId,
      attempt: 1,
    };
    if (items !== undefined) data.items = items;
    this.#bus.publish('step_started', data);
  }

  stepWaiting(s: StepState, waiting: Pick<StepWaiting, 'signal' | 'until'>): void {
    if (!this.#bus.wants('step_waiting')) return;
    this.#bus.publish('step_waiting', {
      workflowName: this.#workflowName,
      runId: this.#runId,
      step: s.step.name,
      taskId: s.taskId,
      signal: waiting.signal,
      until: waiting.until,
    });
  }

  stepEnded(s: StepState, r: StepResult): void {
    const bus = this.#bus;
    const type = r.status === 'completed' ? 'step_completed' : r.status === 'skipped' ? 'step_skipped' : 'step_failed';
    if (!bus.wants(type)) return;
    const { module, action } = stepCall(s.step);
    if (r.status === 'completed') {
      // Written out, not spread from a base: one object per step's end.
      bus.publish('step_completed', {
        workflowName: this.#workflowName,
        runId: this.#runId,
        step: s.step.name,
        module,
        action,
        taskId: s.taskId,
        durationMs: r.durationMs ?? 0,
      });
      return;
    }
    const base = { workflowName: this.#workflowName, runId: this.#runId, step: s.step.name, module, action };
    // Built only for a step that did not complete (an error object with its stack is not free).
    const error: SerializedError =
      r.error ?? new CodomyrmexError('the step ended without an error recorded', ErrorCode.UNKNOWN).toJSON();
    if (r.status === 'skipped') bus.publish('step_skipped', { ...base, reason: error.message });
    else
      bus.publish('step_failed', {
        ...base,
        taskId: s.taskId,
        status: r.status as 'failed' | 'timed_out' | 'cancelled',
        error,
        durationMs: r.durationMs,
      });
  }

  /** The run ended: `failedSteps` are the steps that ended otherwise than completed (not by their own condition). */
  ended(result: WorkflowRun, failedSteps: () => string[]): void {
    const { durationMs } = result;
    this.#bus.publish('workflow_completed', {
      workflowName: this.#workflowName,
      runId: this.#runId,
      success: result.success,
      status: result.status,
      durationMs,
    });
    if (!result.success) {
      this.#bus.publish('workflow_failed', {
        workflowName: this.#workflowName,
        runId: this.#runId,
        success: false,
        status: result.status,
        durationMs,
        failedSteps: failedSteps(),
      });
    }
  }
}
