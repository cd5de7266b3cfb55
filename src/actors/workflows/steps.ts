/**
 * A run's step table: each step's state, the dependency edges between steps, the rules by which a step's end
 * releases or skips its dependents and fails the run or not, and the results a step gets without running
 * (skipped, cancelled, refused) or by waiting; and what a restart or a re-run puts back of a run's steps.
 */
import type { SerializedError } from '../../errors.js';
import { ErrorCode, SkippedError } from '../../errors.js';
import type { ClockTimer } from '../../model/clock.js';
import type { TaskStatus } from '../../model/task.js';
import { TERMINAL_STATUSES } from '../../model/task.js';
import type { StepResult, StepWaiting, StoredWorkflow, WorkflowStep } from '../../model/workflow.js';
import type { TemplateSite } from '../../workflows/template.js';
import { findTemplates } from '../../workflows/template.js';
import type { FanOut } from './fanout.js';

export type StepPhase = 'waiting' | 'blocked' | 'running' | 'done';

export interface StepState {
  step: WorkflowStep;
  phase: StepPhase;
  waitingOn: number;
  dependents: StepState[];
  hasTemplates: boolean;
  /** The steps whose artifacts it gets: its dependencies, and any step its templates read `artifacts` of. */
  artifactSources: readonly string[];
  groups: Set<number> | null;
  result: StepResult | null;
  taskId: string;
  /** Skipped by its own `when`: dependents still run. */
  skippedByCondition: boolean;
  /** What a restart found of this step while it had not ended (items that ended, its child run, its wait). */
  prior: StepResult | null;
  startedAt: number | null;
  /** A forEach step's items, once it started. */
  fan: FanOut | null;
  /** Child runs of a sub-workflow step: by item index, or -1 for a step without forEach. */
  children: Map<number, string> | null;
  /** What a waiting step waits for, while it waits. */
  waiting: StepWaiting | null;
  timer: ClockTimer | null;
}

/** The steps of a run, by name and in definition order. */
export interface StepTable {
  byName: Map<string, StepState>;
  order: StepState[];
}

export const FAILED: ReadonlySet<string> = new Set(['failed', 'timed_out', 'cancelled']);

/**
 * The steps whose artifacts a step is given: its dependencies, and the steps further up that its templates name
 * (`{{make.artifacts.out}}` behind a wait step), so the file a template points at is there when it starts.
 */
function artifactSources(step: WorkflowStep, paramSites: readonly TemplateSite[]): readonly string[] {
  const deps = step.dependencies ?? NO_NAMES;
  // Most steps: no template anywhere, at most one dependency (a 100,000-step definition builds this per step).
  if (paramSites.length === 0 && step.forEach === undefined && deps.length < 2) return deps;
  const names = new Set(deps);
  for (const site of findTemplates([step.parameters ?? {}, step.forEach ?? null]))
    for (const ref of site.refs) if (ref.path[0] === 'artifacts') names.add(ref.root);
  return [...names];
}

const NO_NAMES: readonly string[] = Object.freeze([]);

/** Every step of the definition, waiting, with its dependents linked and its parallel groups (when there are any). */
export function buildSteps(workflow: StoredWorkflow, runId: string): StepTable {
  const groupsOf = new Map<string, Set<number>>();
  workflow.parallelGroups?.forEach((g, i) => {
    for (const name of g) {
      let set = groupsOf.get(name);
      if (!set) groupsOf.set(name, (set = new Set()));
      set.add(i);
    }
  });
  const byName = new Map<string, StepState>();
  const order: StepState[] = [];
  for (const step of workflow.steps) {
    const sites = step.parameters === undefined ? [] : findTemplates(step.parameters);
    const state: StepState = {
      step,
      phase: 'waiting',
      waitingOn: 0,
      dependents: [],
      hasTemplates: sites.length > 0,
      artifactSources: artifactSources(step, sites),
      groups: workflow.parallelGroups ? (groupsOf.get(step.name) ?? new Set()) : null,
      result: null,
      taskId: `${runId}.${step.name}`,
      skippedByCondition: false,
      prior: null,
      startedAt: null,
      fan: null,
      children: null,
      waiting: null,
      timer: null,
    };
    byName.set(step.name, state);
    order.push(state);
  }
  for (const s of order) {
    const deps = s.step.dependencies;
    if (deps === undefined || deps.length === 0) continue;
    for (const d of deps.length === 1 ? deps : new Set(deps)) {
      const up = byName.get(d);
      if (!up) continue;
      s.waitingOn++;
      up.dependents.push(s);
    }
  }
  return { byName, order };
}

/**
 * Puts back the steps that had ended before a restart or a re-run, with their results (they are not run again), and
 * releases their dependents as their end did. `attach`: a step that had started keeps what it had (`prior`) to
 * attach to its task or child run. Returns the steps put back, and the dependents still to skip (when the run starts).
 */
export function restoreSteps(
  table: StepTable,
  results: Record<string, StepResult>,
  attach: boolean,
): { ended: [StepState, StepResult][]; skips: [StepState, StepState][] } {
  const ended: [StepState, StepResult][] = [];
  const skips: [StepState, StepState][] = [];
  for (const s of table.order) {
    const r = results[s.step.name];
    if (r === undefined || !TERMINAL_STATUSES.has(r.status)) {
      if (r && attach) s.prior = r;
      continue;
    }
    s.phase = 'done';
    s.result = r;
    s.skippedByCondition = r.status === 'skipped' && r.error?.code === 'CONDITION_FALSE';
    ended.push([s, r]);
  }
  for (const [s, r] of ended) {
    const tolerated = releasesDependents(s, r);
    for (const d of s.dependents) {
      if (d.phase !== 'waiting') continue;
      if (tolerated) d.waitingOn--;
      else skips.push([d, s]);
    }
  }
  return { ended, skips };
}

/** With parallel groups, a step may start only if it shares a group with every running step. */
export function groupAllows(s: StepState, running: Iterable<StepState>): boolean {
  if (!s.groups) return true;
  for (const r of running) {
    let shared = false;
    for (const g of s.groups) if (r.groups?.has(g)) shared = true;
    if (!shared) return false;
  }
  return true;
}

/** Whether a step's end lets its dependents run: it completed, its own condition skipped it, or it may fail. */
export function releasesDependents(s: StepState, r: StepResult): boolean {
  return (
    s.skippedByCondition || r.status === 'completed' || (s.step.continueOnFailure === true && r.status !== 'skipped')
  );
}

/** Whether the ended steps fail the run: one failed without `continueOnFailure`, or one was skipped for such a failure. */
export function runFailed(table: StepTable): boolean {
  const tolerated = new Map<StepState, boolean>();
  for (const s of table.order) {
    const r = s.result;
    if (!r) continue;
    if (FAILED.has(r.status) && !s.step.continueOnFailure) return true;
    if (r.status === 'skipped' && !toleratedSkip(table, s, tolerated)) return true;
  }
  return false;
}

/**
 * A skip that does not fail the run: by its own condition, a wait that timed out with `onTimeout: "skip"`, or a
 * step skipped only because such a wait (or a step skipped for it) did not release it.
 */
function toleratedSkip(table: StepTable, s: StepState, memo: Map<StepState, boolean>): boolean {
  const known = memo.get(s);
  if (known !== undefined) return known;
  memo.set(s, false);
  const r = s.result;
  let ok = false;
  if (r?.status === 'skipped') {
    if (s.skippedByCondition || r.error?.code === ErrorCode.WAIT_TIMED_OUT) ok = true;
    else if (r.error?.code === ErrorCode.DEPENDENCY_FAILED) {
      const blockers = (s.step.dependencies ?? [])
        .map((d) => table.byName.get(d))
        .filter(
          (d): d is StepState => d?.result !== null && d?.result !== undefined && !releasesDependents(d, d.result),
        );
      ok = blockers.length > 0 && blockers.every((d) => toleratedSkip(table, d, memo));
    }
  }
  memo.set(s, ok);
  return ok;
}

/** The result of a step that ended without running (skipped, cancelled before it started, refused). */
export function syntheticResult(s: StepState, status: TaskStatus, error: SerializedError, now: number): StepResult {
  return {
    taskId: s.taskId,
    step: s.step.name,
    name: s.step.name,
    status,
    success: false,
    result: null,
    error,
    attempts: 0,
    startedAt: null,
    endedAt: now,
    durationMs: null,
  };
}

/** The result of a step skipped because `up` ended without releasing it. */
export function skippedAfter(d: StepState, up: StepState, now: number): StepResult {
  return syntheticResult(
    d,
    'skipped',
    new SkippedError(`step "${d.step.name}" was skipped: step "${up.step.name}" ended ${up.result?.status}`).toJSON(),
    now,
  );
}

/** The result of a waiting step (a signal wait or a sleep), timed from when it began to wait. */
export function waitResult(
  s: StepState,
  status: TaskStatus,
  output: unknown,
  error: SerializedError | null,
  now: number,
): StepResult {
  const startedAt = s.waiting?.since ?? now;
  return {
    taskId: s.taskId,
    step: s.step.name,
    name: s.step.name,
    status,
    success: status === 'completed',
    result: output,
    error,
    attempts: 0,
    startedAt,
    endedAt: now,
    durationMs: now - startedAt,
  };
}
