/**
 * The task scheduler: the state the TaskOrchestrator actor owns, and the one place task records change. Each task
 * is a plain record stepped through the compiled task machine (`stepTask`), so one task costs a table lookup per
 * transition, not an actor. The machine's effects (`enqueue`, `runAction`, `finish`, ...) are carried out here;
 * the concerns around them live beside it: intake and the task graph (`intake.ts`), the ready queue and lanes
 * (`ready.ts`), where attempts run (`runner.ts`), and durability and recovery (`durability.ts`).
 *
 * Past 400 lines: one short method per `task.*` command plus recovery; the machine's effects are in lifecycle.ts
 * (dispatch and settling in dispatch.ts, the admission gate in admission/gate.ts, finished tasks in retention.ts),
 * large calls in slices in bulk.ts.
 */
import type { MessageBus } from '../../bus/bus.js';
import { NotFoundError, ShuttingDownError, ValidationError } from '../../errors.js';
import type { Clock } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';
import type { SessionMode } from '../../model/session.js';
import type { TaskResult, TaskStatus } from '../../model/task.js';
import { isTerminal } from '../../model/task.js';
import type { TaskListFilter } from '../../model/taskRequests.js';
import type { FlowStatus, RateLimitView, SchedulerStats, StartExecutionReply, TaskExplanation, TaskObserver, TaskView } from '../../model/taskView.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import { GroupCommitter, RecordQueue } from '../../store/commits.js';
import { IdempotencyKeys } from './admission/idempotency.js';
import type { Store } from '../../store/store.js';
import { OPEN_TASK_STATUSES } from '../../store/store.js';
import type { ResourceLedger } from '../resources/ledger.js';
import { TaskDurability, restoreRecord, UNWRITTEN_MAX } from './durability.js';
import { explainRecord } from './explain.js';
import type { IntakeContext } from './intake.js';
import { ADD_SLICE, addInSlices, takeInSlices } from './bulk.js';
import { accept, Intake, link } from './intake.js';
import { TaskLifecycle } from './lifecycle.js';
import { ReadyTasks } from './ready.js';
import { FlowControl } from './admission/flow.js';

import { parseRateLimit } from './admission/rateLimits.js';
import type { Waiter } from './record.js';
import { recordView, storedView, TaskRecord, toResult } from './record.js';
import type { TaskRunner } from '../../workers/runner.js';
import { placementQuery } from '../../workers/runner.js';

export { DEFAULT_LANE } from './ready.js';

export { ADD_SLICE } from './bulk.js';

export interface SchedulerOptions {
  /** Tasks running at once (default: the runner's capacity). */
  maxConcurrency: number;
  /** A waiting task climbs one priority level per this many ms (0 turns aging off). */
  agingMs: number;
  /** After a cooperative abort, how long a task with a channel gets before its thread is terminated. */
  abortGraceMs: number;
  /** Finished tasks kept in memory; older ones are read back from the store. */
  retainFinished: number;
  /** Bytes of finished results kept in memory, at most (default 256 MiB). */
  retainFinishedBytes?: number;
  /** Changed tasks the store has not written past which an `addTasks` call waits for it (default {@link UNWRITTEN_MAX}). */
  unwrittenMax?: number;
  /**
   * Strict durability: answer a caller only once what it is told is committed (an added task, a result), and
   * start a task only once its row is committed, so a failed write can be undone (default false).
   */
  ackOnCommit?: boolean;
  /**
   * On shutdown, leave tasks that have not ended in the store for the next engine (a running one runs again)
   * instead of cancelling them (default false; true with a persistent store).
   */
  keepUnfinished?: boolean;
  /** How long an idempotency key answers with its first task's id (default 24 h). */
  idempotencyTtlMs?: number;
}

export interface SchedulerDeps {
  runner: TaskRunner;
  /** Told of starts, retries and ends directly (metrics), without events. */
  observer?: TaskObserver | undefined;
  /** Admission of tasks that declare resources (resource_aware lanes). */
  ledger?: ResourceLedger | undefined;
  registry: ModuleRegistry;
  bus: MessageBus;
  store: Store;
  /** The engine's group committer (default: one of the scheduler's own over `store`). */
  commits?: GroupCommitter;
  options: SchedulerOptions;
  clock?: Clock;
  random?: () => number;
}

export class TaskScheduler {
  readonly #deps: SchedulerDeps;
  readonly #clock: Clock;
  readonly #ready: ReadyTasks;
  readonly #flow: FlowControl;
  readonly #idempotency: IdempotencyKeys;
  /** Writes rate limits and idempotency keys with the next commit. */
  readonly #recordQueue: RecordQueue;
  readonly #durable: TaskDurability;
  readonly #commits: GroupCommitter;
  readonly #life: TaskLifecycle;
  readonly #records: Map<string, TaskRecord>;
  readonly #unsubscribe: () => void;
  #order = 0;
  #closing = false;
  /** A large addTasks call being added (see {@link addMany}); the next one waits for it. */
  #adding: Promise<void> | null = null;
  /** The ids of the large call being added while not all of its records are held yet. */
  #reserved: ReadonlyMap<string, unknown> | null = null;

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
    const records = (this.#recordQueue = new RecordQueue(commits));
    this.#idempotency = new IdempotencyKeys(deps.store, records, clock, deps.options.idempotencyTtlMs ?? 24 * 3600 * 1000);
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

  /**
   * Validates and adds tasks, all or none. Dependencies must name tasks already added or in the same call; a cycle
   * among the new tasks is refused with a `CycleError` naming it.
   */
  add(inputs: readonly unknown[]): string[] {
    if (this.#closing) throw new ShuttingDownError();
    this.#durable.refuseWhileFailing('nothing was added');
    return this.#insert(accept(inputs, this.#intakeContext()));
  }

  /**
   * {@link add} for a call of any size without blocking the event loop for long: past `ADD_SLICE` inputs, the
   * inputs are checked, then added and queued, a slice at a time, yielding to other work between slices. The call
   * is still all or none: the decision is taken once all inputs passed; its tasks are kept out of commits and out
   * of the ready queue until all are in, then committed in one transaction and queued together. Other calls go on
   * meanwhile; another addTasks call waits for this one's tasks to be in before it is decided.
   */
  async addMany(inputs: readonly unknown[]): Promise<string[]> {
    // A store that cannot keep up paces the callers that add work in bulk (a single task is not held back).
    const behind = this.#durable.caughtUp();
    if (behind) await behind;
    if (inputs.length <= ADD_SLICE) {
      while (this.#adding) await this.#adding;
      return this.add(inputs);
    }
    if (this.#closing) throw new ShuttingDownError();
    this.#durable.refuseWhileFailing('nothing was added');
    const intake = new Intake(this.#intakeContext(), inputs.length);
    await takeInSlices(intake, inputs);
    while (this.#adding) await this.#adding;
    if (this.#closing) throw new ShuttingDownError();
    this.#durable.refuseWhileFailing('nothing was added');
    const decided = intake.finish();
    if (decided.accepted.length <= ADD_SLICE) return this.#insert(decided);
    this.#idempotency.deduplicated += decided.deduplicated;
    this.#remember(decided.accepted);
    const adding = addInSlices(
      {
        durable: this.#durable,
        life: this.#life,
        ready: this.#ready,
        create: ({ spec, channel, held, flow }) => new TaskRecord(spec, channel, this.#ready.laneFor(spec.sessionId), this.#order++, held, flow),
        reserve: (ids) => (this.#reserved = ids),
      },
      decided,
      intake.ids,
    );
    this.#adding = adding.then(
      () => undefined,
      () => undefined,
    );
    try {
      const ids = await adding;
      return decided.answer ?? ids;
    } finally {
      this.#adding = null;
    }
  }

  #intakeContext(): IntakeContext {
    return {
      registry: this.#deps.registry,
      ledger: this.#deps.ledger,
      laneOpen: (id) => this.#ready.laneOpen(id),
      record: (id) => this.#records.get(id),
      reserved: (id) => this.#reserved?.has(id) === true,
      storedStatuses: (ids) => this.#deps.store.getTaskStatuses(ids),
      evictions: () => this.#life.retention.evictions,
      idempotent: (key) => this.#idempotency.find(key),
      rateLimitProblem: (use, field) => this.#flow.rates.problem(use, field),
    };
  }

  /** Records the idempotency keys the accepted tasks took. */
  #remember(accepted: readonly { spec: { id: string; idempotencyKey?: string | undefined } }[]): void {
    for (const { spec } of accepted) if (spec.idempotencyKey !== undefined && spec.idempotencyKey !== spec.id) this.#idempotency.remember(spec.idempotencyKey, spec.id);
  }

  #insert({ accepted, stored, answer, deduplicated }: ReturnType<typeof accept>): string[] {
    this.#idempotency.deduplicated += deduplicated;
    this.#remember(accepted);
    const added = accepted.map(({ spec, channel, held, flow }) => {
      const rec = new TaskRecord(spec, channel, this.#ready.laneFor(spec.sessionId), this.#order++, held, flow);
      this.#life.hold(rec);
      this.#life.added(rec);
      return rec;
    });
    // Queued together, then drained once: a batch is queued whole before any of it starts, so priorities and
    // session modes order the batch rather than the order of the call.
    for (const rec of added) {
      const event = link(rec, (id) => this.#records.get(id), (id) => stored.get(id));
      if (event) this.#life.push(rec, event);
    }
    this.#life.run();
    return answer ?? added.map((r) => r.id);
  }

  /**
   * Adds one task, starts execution and resolves with its result. `paramsChecked`: its parameters were validated
   * against its action's schema before (a workflow step's, by `createWorkflow`), so intake does not do it again.
   */
  async execute(input: unknown, options: { paramsChecked?: boolean } = {}): Promise<TaskResult> {
    if (this.#closing) throw new ShuttingDownError();
    this.#durable.refuseWhileFailing('nothing was added');
    const [id] = this.#insert(accept([input], this.#intakeContext(), options.paramsChecked === true));
    this.#setExecuting(true);
    this.#life.run();
    return this.wait(id ?? '');
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
   * they were added. One waiter shared by all of them, not a promise each: with 200k queued tasks, a promise per
   * task stalled the event loop for about a second (allocation and the garbage collection it caused).
   */
  async startExecution(): Promise<StartExecutionReply> {
    this.#durable.refuseWhileFailing('execution was not started');
    this.#setExecuting(true);
    const open: string[] = [];
    const ended = new Map<string, TaskResult>();
    const all = new Promise<void>((resolve, reject) => {
      const waiter: Waiter = [
        (result) => {
          ended.set(result.taskId, result);
          if (ended.size === open.length) resolve();
        },
        reject,
      ];
      // One list for every task without other waiters: nothing allocated per task (waiter lists are never mutated).
      const shared: readonly Waiter[] = [waiter];
      for (const rec of this.#records.values()) {
        if (isTerminal(rec.status)) continue;
        open.push(rec.id);
        rec.waiters = rec.waiters ? [...rec.waiters, waiter] : shared;
      }
      if (open.length === 0) resolve();
    });
    this.#life.run();
    await all;
    const results = new Array<TaskResult>(open.length);
    const byStatus: Partial<Record<TaskStatus, number>> = {};
    for (let i = 0; i < open.length; i++) {
      const r = ended.get(open[i] as string) as TaskResult;
      results[i] = r;
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    }
    return { total: results.length, byStatus, results };
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
      return this.#durable.strict && this.#durable.unwritten(rec) ? this.#commits.afterCommit(result) : Promise.resolve(result);
    }
    return new Promise((resolve, reject) => (rec.waiters = [...(rec.waiters ?? []), [resolve, reject]]));
  }

  get(id: string): TaskView | null {
    const rec = this.#records.get(id);
    if (rec) return recordView(rec);
    const stored = this.#deps.store.getTask(id);
    return stored ? storedView(stored) : null;
  }

  /**
   * Tasks by status, a page at a time. A durable store written before each answer (strict durability) has every
   * task, those ended before a restart too, so the page is read there, each task still held here shown as it is
   * now; otherwise from memory.
   */
  list(filter: TaskListFilter = {}): TaskView[] {
    const statuses = filter.status === undefined ? null : Array.isArray(filter.status) ? filter.status : [filter.status];
    const store = this.#deps.store;
    if (store.persistent && this.#durable.strict) {
      return store.listTasks({ ...(statuses ? { status: statuses } : {}), ...(filter.limit !== undefined ? { limit: filter.limit } : {}), ...(filter.offset !== undefined ? { offset: filter.offset } : {}), newest: filter.newest === true }).map((t) => {
        const rec = this.#records.get(t.spec.id);
        return rec ? recordView(rec) : storedView(t);
      });
    }
    const limit = filter.limit ?? Infinity;
    let skip = filter.offset ?? 0;
    const out: TaskView[] = [];
    const records = filter.newest ? [...this.#records.values()].reverse() : this.#records.values();
    for (const rec of records) {
      if (out.length >= limit) break;
      if (statuses && !statuses.includes(rec.status)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(recordView(rec));
    }
    return out;
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
    if (!this.#ready.openLane(sessionId, mode, maxParallelTasks)) throw new ValidationError(`sessionId: a lane for session "${sessionId}" is already open`);
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
    const rec = this.#records.get(taskId);
    if (!rec) {
      const stored = this.#deps.store.getTask(taskId);
      if (!stored) throw new NotFoundError(`no task with id "${taskId}"`);
      return { taskId, status: stored.status, summary: `task "${stored.spec.name}" ended ${stored.status}${stored.result.error ? `: ${stored.result.error.message}` : ''}`, waitingOn: null };
    }
    return explainRecord(rec, {
      now: this.#clock.now(),
      executing: this.#life.dispatch.executing,
      running: this.#life.dispatch.dispatches,
      limit: this.#life.dispatch.limit,
      dependency: (id) => {
        const d = this.#records.get(id);
        if (d) return { name: d.spec.name, status: d.status };
        const st = this.#deps.store.getTask(id);
        return st ? { name: st.spec.name, status: st.status } : null;
      },
      blocker: (r) => (r.held && this.#deps.ledger ? this.#deps.ledger.blocker(`task:${r.id}`, r.held) : null),
      flow: (r) => this.#flow.blocker(r, this.#clock.now()),
      placement: (r) => this.#deps.runner.place?.(placementQuery(r.spec)) ?? null,
    });
  }

  /** Creates (or replaces) a named rate limit; tasks spend it with `rateLimit: { name, key?, units? }`. */
  createRateLimit(input: unknown): RateLimitView {
    const def = parseRateLimit(input);
    this.#flow.rates.set(def);
    this.#recordQueue.write('rate_limits', def.name, { kind: 'rate_limits', id: def.name, status: 'active', data: { name: def.name, limit: def.limit, per: def.per } });
    this.#life.run();
    return this.#flow.rates.view(def.name);
  }

  /** Restores the rate limits an earlier engine stored, then sets those given (the config's, which win). */
  restoreRateLimits(configured: readonly unknown[]): void {
    for (const r of this.#deps.store.listRecords('rate_limits')) {
      try {
        this.#flow.rates.set(parseRateLimit(r.data));
      } catch {
        // A stored limit this version cannot read: left out (create it again).
      }
    }
    for (const c of configured) this.createRateLimit(c);
  }

  /** Deletes a named rate limit; tasks waiting on it go on without it. */
  deleteRateLimit(name: string): { name: string; deleted: boolean } {
    const deleted = this.#flow.rates.delete(name);
    if (deleted) this.#recordQueue.write('rate_limits', name, { kind: 'rate_limits', id: name, delete: true });
    this.#life.run();
    return { name, deleted };
  }

  /** Every rate limit with its level and its busiest per-key buckets. */
  listRateLimits(): RateLimitView[] {
    return this.#flow.rates.list();
  }

  /** Flow control at a glance: the busiest concurrency keys and the tasks waiting for keys or units. */
  flowStatus(top = 10): FlowStatus {
    return { busiestKeys: this.#flow.busiest(top), keys: this.#flow.keys.size, waiting: this.#flow.waiting.size, rateLimits: this.#flow.rates.list(), deduplicated: this.#idempotency.deduplicated };
  }

  /** Changes how many tasks may run at once. */
  setConcurrency(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new ValidationError(`maxConcurrency: must be an integer of at least 1 (got ${limit})`);
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
    while (this.#adding) await this.#adding;
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
    const store = this.#deps.store;
    const open = store.listTasks({ status: OPEN_TASK_STATUSES });
    const byStatus: Record<string, number> = {};
    const rerun: string[] = [];
    const ctx = { registry: this.#deps.registry, ledger: this.#deps.ledger, laneFor: (id: string | undefined) => this.#ready.laneFor(id) };
    const recs = open.map((t) => {
      byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
      const rec = restoreRecord(t, this.#order++, ctx);
      this.#life.hold(rec);
      return [rec, t.retryAt] as const;
    });
    const now = this.#clock.now();
    for (const [rec, retryAt] of recs) {
      switch (rec.status) {
        case 'pending': {
          const event = link(rec, (id) => this.#records.get(id), (id) => store.getTaskStatus(id));
          if (event) this.#life.push(rec, event);
          break;
        }
        case 'ready':
          rec.readyAt = now;
          this.#ready.queue(rec);
          break;
        case 'running':
          rerun.push(rec.id);
          this.#life.push(rec, { type: 'task.interrupted' });
          break;
        case 'retrying':
          this.#life.backoff(rec, Math.max(0, (retryAt ?? now) - now));
          break;
        default:
          break;
      }
    }
    this.#life.dispatch.executing = store.getMeta('scheduler.executing') === 'true';
    this.#life.run();
    return { resumed: open.length, byStatus, ids: open.slice(0, 1000).map((t) => t.spec.id), rerun, executing: this.#life.dispatch.executing };
  }


  #setExecuting(on: boolean): void {
    if (this.#life.dispatch.executing === on) return;
    this.#life.dispatch.executing = on;
    this.#durable.markExecuting(on);
  }
}
