/**
 * A project's workflow runs: starting one of its workflows in its folder with its config, and counting each run's
 * end once in the project and towards the milestones that name the workflow.
 */
import { stat } from 'node:fs/promises';
import type { MessageBus } from '../../bus/bus.js';
import type { RunRequest } from '../../bus/protocol.js';
import { NotFoundError, ShuttingDownError, ValidationError } from '../../errors.js';
import type { Project } from '../../model/project.js';
import { didYouMean } from '../../model/validate.js';
import type { WorkflowResult } from '../../model/workflow.js';
import * as milestones from './milestones.js';
import type { ProjectState } from './state.js';

/** What a run's end says that a project counts. */
export type RunOutcome = Pick<WorkflowResult, 'runId' | 'status' | 'success' | 'durationMs'>;

/** The request of a project's run: the project sets its folder and config, and runs its workflows' latest version. */
export type ProjectRunRequest = Omit<RunRequest, 'workingDir' | 'project' | 'version'>;

export class ProjectRuns {
  readonly #state: ProjectState;
  readonly #bus: MessageBus;
  readonly #now: () => number;
  readonly #closing: () => boolean;
  /** Run id → project, for runs in flight. */
  readonly #runOwners = new Map<string, string>();

  constructor(state: ProjectState, bus: MessageBus, now: () => number, closing: () => boolean) {
    this.#state = state;
    this.#bus = bus;
    this.#now = now;
    this.#closing = closing;
  }

  /** Follows the runs in flight of projects loaded from the store. */
  recover(projects: Project[]): void {
    for (const p of projects) for (const runId of Object.keys(p.activeRuns)) this.#runOwners.set(runId, p.name);
  }

  /**
   * Runs one of the project's workflows to its end, in the project's folder, with `{{project.config.x}}`; counts
   * its outcome in the project and towards the milestones that name it.
   */
  async runWorkflow(name: string, workflow: string, req: ProjectRunRequest = {}): Promise<WorkflowResult> {
    const { runId, project } = await this.#start(name, workflow, req);
    return this.#finish(project, runId);
  }

  /**
   * Starts one of the project's workflows and answers with its run id at once (over the network a run is not one
   * held-open request: follow it with `workflow.wait_for` or its end event); its outcome is counted as it ends.
   */
  async startWorkflow(name: string, workflow: string, req: ProjectRunRequest = {}): Promise<{ runId: string }> {
    const { runId, project } = await this.#start(name, workflow, req);
    this.#finish(project, runId).catch(() => undefined);
    return { runId };
  }

  async #finish(project: string, runId: string): Promise<WorkflowResult> {
    const result = await this.#bus.request('workflow.wait_run', { runId });
    // After the count its `workflow_completed` event may have queued, so the caller sees the run counted.
    await this.#state.serial(project, () => this.#recordEnd(project, result));
    return result;
  }

  async #start(name: string, workflow: string, req: ProjectRunRequest): Promise<{ runId: string; project: string }> {
    if (this.#closing()) throw new ShuttingDownError();
    const p = this.#state.requireActive(name, 'run workflows');
    if (!p.workflows.includes(workflow)) {
      const hint = didYouMean(String(workflow), p.workflows);
      throw new NotFoundError(
        `workflow: project "${p.name}" has no workflow "${workflow}"${hint ? ` (did you mean "${hint}"?)` : ''}; its workflows: ${p.workflows.join(', ') || '(none)'}`,
      );
    }
    if (!(await stat(p.path).catch(() => null))?.isDirectory())
      throw new ValidationError(`project "${p.name}": its folder ${p.path} is gone; restore it or delete the project`);
    const { runId } = await this.#bus.request('workflow.start', {
      name: workflow,
      params: req.params ?? {},
      ...(req.sessionId !== undefined ? { sessionId: req.sessionId } : {}),
      ...(req.traceparent !== undefined ? { traceparent: req.traceparent } : {}),
      workingDir: p.path,
      project: { name: p.name, path: p.path, config: p.config },
    });
    this.#runOwners.set(runId, p.name);
    await this.#state.serial(p.name, async () => {
      const cur = this.#state.require(p.name);
      await this.#state.save({ ...cur, activeRuns: { ...cur.activeRuns, [runId]: workflow } }, 'best-effort');
    });
    return { runId, project: p.name };
  }

  /** A run ended (its `workflow_completed` event): count it once, in its project. */
  runEnded(outcome: RunOutcome): Promise<void> {
    const owner = this.#runOwners.get(outcome.runId);
    if (owner === undefined) return Promise.resolve();
    return this.#state.serial(owner, () => this.#recordEnd(owner, outcome));
  }

  /** Counts a run that ended in its project and towards its milestones; a run already counted is ignored. */
  async #recordEnd(owner: string, outcome: RunOutcome): Promise<void> {
    const p = this.#state.get(owner);
    const workflow = p?.activeRuns[outcome.runId];
    if (!p || workflow === undefined) return;
    this.#runOwners.delete(outcome.runId);
    const now = this.#now();
    const activeRuns = { ...p.activeRuns };
    delete activeRuns[outcome.runId];
    const prev = p.runs[workflow] ?? { runs: 0, successes: 0, failures: 0, lastRun: null };
    const stats = {
      runs: prev.runs + 1,
      successes: prev.successes + (outcome.success ? 1 : 0),
      failures: prev.failures + (outcome.success ? 0 : 1),
      lastRun: {
        runId: outcome.runId,
        status: outcome.status,
        success: outcome.success,
        endedAt: now,
        durationMs: outcome.durationMs,
      },
    };
    const done = outcome.success
      ? milestones.recordSuccess(p, workflow, outcome.runId, now)
      : { milestones: p.milestones, completed: [] };
    const saved = await this.#state.save(
      { ...p, activeRuns, runs: { ...p.runs, [workflow]: stats }, milestones: done.milestones, updatedAt: now },
      'best-effort',
    );
    this.#state.announce(saved, done.completed, outcome.runId);
  }
}
