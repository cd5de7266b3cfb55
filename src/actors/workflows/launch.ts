/**
 * Builds runs: checks a run request (parameters within the payload limits, an absolute working folder, a session
 * that exists, a free run id that fits a task id), builds the run executor wired to the engine (its tasks, child
 * runs, signals and record), admits it through flow control and its session's slot, and files its end.
 */
import { randomUUID } from 'node:crypto';
import { isAbsolute } from 'node:path';
import type { RunRequest } from '../../bus/protocol.js';
import { NotFoundError, ShuttingDownError, ValidationError } from '../../errors.js';
import { withInputs } from '../../model/artifacts.js';
import { checkPayloadLimits } from '../../model/validate.js';
import type { StoredWorkflow, WorkflowResult } from '../../model/workflow.js';
import type { RunLineage } from '../../model/run.js';
import type { WorkflowDefinitions } from './definitions.js';
import type { RunPerformance } from './performance.js';
import type { RunDeps, RunResume } from './run.js';
import { WorkflowRunExecutor } from './run.js';
import type { RunFlow } from './runFlow.js';
import type { RunRecorder } from './runRecords.js';
import type { RunTable } from './runTable.js';
import type { SessionSlots } from './sessionSlots.js';
import type { SignalBox } from './signals.js';
import type { ChildStart } from './stepUnits.js';

/** What every run is given of the engine (a sub-workflow step's child start is the launcher's own). */
export type RunEngine = Omit<RunDeps, 'startChild' | 'changed' | 'attachChild' | 'cancelRun' | 'takeSignal'>;

/** The manager's parts a launcher builds runs with. */
export interface LaunchParts {
  engine: RunEngine;
  definitions: WorkflowDefinitions;
  runs: RunTable;
  slots: SessionSlots<WorkflowRunExecutor>;
  flow: RunFlow;
  signals: SignalBox;
  performance: RunPerformance;
  recorder: RunRecorder | null;
}

export class RunLauncher {
  readonly #parts: LaunchParts;
  readonly #deps: RunDeps;
  #closing = false;

  constructor(parts: LaunchParts) {
    this.#parts = parts;
    const { runs, signals, recorder } = parts;
    this.#deps = {
      ...parts.engine,
      changed: (r) => recorder?.changed(r),
      attachChild: (childId) => runs.doneOf(childId),
      cancelRun: (childId, reason) => {
        runs.live(childId)?.cancel(reason);
      },
      takeSignal: (id, signal) => signals.take(id, signal),
    };
  }

  /** Refuses new runs from now on. */
  close(): void {
    this.#closing = true;
  }

  /** Checks the request, builds the run and admits it (it starts once flow control and its session let it). */
  launch(
    wf: StoredWorkflow,
    req: RunRequest,
    warnings: string[],
    lineage: RunLineage = {},
    resume: RunResume | null = null,
  ): WorkflowRunExecutor {
    if (this.#closing) throw new ShuttingDownError();
    const { runs, slots, flow } = this.#parts;
    // Run parameters reach the store (the run's record) and every step's worker: refuse what cannot go there now.
    const bad = req.params === undefined ? null : checkPayloadLimits(req.params, 'params');
    if (bad) throw new ValidationError(bad);
    if (req.workingDir !== undefined && !isAbsolute(req.workingDir))
      throw new ValidationError(`workingDir: must be an absolute path (got "${req.workingDir}")`);
    if (req.sessionId !== undefined && !slots.has(req.sessionId)) {
      throw new NotFoundError(
        `sessionId: no active session "${req.sessionId}"; create one with engine.createSession({ userId })`,
      );
    }
    if (req.runId !== undefined && (req.runId.length === 0 || req.runId.length > 36))
      throw new ValidationError(
        `runId: must be 1 to 36 characters (a step's task id is "<runId>.<step>"; got ${req.runId.length})`,
      );
    if (req.runId !== undefined && runs.exists(req.runId))
      throw new ValidationError(
        `runId: a run with id "${req.runId}" exists already; give another id, or omit it for a new uuid`,
      );
    if (req.inputs !== undefined) req = { ...req, params: withInputs(req.params, req.runId, req.inputs) };
    // Keys and the debounce key must resolve before the run exists (a ValidationError naming the field).
    flow.resolveKeys(wf, { ...wf.params, ...(req.params ?? {}) });
    const run = this.executor(
      wf,
      req.runId ?? randomUUID(),
      req,
      req.sessionId ?? null,
      warnings,
      resume,
      lineage,
      req.runId === undefined,
    );
    flow.admit(run, lineage, () => slots.go(run));
    return run;
  }

  /** Builds a run executor (not started) and files it among the live runs until it ends. */
  executor(
    wf: StoredWorkflow,
    runId: string,
    req: RunRequest,
    sessionId: string | null,
    warnings: string[],
    resume: RunResume | null,
    lineage: RunLineage = {},
    /** `runId` was made here, for this start: no stored task has its tasks' ids. */
    freshId = false,
  ): WorkflowRunExecutor {
    const run = new WorkflowRunExecutor(
      wf,
      runId,
      req.params ?? {},
      sessionId,
      warnings,
      { ...this.#deps, startChild: (c) => this.#startChild(c, sessionId, req) },
      resume,
      {
        workingDir: req.workingDir,
        project: req.project,
        lineage,
        origin: req.origin,
        traceparent: req.traceparent,
        inputs: req.inputs,
        freshId,
      },
    );
    const { runs } = this.#parts;
    runs.addLive(run);
    run.done.then(
      (result) => this.#finish(run, result),
      () => runs.removeLive(run.runId),
    );
    return run;
  }

  /** A sub-workflow step's child run: in its parent's session, folder and project. */
  #startChild(
    c: ChildStart,
    sessionId: string | null,
    req: RunRequest,
  ): { runId: string; done: Promise<WorkflowResult> } {
    const child = this.launch(
      this.#parts.definitions.require(c.workflow),
      { params: c.params, sessionId: sessionId ?? undefined, workingDir: req.workingDir, project: req.project },
      [],
      {
        parentRunId: c.parentRunId,
        parentStep: c.parentStep,
        parentItem: c.parentItem,
        depth: c.depth,
      },
    );
    return { runId: child.runId, done: child.done };
  }

  #finish(run: WorkflowRunExecutor, result: WorkflowResult): void {
    const { runs, flow, signals, slots, recorder, performance } = this.#parts;
    runs.removeLive(run.runId);
    flow.ended(run.runId);
    signals.drop(run.runId);
    slots.release(run);
    runs.finished(run.view(), run.workflow);
    recorder?.changed(run);
    performance.record(result);
  }
}
