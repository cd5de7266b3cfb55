/**
 * The task lifecycle carried out: the one place task records change state. Events for records go through an inbox
 * and are stepped through the compiled task machine, whose step gives the next status, context and effects. The
 * effects are done here (queueing, backoff, ending a task: results to waiters, releasing dependents, counts) or by
 * the parts beside it: dispatch and settling (`dispatch.ts`, through its narrow context), the admission gate
 * (`admission/gate.ts`) and the memory bound on finished tasks (`retention.ts`).
 */
import type { MessageBus } from '../../bus/bus.js';
import { CancelledError, ResourceUnavailableError, ShuttingDownError, SkippedError } from '../../errors.js';
import type { StoreError } from '../../errors.js';
import type { TaskEffect, TaskMachineEvent } from '../../machines/task.js';
import { stepTask } from '../../machines/task.js';
import type { Clock } from '../../model/clock.js';
import type { TaskStatus } from '../../model/task.js';
import { backoffDelayMs, isTerminal } from '../../model/task.js';
import type { TaskObserver } from '../../model/taskView.js';
import type { GroupCommitter } from '../../store/commits.js';
import type { Store } from '../../store/store.js';
import type { ResourceLedger } from '../resources/ledger.js';
import { AdmissionGate } from './admission/gate.js';
import type { FlowControl } from './admission/flow.js';
import { Dispatcher } from './dispatch.js';
import type { TaskDurability } from './durability.js';
import { release } from './intake.js';
import type { ReadyTasks } from './ready.js';
import type { TaskRecord } from './record.js';
import { announce, clearTimer, observe, toResult } from './record.js';
import { FinishedRetention } from './retention.js';
import type { TaskRunner } from '../../workers/runner.js';

export interface LifecycleDeps {
  runner: TaskRunner;
  observer?: TaskObserver | undefined;
  ledger?: ResourceLedger | undefined;
  bus: MessageBus;
  store: Store;
  commits: GroupCommitter;
  durable: TaskDurability;
  ready: ReadyTasks;
  /** Concurrency keys and rate limits (`admission/`). */
  flow: FlowControl;
  clock: Clock;
  random: () => number;
  abortGraceMs: number;
  retainFinished: number;
  /** Bytes of finished tasks' results kept in memory, at most (older ones are read from the store). */
  retainFinishedBytes: number;
  limit: number;
}

export class TaskLifecycle {
  readonly #deps: LifecycleDeps;
  readonly #clock: Clock;
  readonly #ready: ReadyTasks;
  readonly #durable: TaskDurability;
  readonly #commits: GroupCommitter;
  /** Every task held in memory: those not ended, and the most recent finished ones. */
  readonly records = new Map<string, TaskRecord>();
  /** Dispatch and settling: the limit, whether ready tasks run, attempts in flight, batching counts. */
  readonly dispatch: Dispatcher;
  /** The finished tasks kept in memory. */
  readonly retention: FinishedRetention;
  // The inbox serialises transitions: effects that cause further transitions (a finished task releasing its
  // dependents) queue them instead of recursing, so long chains cannot overflow the stack and events stay ordered.
  #inbox: [TaskRecord, TaskMachineEvent][] = [];
  #inboxHead = 0;
  #draining = false;
  readonly statusCounts: Partial<Record<TaskStatus, number>> = {};

  constructor(deps: LifecycleDeps) {
    this.#deps = deps;
    this.#clock = deps.clock;
    this.#ready = deps.ready;
    this.#durable = deps.durable;
    this.#commits = deps.commits;
    const gate = new AdmissionGate({
      flow: deps.flow,
      ledger: deps.ledger,
      ready: deps.ready,
      runner: deps.runner,
      clock: deps.clock,
      refuse: (rec, why) => this.#refuse(rec, why),
    });
    this.dispatch = new Dispatcher(
      {
        runner: deps.runner,
        bus: deps.bus,
        ready: deps.ready,
        flow: deps.flow,
        gate,
        clock: deps.clock,
        abortGraceMs: deps.abortGraceMs,
        limit: deps.limit,
      },
      {
        apply: (rec, event) => this.#apply(rec, event),
        push: (rec, event) => this.push(rec, event),
        send: (rec, event) => this.send(rec, event),
        run: () => this.run(),
      },
    );
    this.retention = new FinishedRetention({
      records: this.records,
      durable: deps.durable,
      retainFinished: deps.retainFinished,
      retainFinishedBytes: deps.retainFinishedBytes,
    });
  }

  /** Holds a new record (added or restored) and counts it. */
  hold(rec: TaskRecord): void {
    this.records.set(rec.id, rec);
    this.#count(undefined, rec.status);
  }

  /** Queues an event for a record; it is applied by the next {@link run}. */
  push(rec: TaskRecord, event: TaskMachineEvent): void {
    this.#inbox.push([rec, event]);
  }

  /** Applies an event now (and whatever it causes). */
  send(rec: TaskRecord, event: TaskMachineEvent): void {
    this.#inbox.push([rec, event]);
    this.run();
  }

  /** Announces a new record (its `task_added`) and marks it for the next commit. */
  added(rec: TaskRecord): void {
    this.#announce(rec);
    this.#durable.markDirty(rec);
  }

  /** Applies queued events and starts what may start, until nothing more changes. */
  run(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (;;) {
        while (this.#inboxHead < this.#inbox.length) {
          const item = this.#inbox[this.#inboxHead++];
          if (item) this.#apply(item[0], item[1]);
        }
        this.#inbox = [];
        this.#inboxHead = 0;
        // While the store fails, nothing new starts: the memory would run ahead of the disk.
        if (this.#commits.fault) break;
        const started = this.dispatch.pump();
        if (!started && this.#inboxHead >= this.#inbox.length) break;
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Fails a task admission can never let through. */
  #refuse(rec: TaskRecord, why: string): void {
    rec.error = new ResourceUnavailableError(`task "${rec.spec.name}" can never run here: ${why}`).toJSON();
    this.#apply(rec, { type: 'task.refuse' });
  }

  #apply(rec: TaskRecord, event: TaskMachineEvent): void {
    const step = stepTask(rec.status, rec, event);
    if (!step) return;
    const from = rec.status;
    rec.status = step.target;
    rec.attempts = step.context.attempts;
    this.#count(from, step.target);
    for (const effect of step.actions) this.#effect(effect, rec, from);
    this.#announce(rec);
    this.#durable.markDirty(rec);
  }

  #effect(effect: TaskEffect, rec: TaskRecord, from: TaskStatus): void {
    switch (effect) {
      case 'enqueue':
        rec.readyAt = this.#clock.now();
        rec.retryAt = null;
        if (!this.#durable.gate(rec)) this.#ready.queue(rec);
        return;
      case 'dequeue':
        this.#ready.leave(rec);
        return;
      case 'runAction':
        this.dispatch.runAction(rec);
        return;
      case 'abortRun':
        this.dispatch.abortRun(rec);
        return;
      case 'scheduleRetry': {
        const delay = backoffDelayMs(rec.spec.retry, rec.attempts, this.#deps.random);
        rec.lastDelayMs = delay;
        this.backoff(rec, delay);
        return;
      }
      case 'clearRetry':
        clearTimer(rec, this.#clock);
        rec.retryAt = null;
        return;
      case 'finish':
        this.#finish(rec, from);
        return;
    }
  }

  /** Waits out a backoff, then queues the task again. */
  backoff(rec: TaskRecord, delayMs: number): void {
    rec.retryAt = this.#clock.now() + delayMs;
    rec.timer = this.#clock.setTimeout(() => {
      rec.timer = null;
      this.send(rec, { type: 'task.backoff_elapsed' });
    }, delayMs);
  }

  #finish(rec: TaskRecord, from: TaskStatus): void {
    rec.endedAt = this.#clock.now();
    clearTimer(rec, this.#clock);
    rec.retryAt = null;
    if (rec.status === 'cancelled') {
      rec.error = new CancelledError(
        `task "${rec.spec.name}" was cancelled while ${from}: ${rec.reason || 'cancelled by request'}`,
      ).toJSON();
    } else if (rec.status === 'skipped') {
      rec.error = new SkippedError(`task "${rec.spec.name}" was skipped: ${rec.reason}`).toJSON();
    } else if (rec.status === 'completed') {
      rec.error = null;
    }
    if (rec.waiters) {
      const waiters = rec.waiters;
      rec.waiters = null;
      const result = toResult(rec);
      if (this.#durable.strict) {
        this.#commits.onCommit(
          () => {
            for (const [resolve] of waiters) resolve(result);
          },
          (err) => {
            for (const [, reject] of waiters) reject(err);
          },
        );
      } else for (const [resolve] of waiters) resolve(result);
    }
    if (rec.dependents) {
      for (const id of rec.dependents) {
        const dep = this.records.get(id);
        const event = dep ? release(dep, rec) : null;
        if (dep && event) this.#inbox.push([dep, event]);
      }
      rec.dependents = null;
    }
    this.retention.finished(rec);
    this.dispatch.taskEnded();
  }

  /**
   * Stops without ending the tasks that have not ended: they stay in the store as they are (a running one as
   * `running`, so the next engine runs it again), their attempts are killed, and their callers are told.
   */
  halt(): void {
    this.dispatch.halt();
    for (const rec of this.records.values()) {
      if (isTerminal(rec.status)) continue;
      clearTimer(rec, this.#clock);
      if (rec.run?.leave) rec.run.leave();
      else rec.run?.kill();
      const waiters = rec.waiters;
      rec.waiters = null;
      if (waiters) {
        const err = new ShuttingDownError(
          `the engine shut down before task "${rec.spec.name}" (${rec.id}) ended; it stays ${rec.status} in ${this.#deps.store.location} and resumes when an engine opens that store again`,
        );
        for (const [, reject] of waiters) reject(err);
      }
    }
  }

  // ---------------------------------------------------------------- bookkeeping

  #count(from: TaskStatus | undefined, to: TaskStatus): void {
    if (from) this.statusCounts[from] = (this.statusCounts[from] ?? 1) - 1;
    this.statusCounts[to] = (this.statusCounts[to] ?? 0) + 1;
  }

  #announce(rec: TaskRecord): void {
    if (this.#deps.observer) observe(this.#deps.observer, rec, this.#clock);
    announce(this.#deps.bus, rec, this.#clock);
  }

  /** A record a failed commit never wrote (strict): it is forgotten and its callers get the error. */
  takeBack(rec: TaskRecord, err: StoreError): void {
    this.records.delete(rec.id);
    this.statusCounts[rec.status] = (this.statusCounts[rec.status] ?? 1) - 1;
    const waiters = rec.waiters;
    rec.waiters = null;
    if (waiters) for (const [, reject] of waiters) reject(err);
  }
}
