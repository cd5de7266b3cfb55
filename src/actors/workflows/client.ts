/** The seed's `getWorkflowManager()` view: a thin client of the bus. */
import type { MessageBus } from '../../bus/bus.js';
import { ErrorCode } from '../../errors.js';
import type { TaskExplanation } from '../../model/taskView.js';
import { ScheduleClient } from '../schedules/client.js';
import type { RunListFilter, RunRequest, WorkflowPerformance, WorkflowSummary } from '../../bus/protocol.js';
import type { WorkflowRunStatus } from '../../bus/protocol.js';
import type { StoredWorkflow, WorkflowDefinition, WorkflowResult, WorkflowStep } from '../../model/workflow.js';
import type { WorkflowRun } from '../../model/run.js';

/** A definition or the seed's `(name, steps)` pair. */
export interface CreateWorkflowOptions {
  description?: string;
  version?: string;
  parallelGroups?: string[][];
  params?: Record<string, unknown>;
}

/**
 * The workflow manager as the seed shows it, with the schedule and trigger methods ({@link ScheduleClient}). Every
 * method is a request on the bus.
 *
 * @example
 * const wf = getWorkflowManager();
 * await wf.createWorkflow('ai_analysis', [
 *   { name: 'analyze_code', module: 'core', action: 'echo', parameters: { path: '.' } },
 *   { name: 'generate_insights', module: 'core', action: 'echo', parameters: { analysis_data: '{{analyze_code.output}}' }, dependencies: ['analyze_code'] },
 * ]);
 * const result = await wf.executeWorkflow('ai_analysis');
 */
export class WorkflowManagerClient extends ScheduleClient {
  /**
   * Validates and stores a workflow; refuses with a `ValidationError` listing every problem. The same definition
   * again is a no-op; a changed one is stored as the next version.
   */
  async createWorkflow(
    name: string,
    steps: WorkflowStep[],
    options: CreateWorkflowOptions = {},
  ): Promise<StoredWorkflow> {
    const { workflow } = await this.request(() =>
      this.bus.request('workflow.create', { definition: { name, steps, ...options } }),
    );
    return workflow;
  }

  /** Stores a whole definition (as loaded from YAML/JSON; snake_case keys accepted). Returns it with any warnings. */
  defineWorkflow(
    definition: WorkflowDefinition | Record<string, unknown>,
  ): Promise<{ workflow: StoredWorkflow; created: boolean; warnings: string[] }> {
    return this.request(() => this.bus.request('workflow.create', { definition }));
  }

  /** Every problem of a definition, without storing anything. */
  validateWorkflow(
    definition: WorkflowDefinition | Record<string, unknown>,
  ): Promise<{ valid: boolean; errors: string[]; warnings: string[] }> {
    return this.request(() => this.bus.request('workflow.validate', { definition }));
  }

  /** A stored workflow (the latest version, or `version`); null when there is none. */
  getWorkflow(name: string, version?: string): Promise<StoredWorkflow | null> {
    return this.request(() => this.bus.request('workflow.get', version === undefined ? { name } : { name, version }));
  }

  /** Every stored workflow with its latest version and run counts. */
  listWorkflows(): Promise<WorkflowSummary[]> {
    return this.request(() => this.bus.request('workflow.list', {}));
  }

  /** Deletes a stored workflow and its versions (its past runs stay); false when there was none. */
  async deleteWorkflow(name: string): Promise<boolean> {
    return (await this.request(() => this.bus.request('workflow.delete', { name }))).deleted;
  }

  /** Runs a workflow to its end. `params` are readable as `{{params.x}}`. */
  executeWorkflow(
    name: string,
    params: Record<string, unknown> = {},
    options: Omit<RunRequest, 'params'> = {},
  ): Promise<WorkflowResult> {
    return this.request(() => this.bus.request('workflow.execute', { name, params, ...options }));
  }

  /** Starts a run and returns its id at once (follow it with `getRun`, `waitForRun`, `cancelRun`). */
  async startWorkflow(
    name: string,
    params: Record<string, unknown> = {},
    options: Omit<RunRequest, 'params'> = {},
  ): Promise<string> {
    return (await this.request(() => this.bus.request('workflow.start', { name, params, ...options }))).runId;
  }

  /** A run with each step's status, output and error; null when there is none. */
  getRun(runId: string): Promise<WorkflowRun | null> {
    return this.request(() => this.bus.request('workflow.get_run', { runId }));
  }

  /** Newest first; `schedule` / `trigger`: only the runs that schedule or trigger started. */
  listRuns(filter: RunListFilter = {}): Promise<WorkflowRun[]> {
    return this.request(() => this.bus.request('workflow.list_runs', filter));
  }

  /** Resolves when the run ends (at once for one that has ended), with its result. */
  waitForRun(runId: string): Promise<WorkflowResult> {
    return this.request(() => this.bus.request('workflow.wait_run', { runId }));
  }

  /** Cancels a run that has not ended: its running tasks are cancelled, its waiting steps do not start. `cancelled` is false for a run that had ended already. */
  cancelRun(runId: string, reason?: string): Promise<{ runId: string; cancelled: boolean; status: WorkflowRunStatus }> {
    return this.request(() =>
      this.bus.request('workflow.cancel_run', reason === undefined ? { runId } : { runId, reason }),
    );
  }

  /**
   * Sends a signal to a running run: the steps waiting for it (`waitFor: { signal }`) complete with `payload` as
   * their output; a signal no step waits for yet is kept for the first step that does. Refused for a run that has
   * ended and for a signal name no step of its workflow waits for.
   *
   * @example
   * await wf.signalRun(runId, 'approval', { approvedBy: 'ana' });
   */
  signalRun(
    runId: string,
    signal: string,
    payload?: unknown,
  ): Promise<{ runId: string; signal: string; delivered: boolean }> {
    return this.request(() =>
      this.bus.request('workflow.signal', payload === undefined ? { runId, signal } : { runId, signal, payload }),
    );
  }

  /**
   * Re-runs an ended run (same definition version and parameters) and resolves with the new run's result. Steps that
   * completed keep their outputs (`reused: true`, `reusedFrom`) unless they are `fromStep` or downstream of it;
   * without `fromStep`, the steps that did not complete run again. The new run records `retryOf`.
   *
   * @example
   * const again = await wf.retryRun(failed.runId, { fromStep: 'load' });
   */
  async retryRun(runId: string, options: { fromStep?: string } = {}): Promise<WorkflowResult> {
    return this.waitForRun(await this.startRetry(runId, options));
  }

  /** Like {@link retryRun}, but answers with the new run's id at once. */
  async startRetry(runId: string, options: { fromStep?: string } = {}): Promise<string> {
    return (
      await this.request(() =>
        this.bus.request(
          'workflow.retry',
          options.fromStep === undefined ? { runId } : { runId, fromStep: options.fromStep },
        ),
      )
    ).runId;
  }

  /** Runs, successes, failures and p50/p95/max duration per workflow (all, or the one named). */
  getPerformanceSummary(name?: string): Promise<WorkflowPerformance[]> {
    return this.request(() => this.bus.request('workflow.performance', name === undefined ? {} : { name }));
  }
}

/**
 * `explainTask` for any task id: the task orchestrator's answer, or, for a workflow step that has no task (a wait, a
 * sleep, a forEach or sub-workflow step as a whole), the workflow manager's.
 */
export async function explainTaskOrStep(bus: MessageBus, taskId: string): Promise<TaskExplanation> {
  try {
    return await bus.request('task.explain', { taskId });
  } catch (err) {
    if ((err as { code?: unknown }).code !== ErrorCode.NOT_FOUND) throw err;
    const step = await bus.request('workflow.explain_step', { taskId });
    if (step) return step;
    throw err;
  }
}
