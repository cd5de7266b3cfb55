/**
 * A run's waiting steps (`waitFor` a signal, `sleep`, `sleepUntil`): a waiting step holds no task, thread or slot,
 * only a timer; it ends when its signal comes (kept signals included), when its time comes, or when its `waitFor`
 * times out (ending as its `onTimeout` says).
 */
import type { SerializedError } from '../../errors.js';
import { CancelledError, ValidationError, WaitTimeoutError } from '../../errors.js';
import type { Clock } from '../../model/clock.js';
import type { TaskStatus } from '../../model/task.js';
import type { StepResult } from '../../model/workflow.js';
import { parseSleep, parseTime } from '../../workflows/kinds.js';
import type { RunEvents } from './runEvents.js';
import type { RunScope } from './runScope.js';
import type { StepState } from './steps.js';
import { syntheticResult, waitResult } from './steps.js';

/** What the waits need of their run. */
export interface WaitHost {
  clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  now: () => number;
  scope: RunScope;
  events: RunEvents;
  /** Takes a signal of this name kept for the run before a step waited for it; null when none is kept. */
  takeSignal: (signal: string) => { payload: unknown } | null;
  /** Runs `fn` on the run's worklist. */
  defer: (fn: () => void) => void;
  /** Ends a step (which calls {@link StepWaits.release} for a waiting one). */
  end: (s: StepState, result: StepResult) => void;
  /** Told when a step began to wait (worth persisting). */
  changed: () => void;
}

export class StepWaits {
  readonly #host: WaitHost;
  readonly #waiting = new Set<StepState>();

  constructor(host: WaitHost) {
    this.#host = host;
  }

  /** A waiting step: holds nothing but a timer; ends on its signal, its timeout, or its time. */
  begin(s: StepState, kind: 'wait' | 'sleep' | 'sleepUntil'): void {
    const host = this.#host;
    const step = s.step;
    const now = host.now();
    const since = s.prior?.waiting?.since ?? now;
    let until: number | null;
    try {
      if (kind === 'sleep') until = since + parseSleep(step.sleep ?? 0);
      else if (kind === 'sleepUntil') until = parseTime(host.scope.resolve(step.sleepUntil));
      else until = step.waitFor?.timeoutSeconds !== undefined ? since + step.waitFor.timeoutSeconds * 1000 : null;
    } catch (err) {
      host.end(
        s,
        syntheticResult(
          s,
          'failed',
          new ValidationError(`step "${step.name}".${kind}: ${(err as Error).message}`).toJSON(),
          host.now(),
        ),
      );
      return;
    }
    const signal = kind === 'wait' ? (step.waitFor?.signal ?? null) : null;
    s.phase = 'running';
    s.startedAt = since;
    s.waiting = { signal, until, since };
    this.#waiting.add(s);
    host.events.stepWaiting(s, s.waiting);
    host.changed();
    if (signal !== null) {
      const kept = host.takeSignal(signal);
      if (kept) {
        host.defer(() => this.#wake(s, kept.payload));
        return;
      }
    }
    if (until !== null)
      s.timer = host.clock.setTimeout(() => host.defer(() => this.#due(s)), until - now, { unref: true });
  }

  /** Delivers a signal to every step waiting for it; false when none waits for it now. */
  signal(name: string, payload: unknown): boolean {
    let delivered = false;
    for (const s of [...this.#waiting]) {
      if (s.waiting?.signal !== name) continue;
      delivered = true;
      this.#host.defer(() => this.#wake(s, payload));
    }
    return delivered;
  }

  /** The signal names steps are waiting for now. */
  get awaitedSignals(): string[] {
    return [...this.#waiting].flatMap((s) => (s.waiting?.signal ? [s.waiting.signal] : []));
  }

  /** A step ended (whatever way): it no longer waits, and its timer is cleared. */
  release(s: StepState): void {
    if (!s.waiting) return;
    this.#host.clock.clearTimeout(s.timer);
    this.#waiting.delete(s);
    s.waiting = null;
    s.timer = null;
  }

  /** The run is cancelled: every waiting step ends `cancelled`. */
  cancelAll(reason: string): void {
    for (const s of [...this.#waiting])
      this.#endWaiting(
        s,
        'cancelled',
        null,
        new CancelledError(`step "${s.step.name}" stopped waiting: run cancelled (${reason})`).toJSON(),
      );
  }

  /** The engine left the run to resume elsewhere: no timer fires any more. */
  stopTimers(): void {
    for (const s of this.#waiting) this.#host.clock.clearTimeout(s.timer);
  }

  /** A waiting step's signal came: it completes with the payload. */
  #wake(s: StepState, payload: unknown): void {
    if (s.phase !== 'running' || !s.waiting) return;
    this.#endWaiting(s, 'completed', payload ?? null, null);
  }

  /** A waiting step's time came: a sleep completes; a signal wait ends as its `onTimeout` says. */
  #due(s: StepState): void {
    if (s.phase !== 'running' || !s.waiting) return;
    if (s.waiting.signal === null) {
      this.#endWaiting(s, 'completed', null, null);
      return;
    }
    const policy = s.step.waitFor?.onTimeout ?? 'fail';
    const secs = s.step.waitFor?.timeoutSeconds ?? 0;
    const error = new WaitTimeoutError(
      `step "${s.step.name}": signal "${s.waiting.signal}" did not come within ${secs} s (onTimeout: ${policy})`,
    ).toJSON();
    if (policy === 'continue') this.#endWaiting(s, 'completed', null, null);
    else this.#endWaiting(s, policy === 'skip' ? 'skipped' : 'timed_out', null, error);
  }

  #endWaiting(s: StepState, status: TaskStatus, output: unknown, error: SerializedError | null): void {
    this.#host.end(s, waitResult(s, status, output, error, this.#host.now()));
  }
}
