/**
 * Moves a run's steps along: a step whose dependencies have ended starts (a task or child run, a wait, a forEach
 * fan-out), waits for its parallel group to allow it, or is skipped by its condition; a step's end releases or
 * skips its dependents; cancelling ends the steps not started and cancels the running ones. Released steps go
 * through a worklist, not recursion, so a failure at the head of a 10,000-step chain cannot overflow the stack.
 */
import type { SerializedError } from '../../errors.js';
import { CancelledError, ConditionFalseError, ValidationError } from '../../errors.js';
import type { TaskStatus } from '../../model/task.js';
import type { StepResult } from '../../model/workflow.js';
import { stepKind } from '../../workflows/kinds.js';
import { startForEach } from './forEach.js';
import type { RunEvents } from './runEvents.js';
import type { RunScope } from './runScope.js';
import type { StepState, StepTable } from './steps.js';
import { groupAllows, releasesDependents, skippedAfter, syntheticResult } from './steps.js';
import type { StepUnits } from './stepUnits.js';
import type { StepWaits } from './stepWaits.js';

/** What the driver needs of its run. */
export interface DriverHost {
  steps: StepTable;
  scope: RunScope;
  units: StepUnits;
  events: RunEvents;
  waits: StepWaits;
  now: () => number;
  /** Items one forEach step may have. */
  maxForEachItems: number;
  /** Whether the run is being cancelled (no step starts then). */
  cancelling: () => boolean;
  /** Told after every change worth persisting. */
  changed: () => void;
  /** Told after every step's end (the run settles once every step has ended). */
  stepEnded: () => void;
}

export class StepDriver {
  readonly #host: DriverHost;
  readonly #running = new Set<StepState>();
  readonly #blocked: StepState[] = [];
  /** Steps not ended yet. */
  #open: number;
  // Steps released by an ending step are handled through this worklist, not by recursion, so a failure at the
  // head of a 10,000-step chain cannot overflow the stack.
  #work: (() => void)[] = [];
  #working = false;

  constructor(host: DriverHost, open: number) {
    this.#host = host;
    this.#open = open;
  }

  /** Whether every step has ended. */
  get allEnded(): boolean {
    return this.#open === 0;
  }

  /** Starts the run's steps: skips the dependents of steps that had failed before a restart, readies the free ones. */
  start(restoredSkips: [StepState, StepState][]): void {
    for (const [d, up] of restoredSkips) {
      const skipped = skippedAfter(d, up, this.#host.now());
      this.defer(() => this.end(d, skipped));
    }
    for (const s of this.#host.steps.order)
      if (s.phase === 'waiting' && s.waitingOn === 0) this.defer(() => this.#ready(s));
  }

  /** Runs `fn` on the worklist (at once when it is idle). */
  defer(fn: () => void): void {
    this.#work.push(fn);
    if (this.#working) return;
    this.#working = true;
    try {
      for (let i = 0; i < this.#work.length; i++) this.#work[i]?.();
    } finally {
      this.#work = [];
      this.#working = false;
    }
  }

  /** A step that ended without running, with an error of the given status. */
  #endWith(s: StepState, status: TaskStatus, error: SerializedError): void {
    this.end(s, syntheticResult(s, status, error, this.#host.now()));
  }

  /** A step whose dependencies have all ended: run it, or wait for its parallel group to allow it. */
  #ready(s: StepState): void {
    if (this.#host.cancelling()) {
      this.#endWith(
        s,
        'cancelled',
        new CancelledError(`step "${s.step.name}" did not start: the run was cancelled`).toJSON(),
      );
      return;
    }
    if (!groupAllows(s, this.#running)) {
      s.phase = 'blocked';
      this.#blocked.push(s);
      return;
    }
    this.#launch(s);
  }

  #launch(s: StepState): void {
    const step = s.step;
    if (step.when !== undefined) {
      let holds: boolean;
      try {
        holds = this.#host.scope.holds(step.when);
      } catch (err) {
        this.#endWith(s, 'failed', new ValidationError(`step "${step.name}".when: ${(err as Error).message}`).toJSON());
        return;
      }
      if (!holds) {
        s.skippedByCondition = true;
        this.#endWith(
          s,
          'skipped',
          new ConditionFalseError(`step "${step.name}" was skipped: its condition ${step.when} is false`).toJSON(),
        );
        return;
      }
    }
    const kind = stepKind(step);
    if (kind === 'wait' || kind === 'sleep' || kind === 'sleepUntil') {
      this.#host.waits.begin(s, kind);
      return;
    }
    let parameters = step.parameters ?? {};
    // A forEach step resolves its parameters once per item (they may read {{item}}).
    if (s.hasTemplates && step.forEach === undefined) {
      try {
        parameters = this.#host.scope.resolve(parameters) as Record<string, unknown>;
      } catch (err) {
        this.#endWith(
          s,
          'failed',
          new ValidationError(`step "${step.name}".parameters: ${(err as Error).message}`).toJSON(),
        );
        return;
      }
    }
    s.phase = 'running';
    s.startedAt = this.#host.now();
    this.#running.add(s);
    if (step.forEach !== undefined) {
      startForEach(s, {
        scope: this.#host.scope,
        units: this.#host.units,
        events: this.#host.events,
        now: this.#host.now,
        maxItems: this.#host.maxForEachItems,
        changed: this.#host.changed,
        end: (r) => this.end(s, r),
      });
      return;
    }
    this.#host.events.stepStarted(s, undefined);
    this.#host.units.start(s, parameters, null, (result) => this.end(s, { ...result, step: step.name }));
  }

  /** Ends a step with its result: releases or skips its dependents, and frees its parallel group. */
  end(s: StepState, result: StepResult): void {
    if (s.phase === 'done') return;
    const wasRunning = s.phase === 'running' && this.#running.has(s);
    s.phase = 'done';
    s.result = result;
    this.#running.delete(s);
    this.#host.waits.release(s);
    this.#open--;
    this.#host.scope.record(s.step.name, result);
    this.#host.events.stepEnded(s, result);
    const tolerated = releasesDependents(s, result);
    for (const d of s.dependents) {
      if (d.phase !== 'waiting') continue;
      if (tolerated) {
        if (--d.waitingOn === 0) this.defer(() => this.#ready(d));
      } else {
        const skipped = skippedAfter(d, s, this.#host.now());
        this.defer(() => this.end(d, skipped));
      }
    }
    if (wasRunning && this.#blocked.length) this.defer(() => this.#unblock());
    this.#host.changed();
    this.#host.stepEnded();
  }

  #unblock(): void {
    for (let i = 0; i < this.#blocked.length;) {
      const b = this.#blocked[i];
      if (b && groupAllows(b, this.#running)) {
        this.#blocked.splice(i, 1);
        // Inline, not deferred: the next blocked step's check must see this one running.
        this.#ready(b);
      } else i++;
    }
  }

  /** Ends the steps not started `cancelled` and cancels the running ones. */
  cancel(reason: string): void {
    for (const s of [...this.#host.steps.order]) {
      if (s.phase === 'waiting' || s.phase === 'blocked')
        this.#endWith(
          s,
          'cancelled',
          new CancelledError(`step "${s.step.name}" did not start: run cancelled (${reason})`).toJSON(),
        );
    }
    this.#blocked.length = 0;
    this.#host.waits.cancelAll(reason);
    for (const s of [...this.#running]) {
      if (s.fan) s.fan.cancel(reason);
      else this.#host.units.cancel(s, null, reason);
    }
  }
}
