/**
 * The task scheduler: the state the TaskOrchestrator actor owns, and the one place task records change. Each task
 * is a plain record stepped through the compiled task machine (`stepTask`), so one task costs a table lookup per
 * transition, not an actor. The concerns around it live beside it: its options (`schedulerOptions.ts`), intake and
 * the task graph (`intake.ts`), the ready queue and lanes (`ready.ts`), where attempts run (`runner.ts`), durability
 * (`durability.ts`), recovery (`recovery.ts`), reading tasks (`queries.ts`), named rate limits
 * (`admission/rateLimitDefs.ts`), large calls in slices (`bulk.ts`), waiting on every open task (`waiting.ts`). The
 * machine's effects (`enqueue`, `runAction`, `finish`, ...) are in lifecycle.ts (dispatch and settling in
 * dispatch.ts, the admission gate in admission/gate.ts, finished tasks in retention.ts).
 */
import { NotFoundError, ValidationError } from '../../errors.js';
import type { Clock } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';
import type { SessionMode } from '../../model/session.js';
import type { TaskResult, TaskStatus } from '../../model/task.js';
import { isTerminal } from '../../model/task.js';
import type { TaskListFilter } from '../../model/taskRequests.js';
import type {
  FlowStatus,
  SchedulerStats,
  StartExecutionReply,
  TaskExplanation,
  TaskView,
} from '../../model/taskView.js';
import { GroupCommitter, RecordQueue } from '../../store/commits.js';
import { IdempotencyKeys } from './admission/idempotency.js';
import { TaskDurability, UNWRITTEN_MAX } from './durability.js';
import { TaskLifecycle } from './lifecycle.js';
import { TaskAdder } from './adding.js';
import { RateLimitDefs } from './admission/rateLimitDefs.js';
import { TaskQueries } from './queries.js';
import { ReadyTasks } from './ready.js';
import { recoverTasks } from './recovery.js';
import { FlowControl } from './admission/flow.js';
import { waitForOpen } from './waiting.js';
import type { TaskRecord } from './record.js';
import type { SchedulerDeps } from './schedulerOptions.js';
import type { StepDone, StepTask } from './stepEntry.js';
import { toResult } from './record.js';
import { placementQuery } from '../../workers/runner.js';

export { DEFAULT_LANE } from './ready.js';

export { ADD_SLICE } from './bulk.js';

export class TaskScheduler {
  readonly #deps: SchedulerDeps;
  readonly #clock: Clock;
  readonly #ready: ReadyTasks;
  readonly #flow: FlowControl;
  readonly #idempotency: IdempotencyKeys;
  /** Named rate limits (`ratelimit.*`), written with the next commit. */
  readonly rateLimits: RateLimitDefs;
  readonly #queries: TaskQueries;
  readonly #durable: TaskDurability;
  readonly #commits: GroupCommitter;
  readonly #life: TaskLifecycle;
  readonly #records: Map<string, TaskRecord>;
  readonly #unsubscribe: () => void;
  #order = 0;
  #closing = false;
  readonly #adder: TaskAdder;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    const clock = (this.#clock = deps.clock ?? systemClock);
    const flow = (this.#flow = new FlowControl(clock, (recs) => {
      for (const rec of recs) ready.queue(rec);
      this.#life.run();
    }));
    const ready = (this.#ready = new ReadyTasks(deps.options.agingMs, flow));
    const commits = (this.#commits = deps.commits ?? new GroupCommitter(deps.store));
    this.#durable = new TaskDurability({
      store: deps.store,
      commits,
      ackOnCommit: deps.options.ackOnCommit === true,
      unwrittenMax: deps.options.unwrittenMax ?? UNWRITTEN_MAX,
      now: () => clock.now(),
      released: (recs) => {
        for (const rec of recs) ready.queue(rec);
      },
      takeBack: (rec, err) => this.#life.takeBack(rec, err),
      committed: () => {
        // Finished results a commit has just written may leave memory now, not only when the next task finishes.
        this.#life.retention.evict();
        this.#life.run();
      },
    });
    this.#life = new TaskLifecycle({
      runner: deps.runner,
      observer: deps.observer,
      ledger: deps.ledger,
      bus: deps.bus,
      store: deps.store,
      commits,
      durable: this.#durable,
      ready,
      flow,
      clock,
      random: deps.random ?? Math.random,
      abortGraceMs: deps.options.abortGraceMs,
      retainFinished: deps.options.retainFinished,
      retainFinishedBytes: deps.options.retainFinishedBytes ?? 256 * 1024 * 1024,
      limit: deps.options.maxConcurrency,
    });
    this.#records = this.#life.records;
    const records = new RecordQueue(commits);
    const idempotency = (this.#idempotency = new IdempotencyKeys(
      deps.store,
      records,
      clock,
      deps.options.idempotencyTtlMs ?? 24 * 3600 * 1000,
    ));
    const { registry, ledger, store } = deps;
    this.#adder = new TaskAdder({
      registry,
      ledger,
      store,
      durable: this.#durable,
      life: this.#life,
      ready,
      flow,
      idempotency,
      closing: () => this.#closing,
      nextOrder: () => this.#order++,
    });
    this.rateLimits = new RateLimitDefs(flow.rates, records, () => this.#life.run());
    this.#queries = new TaskQueries(
      this.#records,
      deps.store,
      () => this.#durable.strict,
      () => ({
        now: clock.now(),
        executing: this.#life.dispatch.executing,
        running: this.#life.dispatch.dispatches,
        limit: this.#life.dispatch.limit,
        blocker: (r) => (r.held && deps.ledger ? deps.ledger.blocker(`task:${r.id}`, r.held) : null),
        flow: (r) => flow.blocker(r, clock.now()),
        placement: (r) => deps.runner.place?.(placementQuery(r.spec)) ?? null,
      }),
    );
    // Released capacity may admit parked tasks.
    const sub = deps.bus.events$('resource_released').subscribe(() => {
      if (ready.unpark()) this.#life.run();
    });
    // A runner whose room changes by itself (remote workers): parked tasks may fit now.
    const offRunner = deps.runner.onChange?.(() => {
      ready.unpark();
      this.#life.run();
    });
    this.#unsubscribe = () => {
      sub.unsubscribe();
      offRunner?.();
    };
  }

  /** Stops listening to the bus (drain does it too); safe to call twice. */
  dispose(): void {
    this.#unsubscribe();
  }

  // ---------------------------------------------------------------- commands

  /** Validates and adds tasks, all or none (adding.ts). */
  add(inputs: readonly unknown[]): string[] {
    return this.#adder.add(inputs);
  }

  /** {@link add} for a call of any size, a slice at a time without blocking the event loop for long (adding.ts). */
  addMany(inputs: readonly unknown[]): Promise<string[]> {
    return this.#adder.addMany(inputs);
  }

  /**
   * Adds one task, starts execution and resolves with its result. `paramsChecked`: its parameters were validated
   * against its action's schema before (a workflow step's, by `createWorkflow`), so intake does not do it again.
   */
  execute(input: unknown, options: { paramsChecked?: boolean } = {}): Promise<TaskResult> {
    // Not `async`: the caller gets the wait's own promise (an async wrapper adds turns to every call's answer).
    try {
      const [id] = this.#adder.add([input], options.paramsChecked === true);
      this.#setExecuting(true);
      this.#life.run();
      return this.wait(id ?? '');
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * A workflow step's task, built by the workflow layer from the validated step (stepEntry.ts): added and started
   * in this turn, its end told to `done`. Throws as {@link add} does.
   */
  executeStep(task: StepTask, done: StepDone): void {
    this.#adder.addStep(task, done);
    this.#setExecuting(true);
    this.#life.run();
  }

  /** Adds one task and starts execution; returns its id at once (its end is an event, or `wait`). */
  submit(input: unknown): string {
    const [id] = this.add([input]);
    this.#setExecuting(true);
    this.#life.run();
    return id ?? '';
  }

  /**
   * Turns dispatching on and resolves when every task that had not ended has ended, with their results in the order
   * they were added (one waiter shared by all of them: `waiting.ts`).
   */
  async startExecution(): Promise<StartExecutionReply> {
    this.#durable.refuseWhileFailing('execution was not started');
    this.#setExecuting(true);
    const done = waitForOpen(this.#records.values());
    this.#life.run();
    return done;
  }

  /** `value` once the changes made so far are durable (at once unless strict). */
  acked<T>(value: T): T | Promise<T> {
    return this.#durable.acked(value);
  }

  cancel(id: string, reason = 'cancelled by request'): { taskId: string; cancelled: boolean; status: TaskStatus } {
    const rec = this.#records.get(id);
    if (!rec) {
      const stored = this.#deps.store.getTask(id);
      if (stored) return { taskId: id, cancelled: false, status: stored.status };
      throw new NotFoundError(`no task with id "${id}"`);
    }
    if (isTerminal(rec.status)) return { taskId: id, cancelled: false, status: rec.status };
    rec.reason = reason;
    this.#life.send(rec, { type: 'task.cancel' });
    return { taskId: id, cancelled: true, status: rec.status };
  }

  /** Resolves with the task's result once it has ended. */
  wait(id: string): Promise<TaskResult> {
    const rec = this.#records.get(id);
    if (!rec) {
      const stored = this.#deps.store.getTask(id);
      if (stored && isTerminal(stored.status)) return Promise.resolve(stored.result);
      return Promise.reject(new NotFoundError(`no task with id "${id}"`));
    }
    if (isTerminal(rec.status)) {
      const result = toResult(rec);
      return this.#durable.strict && this.#durable.unwritten(rec)
        ? this.#commits.afterCommit(result)
        : Promise.resolve(result);
    }
    return new Promise((resolve, reject) => (rec.waiters = [...(rec.waiters ?? []), [resolve, reject]]));
  }

  get(id: string): TaskView | null {
    return this.#queries.get(id);
  }

  /** Tasks by status, a page at a time (queries.ts). */
  list(filter: TaskListFilter = {}): TaskView[] {
    return this.#queries.list(filter);
  }

  stats(): SchedulerStats {
    const { queued, byPriority, oldestReadyAt } = this.#ready.counts();
    return {
      executing: this.#life.dispatch.executing,
      running: this.#life.dispatch.inFlight,
      dispatches: this.#life.dispatch.dispatches,
      limit: this.#life.dispatch.limit,
      batching: { ...this.#life.dispatch.batching },
      queued,
      queuedByPriority: byPriority,
      byStatus: { ...this.#life.statusCounts },
      oldestReadyAgeMs: oldestReadyAt === null ? null : this.#clock.now() - oldestReadyAt,
      flow: {
        waitingByRule: this.#flow.waitingByRule(),
        rateLimitWaits: Object.fromEntries(this.#flow.rates.waits),
        deduplicated: this.#idempotency.deduplicated,
      },
    };
  }

  /** Opens the lane of a session: its mode orders and admits its tasks, `maxParallelTasks` bounds them. */
  openLane(sessionId: string, mode: SessionMode, maxParallelTasks: number): void {
    if (!this.#ready.openLane(sessionId, mode, maxParallelTasks))
      throw new ValidationError(`sessionId: a lane for session "${sessionId}" is already open`);
  }

  /** Cancels every task of the session that has not ended and closes its lane. Returns how many were cancelled. */
  closeLane(sessionId: string, reason: string): number {
    const lane = this.#ready.closeLane(sessionId);
    if (!lane) return 0;
    let n = 0;
    for (const rec of this.#records.values()) {
      if (rec.lane !== lane || isTerminal(rec.status)) continue;
      rec.reason = `session closed: ${reason}`;
      this.#life.send(rec, { type: 'task.cancel' });
      n++;
    }
    return n;
  }

  /** Why a task is where it is: what it waits for, in words a person can act on. */
  explain(taskId: string): TaskExplanation {
    return this.#queries.explain(taskId);
  }

  /** Flow control at a glance: the busiest concurrency keys and the tasks waiting for keys or units. */
  flowStatus(top = 10): FlowStatus {
    return {
      busiestKeys: this.#flow.busiest(top),
      keys: this.#flow.keys.size,
      waiting: this.#flow.waiting.size,
      rateLimits: this.#flow.rates.list(),
      deduplicated: this.#idempotency.deduplicated,
    };
  }

  /** Changes how many tasks may run at once. */
  setConcurrency(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1)
      throw new ValidationError(`maxConcurrency: must be an integer of at least 1 (got ${limit})`);
    this.#life.dispatch.limit = limit;
    this.#life.run();
  }

  /**
   * Refuses new tasks, lets running ones finish for up to `graceMs`, then cancels whatever has not ended (queued
   * tasks included) so that no caller waits forever, or (keepUnfinished) leaves it in the store for the next engine.
   */
  async drain(graceMs: number): Promise<void> {
    this.#closing = true;
    // A large call being added is finished first, so what drain cancels (or keeps) includes all of it.
    while (this.#adder.adding) await this.#adder.adding;
    this.#life.dispatch.executing = false;
    this.#unsubscribe();
    await this.#life.dispatch.idle(graceMs);
    if (this.#deps.options.keepUnfinished === true) this.#life.halt();
    else {
      for (const rec of this.#records.values()) {
        if (isTerminal(rec.status)) continue;
        rec.reason = 'the engine shut down before the task ended';
        this.#life.send(rec, { type: 'task.cancel' });
      }
    }
    this.#commits.flush();
  }

  /**
   * Restores the tasks a previous engine left unfinished: pending ones wait on their dependencies again, ready and
   * retrying ones queue, and running ones (interrupted) run again with their attempt counted. Call once, before
   * any command.
   */
  recover(): { resumed: number; byStatus: Record<string, number>; ids: string[]; rerun: string[]; executing: boolean } {
    const { store, registry, ledger } = this.#deps;
    const life = this.#life;
    const report = recoverTasks({
      store,
      restore: { registry, ledger, laneFor: (id) => this.#ready.laneFor(id) },
      now: () => this.#clock.now(),
      nextOrder: () => this.#order++,
      record: (id) => this.#records.get(id),
      hold: (rec) => life.hold(rec),
      push: (rec, event) => life.push(rec, event),
      queue: (rec) => this.#ready.queue(rec),
      backoff: (rec, ms) => life.backoff(rec, ms),
    });
    life.dispatch.executing = store.getMeta('scheduler.executing') === 'true';
    life.run();
    return { ...report, executing: life.dispatch.executing };
  }

  #setExecuting(on: boolean): void {
    if (this.#life.dispatch.executing === on) return;
    this.#life.dispatch.executing = on;
    this.#durable.markExecuting(on);
  }
}
