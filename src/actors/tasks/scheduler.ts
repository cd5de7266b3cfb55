/**
 * The task scheduler: the state the TaskOrchestrator actor owns. Each task is a plain record stepped through the
 * compiled task machine (`stepTask`), so one task costs a table lookup per transition, not an actor. The machine's
 * effects (`enqueue`, `runAction`, `finish`, ...) are implemented here, against the worker pool, the bus and the
 * store.
 */
import type { MessageBus } from '../../bus/bus.js';
import type { SchedulerStats, StartExecutionReply, TaskView } from '../../bus/protocol.js';
import { findCycle } from '../../dag/graph.js';
import { CycleError, ErrorCode, NotFoundError, ShuttingDownError, StoreError, ValidationError } from '../../errors.js';
import type { TaskMachineEvent, TaskEffect } from '../../machines/task.js';
import { stepTask } from '../../machines/task.js';
import type { TaskResult, TaskSpec, TaskStatus } from '../../model/task.js';
import { backoffDelayMs, isTerminal, parseTaskInput } from '../../model/task.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import { GroupCommitter } from '../../store/commits.js';
import type { Store, StoredTask, WriteBatch } from '../../store/store.js';
import { OPEN_TASK_STATUSES } from '../../store/store.js';
import type { WorkerPool } from '../../workers/pool.js';
import type { WorkerReply } from '../../workers/protocol.js';
import type { Allocation, Held, ResourceLedger } from '../resources/ledger.js';
import { ResourceUnavailableError } from '../../errors.js';
import type { SessionMode, TaskExplanation } from '../../bus/protocol.js';
import { explainRecord } from './explain.js';
import { Lane } from './lanes.js';
import type { TaskObserver } from './record.js';
import { announce, observe, recordView, storedView, TaskRecord, toResult } from './record.js';

/** The lane of tasks that name no session. */
export const DEFAULT_LANE = 'default';

export interface SchedulerOptions {
  /** Tasks running at once (default: the pool's capacity). */
  maxConcurrency: number;
  /** A waiting task climbs one priority level per this many ms (0 turns aging off). */
  agingMs: number;
  /** After a cooperative abort, how long a task with a channel gets before its thread is terminated. */
  abortGraceMs: number;
  /** Finished tasks kept in memory; older ones are read back from the store. */
  retainFinished: number;
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
}

export interface SchedulerDeps {
  pool: WorkerPool;
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
  now?: () => number;
  random?: () => number;
}

type Timer = ReturnType<typeof setTimeout>;

export class TaskScheduler {
  readonly #deps: SchedulerDeps;
  readonly #records = new Map<string, TaskRecord>();
  /** Lanes by session id; `default` always exists. */
  readonly #lanes = new Map<string, Lane<TaskRecord>>();
  readonly #defaultLane: Lane<TaskRecord>;
  /** Round-robin start among lanes. */
  #laneCursor = 0;
  /** Ready tasks waiting for the resources they declare. */
  #parked: TaskRecord[] = [];
  #order = 0;
  readonly #now: () => number;
  readonly #random: () => number;
  #limit: number;
  #inFlight = 0;
  #executing = false;
  #closing = false;
  // The inbox serialises transitions: effects that cause further transitions (a finished task releasing its
  // dependents) queue them instead of recursing, so long chains cannot overflow the stack and events stay ordered.
  #inbox: [TaskRecord, TaskMachineEvent][] = [];
  #inboxHead = 0;
  #draining = false;
  #dirty = new Set<TaskRecord>();
  /** The records of the commit under way (between collect and committed/failed). */
  #batch: Set<TaskRecord> | null = null;
  /** Ready records waiting for their first commit before they may be queued (strict). */
  #gated: TaskRecord[] = [];
  readonly #commits: GroupCommitter;
  readonly #ackOnCommit: boolean;
  /** The `executing` flag changed since the last commit. */
  #executingDirty = false;
  /** Shut down with unfinished tasks left for the next engine: late worker replies are ignored. */
  #halted = false;
  readonly #finishedOrder: string[] = [];
  #finishedHead = 0;
  readonly #statusCounts: Partial<Record<TaskStatus, number>> = {};
  #idleWaiters: (() => void)[] = [];

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#random = deps.random ?? Math.random;
    this.#defaultLane = new Lane<TaskRecord>(DEFAULT_LANE, 'resource_aware', Infinity, deps.options.agingMs);
    this.#lanes.set(DEFAULT_LANE, this.#defaultLane);
    // Released capacity may admit parked tasks.
    deps.bus.events$('resource_released').subscribe(() => this.#unpark());
    this.#limit = deps.options.maxConcurrency;
    this.#ackOnCommit = deps.options.ackOnCommit === true;
    this.#commits = deps.commits ?? new GroupCommitter(deps.store);
    this.#commits.register({ collect: (b) => this.#collect(b), committed: () => this.#committed(), failed: (e) => this.#failed(e) });
  }

  // ---------------------------------------------------------------- commands

  /**
   * Validates and adds tasks, all or none. Dependencies must name tasks already added or in the same call; a cycle
   * among the new tasks is refused with a `CycleError` naming it.
   */
  add(inputs: readonly unknown[]): string[] {
    if (this.#closing) throw new ShuttingDownError();
    this.#refuseWhileStoreFails('nothing was added');
    const problems: string[] = [];
    const specs: TaskSpec[] = [];
    const batch = new Map<string, TaskSpec>();
    const channels: boolean[] = [];
    const helds: (Held[] | null)[] = [];
    inputs.forEach((input, i) => {
      const where = inputs.length > 1 ? `tasks[${i}]` : 'task';
      let spec: TaskSpec;
      try {
        spec = parseTaskInput(input, where);
      } catch (err) {
        if (err instanceof ValidationError) problems.push(...err.issues);
        else throw err;
        return;
      }
      const label = `task "${spec.name}"`;
      try {
        const action = this.#deps.registry.resolve(spec.module, spec.action);
        channels.push(action.channel === true);
        this.#deps.registry.parseParams(spec.module, spec.action, spec.parameters, `${label}.parameters`);
      } catch (err) {
        if (err instanceof NotFoundError) problems.push(`${label}.module/action: ${err.message}`);
        else if (err instanceof ValidationError) problems.push(...err.issues);
        else throw err;
      }
      if (batch.has(spec.id) || this.#records.has(spec.id)) problems.push(`${label}.id: a task with id "${spec.id}" already exists; ids must be unique`);
      const lane = this.#lanes.get(spec.sessionId ?? DEFAULT_LANE);
      if (!lane || lane.closed) problems.push(`${label}.sessionId: no open session "${spec.sessionId}"; create one with engine.createSession({ userId })`);
      let held: Held[] | null = null;
      if (Object.keys(spec.resources).length) {
        if (!this.#deps.ledger) problems.push(`${label}.resources: this engine has no resource ledger`);
        else {
          try {
            held = this.#deps.ledger.parse(spec.resources, `${label}.resources`);
          } catch (err) {
            if (err instanceof ValidationError) problems.push(...err.issues);
            else throw err;
          }
        }
      }
      helds.push(held);
      batch.set(spec.id, spec);
      specs.push(spec);
    });
    // Tasks no longer held in memory: one store lookup for the whole call, not one per id.
    const lookup: string[] = [];
    for (const spec of specs) {
      if (!this.#records.has(spec.id)) lookup.push(spec.id);
      for (const dep of spec.dependencies) if (!batch.has(dep) && !this.#records.has(dep)) lookup.push(dep);
    }
    const stored = lookup.length ? this.#deps.store.getTaskStatuses(lookup) : new Map<string, TaskStatus>();
    for (const spec of specs) {
      if (stored.has(spec.id)) problems.push(`task "${spec.name}".id: a task with id "${spec.id}" already exists; ids must be unique`);
      spec.dependencies.forEach((dep, i) => {
        if (dep === spec.id) problems.push(`task "${spec.name}".dependencies[${i}]: a task cannot depend on itself`);
        else if (!batch.has(dep) && !this.#records.has(dep) && !stored.has(dep)) {
          problems.push(`task "${spec.name}".dependencies[${i}]: unknown task id "${dep}"; add that task first or in the same call`);
        }
      });
    }
    if (problems.length) throw new ValidationError(problems);
    const cycle = findCycle(batch.keys(), (id) => batch.get(id)?.dependencies);
    if (cycle) throw new CycleError(cycle.map((id) => batch.get(id)?.name ?? id), 'task dependency');

    const added: TaskRecord[] = [];
    specs.forEach((spec, i) => {
      const rec = new TaskRecord(spec, channels[i] ?? false, this.#laneFor(spec.sessionId), this.#order++, helds[i] ?? null);
      this.#records.set(spec.id, rec);
      this.#count(undefined, 'pending');
      added.push(rec);
      this.#announce(rec);
      this.#markDirty(rec);
    });
    for (const rec of added) {
      let failedDep: string | null = null;
      for (const dep of rec.spec.dependencies) {
        const d = this.#records.get(dep);
        const status = d ? d.status : stored.get(dep);
        if (status === 'completed') continue;
        if (status !== undefined && isTerminal(status)) {
          failedDep ??= `dependency "${d?.spec.name ?? dep}" (${dep}) ended ${status}`;
          continue;
        }
        rec.waitingOn++;
        if (d) (d.dependents ??= []).push(rec.id);
      }
      // Queued together, then drained once: a batch is queued whole before any of it starts, so priorities and
      // session modes order the batch rather than the order of the call.
      if (failedDep !== null) {
        rec.reason = failedDep;
        this.#inbox.push([rec, { type: 'task.dep_failed' }]);
      } else if (rec.waitingOn === 0) this.#inbox.push([rec, { type: 'task.deps_met' }]);
    }
    this.#drain();
    return added.map((r) => r.id);
  }

  /** Adds one task, starts execution and resolves with its result. */
  async execute(input: unknown): Promise<TaskResult> {
    const [id] = this.add([input]);
    this.#setExecuting(true);
    this.#drain();
    return this.wait(id ?? '');
  }

  /** Turns dispatching on and resolves when every task that had not ended has ended. */
  async startExecution(): Promise<StartExecutionReply> {
    this.#refuseWhileStoreFails('execution was not started');
    this.#setExecuting(true);
    const open = [...this.#records.values()].filter((r) => !isTerminal(r.status));
    this.#drain();
    const results = await Promise.all(open.map((r) => this.wait(r.id)));
    const byStatus: Partial<Record<TaskStatus, number>> = {};
    for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    return { total: results.length, byStatus, results };
  }


  /**
   * Returns `value` once the changes made so far are durable: at once unless strict durability is on, otherwise a
   * promise that resolves after the commit holding them (or rejects with its `StoreError`).
   */
  acked<T>(value: T): T | Promise<T> {
    return this.#ackOnCommit ? this.#commits.afterCommit(value) : value;
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
    this.#send(rec, { type: 'task.cancel' });
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
      return this.#ackOnCommit && this.#unwritten(rec) ? this.#commits.afterCommit(result) : Promise.resolve(result);
    }
    return new Promise((resolve, reject) => (rec.waiters ??= []).push([resolve, reject]));
  }

  get(id: string): TaskView | null {
    const rec = this.#records.get(id);
    if (rec) return this.#view(rec);
    const stored = this.#deps.store.getTask(id);
    return stored ? storedView(stored) : null;
  }

  list(filter: { status?: TaskStatus | TaskStatus[]; limit?: number } = {}): TaskView[] {
    const statuses = filter.status === undefined ? null : Array.isArray(filter.status) ? filter.status : [filter.status];
    const limit = filter.limit ?? Infinity;
    const out: TaskView[] = [];
    for (const rec of this.#records.values()) {
      if (out.length >= limit) break;
      if (!statuses || statuses.includes(rec.status)) out.push(this.#view(rec));
    }
    return out;
  }

  stats(): SchedulerStats {
    let oldest: number | null = null;
    let queued = this.#parked.length;
    const queuedByPriority = { critical: 0, high: 0, normal: 0, low: 0, background: 0 };
    for (const lane of this.#lanes.values()) {
      const o = lane.queue.oldestReadyAt();
      if (o !== null && (oldest === null || o < oldest)) oldest = o;
      queued += lane.queue.size;
      for (const [p, n] of Object.entries(lane.queue.countByPriority())) queuedByPriority[p as keyof typeof queuedByPriority] += n;
    }
    for (const r of this.#parked) queuedByPriority[r.priority]++;
    return {
      executing: this.#executing,
      running: this.#inFlight,
      limit: this.#limit,
      queued,
      queuedByPriority,
      byStatus: { ...this.#statusCounts },
      oldestReadyAgeMs: oldest === null ? null : this.#now() - oldest,
    };
  }

  /** Opens the lane of a session: its mode orders and admits its tasks, `maxParallelTasks` bounds them. */
  openLane(sessionId: string, mode: SessionMode, maxParallelTasks: number): void {
    if (this.#lanes.has(sessionId)) throw new ValidationError(`sessionId: a lane for session "${sessionId}" is already open`);
    this.#lanes.set(sessionId, new Lane<TaskRecord>(sessionId, mode, maxParallelTasks, this.#deps.options.agingMs));
  }

  /** Cancels every task of the session that has not ended and closes its lane. Returns how many were cancelled. */
  closeLane(sessionId: string, reason: string): number {
    const lane = this.#lanes.get(sessionId);
    if (!lane || sessionId === DEFAULT_LANE) return 0;
    lane.closed = true;
    let n = 0;
    for (const rec of this.#records.values()) {
      if (rec.lane !== lane || isTerminal(rec.status)) continue;
      rec.reason = `session closed: ${reason}`;
      this.#send(rec, { type: 'task.cancel' });
      n++;
    }
    this.#lanes.delete(sessionId);
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
      now: this.#now(),
      executing: this.#executing,
      running: this.#inFlight,
      limit: this.#limit,
      dependency: (id) => {
        const d = this.#records.get(id);
        if (d) return { name: d.spec.name, status: d.status };
        const st = this.#deps.store.getTask(id);
        return st ? { name: st.spec.name, status: st.status } : null;
      },
      blocker: (r) => (r.held && this.#deps.ledger ? this.#deps.ledger.blocker(`task:${r.id}`, r.held) : null),
    });
  }

  /** Changes how many tasks may run at once. */
  setConcurrency(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new ValidationError(`maxConcurrency: must be an integer of at least 1 (got ${limit})`);
    this.#limit = limit;
    this.#drain();
  }

  /**
   * Refuses new tasks, lets running ones finish for up to `graceMs`, then cancels whatever has not ended (queued
   * tasks included) so that no caller waits forever.
   */
  async drain(graceMs: number): Promise<void> {
    this.#closing = true;
    this.#executing = false;
    const keep = this.#deps.options.keepUnfinished === true;
    if (this.#inFlight > 0) {
      let timer: Timer | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    if (keep) this.#halt();
    else {
      for (const rec of this.#records.values()) {
        if (!isTerminal(rec.status)) {
          rec.reason = 'the engine shut down before the task ended';
          this.#send(rec, { type: 'task.cancel' });
        }
      }
    }
    this.#commits.flush();
  }

  /**
   * Stops without ending the tasks that have not ended: they stay in the store as they are (a running one as
   * `running`, so the next engine runs it again), their runs are aborted, and their callers are told.
   */
  #halt(): void {
    this.#halted = true;
    for (const rec of this.#records.values()) {
      if (isTerminal(rec.status)) continue;
      if (rec.timer) clearTimeout(rec.timer);
      rec.timer = null;
      if (rec.seq !== 0) this.#deps.pool.terminate(rec.seq);
      rec.channel?.close();
      rec.channel = null;
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

  // ---------------------------------------------------------------- the machine

  #send(rec: TaskRecord, event: TaskMachineEvent): void {
    this.#inbox.push([rec, event]);
    this.#drain();
  }

  #drain(): void {
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
        if (!this.#pump()) break;
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Starts ready tasks while there is room; true when it started any. */
  #pump(): boolean {
    // While the store fails, nothing new starts: the memory would run ahead of the disk.
    if (!this.#executing || this.#commits.fault) return false;
    let started = false;
    const now = this.#now();
    while (this.#inFlight < this.#limit) {
      const lane = this.#nextLane();
      if (!lane) break;
      const rec = lane.queue.pop(now);
      if (!rec) break;
      if (lane.admitsByResources && rec.held && !this.#admit(rec)) continue;
      lane.running++;
      this.#apply(rec, { type: 'task.start' });
      started = true;
    }
    return started || this.#inboxHead < this.#inbox.length;
  }

  /** The lane of a session id (the default lane for none, or for a session not open, e.g. after a restart). */
  #laneFor(sessionId: string | undefined): Lane<TaskRecord> {
    return (sessionId !== undefined ? this.#lanes.get(sessionId) : undefined) ?? this.#defaultLane;
  }

  /** The next lane, round-robin, that may start a task; null when none may. */
  #nextLane(): Lane<TaskRecord> | null {
    // Only the default lane (no sessions): no round-robin, and no array built on every dispatch.
    if (this.#lanes.size === 1) return this.#defaultLane.hasRoom ? this.#defaultLane : null;
    const lanes = [...this.#lanes.values()];
    for (let i = 0; i < lanes.length; i++) {
      const lane = lanes[(this.#laneCursor + i) % lanes.length];
      if (lane?.hasRoom) {
        this.#laneCursor = (this.#laneCursor + i + 1) % lanes.length;
        return lane;
      }
    }
    return null;
  }

  /**
   * Takes the resources a task declares, all or none. Parks it (ready, out of the queue) while they are held by
   * others; fails it at once when they can never fit.
   */
  #admit(rec: TaskRecord): boolean {
    const ledger = this.#deps.ledger;
    if (!ledger || !rec.held) return true;
    let alloc: Allocation | null;
    try {
      alloc = ledger.tryAllocate(`task:${rec.id}`, rec.held, rec.spec.resources);
    } catch (err) {
      if (!(err instanceof ResourceUnavailableError)) throw err;
      rec.error = { ...err.toJSON(), message: `task "${rec.spec.name}" can never run here: ${err.message}` };
      this.#apply(rec, { type: 'task.refuse' });
      return false;
    }
    if (!alloc) {
      rec.parked = true;
      this.#parked.push(rec);
      return false;
    }
    rec.allocationId = alloc.allocationId;
    return true;
  }

  /** Puts parked tasks back in their lanes (in the order they were parked) and tries to start them. */
  #unpark(): void {
    if (this.#parked.length === 0) return;
    const parked = this.#parked;
    this.#parked = [];
    for (const rec of parked) {
      if (!rec.parked || rec.status !== 'ready') continue;
      rec.parked = false;
      rec.lane.queue.push(rec);
    }
    this.#drain();
  }

  #apply(rec: TaskRecord, event: TaskMachineEvent): void {
    const step = stepTask(rec.status, rec, event);
    if (!step) return;
    const from = rec.status;
    rec.status = step.target;
    this.#count(from, step.target);
    for (const effect of step.actions) this.#effect(effect, rec, from);
    this.#announce(rec);
    this.#markDirty(rec);
  }

  #effect(effect: TaskEffect, rec: TaskRecord, from: TaskStatus): void {
    switch (effect) {
      case 'enqueue':
        rec.readyAt = this.#now();
        rec.retryAt = null;
        if (this.#ackOnCommit && !rec.committed) {
          rec.gated = true;
          this.#gated.push(rec);
        } else rec.lane.queue.push(rec);
        return;
      case 'dequeue':
        if (rec.gated) rec.gated = false;
        else if (rec.parked) {
          rec.parked = false;
          this.#parked = this.#parked.filter((r) => r !== rec);
        } else rec.lane.queue.forget(rec);
        return;
      case 'countAttempt':
        rec.attempts++;
        return;
      case 'runAction':
        this.#runAction(rec);
        return;
      case 'abortRun':
        this.#abortRun(rec);
        return;
      case 'scheduleRetry':
        this.#scheduleRetry(rec);
        return;
      case 'clearRetry':
        if (rec.timer) clearTimeout(rec.timer);
        rec.timer = null;
        rec.retryAt = null;
        return;
      case 'finish':
        this.#finish(rec, from);
        return;
    }
  }

  #runAction(rec: TaskRecord): void {
    const now = this.#now();
    rec.startedAt ??= now;
    const attempt = rec.attempts;
    const spec = rec.spec;
    const seq = this.#deps.pool.nextSeq();
    rec.seq = seq;
    const req = {
      type: 'run' as const,
      seq,
      taskId: spec.id,
      module: spec.module,
      action: spec.action,
      params: spec.parameters,
      attempt,
      idempotencyKey: spec.idempotencyKey,
      upstream: spec.upstream,
    };
    this.#inFlight++;
    let reply: Promise<WorkerReply>;
    try {
      if (rec.usesChannel) {
        const bus = this.#deps.bus;
        const run = this.#deps.pool.runWithChannel(
          req,
          {
            progress: (value) => bus.publish('task_progress', { taskId: spec.id, name: spec.name, attempt, value }),
            log: (level, message) => bus.publish('task_log', { taskId: spec.id, name: spec.name, attempt, level, message }),
          },
        );
        rec.channel = run.channel;
        reply = run.reply;
      } else {
        reply = this.#deps.pool.run(req);
      }
    } catch (err) {
      reply = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (spec.timeout !== undefined) {
      rec.timer = setTimeout(() => {
        if (rec.status !== 'running' || rec.attempts !== attempt) return;
        rec.error = {
          name: 'TaskTimeoutError',
          code: ErrorCode.TASK_TIMEOUT,
          message: `task "${spec.name}" timed out after ${spec.timeout}s (attempt ${attempt}); its worker thread was terminated`,
        };
        this.#send(rec, { type: 'task.timeout' });
      }, spec.timeout * 1000);
    }
    reply.then(
      (r) => this.#settled(rec, attempt, r, null),
      (e: unknown) => this.#settled(rec, attempt, null, e),
    );
  }

  #settled(rec: TaskRecord, attempt: number, reply: WorkerReply | null, thrown: unknown): void {
    this.#inFlight--;
    rec.lane.running--;
    // Whatever way the attempt ended (completed, failed, timed out, cancelled, worker crash), its hold goes; but
    // only after its outcome is queued below, so the task ends before a task waiting for the hold starts.
    const allocationId = rec.allocationId;
    rec.allocationId = null;
    if (this.#halted) {
      // Shut down with the task left to the next engine: this late reply is not recorded.
      if (allocationId !== null) this.#deps.ledger?.release(allocationId);
      if (this.#inFlight === 0) this.#wakeIdle();
      return;
    }
    if (rec.killTimer) clearTimeout(rec.killTimer);
    rec.killTimer = null;
    rec.seq = 0;
    const current = rec.status === 'running' && rec.attempts === attempt;
    if (current) {
      rec.channel?.close();
      rec.channel = null;
      if (rec.timer) clearTimeout(rec.timer);
      rec.timer = null;
      if (reply?.type === 'ok') {
        rec.output = reply.output;
        rec.error = null;
        this.#inbox.push([rec, { type: 'task.succeed' }]);
      } else if (reply) {
        rec.error = reply.error;
        this.#inbox.push([rec, { type: 'task.fail', retryable: reply.error.retryable !== false }]);
      } else {
        const message = thrown instanceof Error ? thrown.message : String(thrown);
        rec.error = {
          name: 'WorkerCrashedError',
          code: ErrorCode.WORKER_CRASHED,
          message: `the worker thread running task "${rec.spec.name}" died (${message}); the pool replaced it`,
          retryable: true,
        };
        this.#inbox.push([rec, { type: 'task.fail', retryable: true }]);
      }
    } else {
      rec.channel?.close();
      rec.channel = null;
    }
    if (allocationId !== null) this.#deps.ledger?.release(allocationId);
    this.#drain();
    if (this.#inFlight === 0) this.#wakeIdle();
  }

  /**
   * Stops a running attempt. Actions with a channel get a cooperative abort and `abortGraceMs` to return; then
   * (or at once, for the others) the thread running the attempt is terminated. An attempt not yet marked running by
   * its thread (still in transit) is looked for again every 2 ms until it starts or settles.
   */
  #abortRun(rec: TaskRecord): void {
    if (rec.timer) clearTimeout(rec.timer);
    rec.timer = null;
    const seq = rec.seq;
    if (seq === 0) return;
    const reason = rec.status === 'timed_out' ? 'timed out' : rec.reason || 'cancelled';
    if (rec.channel) {
      rec.channel.abort(reason);
      rec.killTimer = setTimeout(() => this.#kill(rec, seq, 0), this.#deps.options.abortGraceMs);
    } else {
      this.#kill(rec, seq, 0);
    }
  }

  #kill(rec: TaskRecord, seq: number, tries: number): void {
    rec.killTimer = null;
    if (rec.seq !== seq) return;
    if (this.#deps.pool.terminate(seq) || tries >= 5000) return;
    rec.killTimer = setTimeout(() => this.#kill(rec, seq, tries + 1), 2);
  }

  #scheduleRetry(rec: TaskRecord): void {
    const delay = backoffDelayMs(rec.spec.retry, rec.attempts, this.#random);
    rec.lastDelayMs = delay;
    rec.retryAt = this.#now() + delay;
    rec.timer = setTimeout(() => {
      rec.timer = null;
      this.#send(rec, { type: 'task.backoff_elapsed' });
    }, delay);
  }

  #finish(rec: TaskRecord, from: TaskStatus): void {
    rec.endedAt = this.#now();
    if (rec.timer) clearTimeout(rec.timer);
    rec.timer = null;
    rec.retryAt = null;
    if (rec.status === 'cancelled') {
      rec.error = { name: 'CancelledError', code: ErrorCode.CANCELLED, message: `task "${rec.spec.name}" was cancelled while ${from}: ${rec.reason || 'cancelled by request'}` };
    } else if (rec.status === 'skipped') {
      rec.error = { name: 'CancelledError', code: ErrorCode.DEPENDENCY_FAILED, message: `task "${rec.spec.name}" was skipped: ${rec.reason}` };
    } else if (rec.status === 'completed') {
      rec.error = null;
    }
    if (rec.waiters) {
      const waiters = rec.waiters;
      rec.waiters = null;
      const result = toResult(rec);
      if (this.#ackOnCommit) {
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
        const dep = this.#records.get(id);
        if (!dep || dep.status !== 'pending') continue;
        if (rec.status === 'completed') {
          if (--dep.waitingOn === 0) this.#inbox.push([dep, { type: 'task.deps_met' }]);
        } else {
          dep.reason = `dependency "${rec.spec.name}" (${rec.id}) ended ${rec.status}`;
          this.#inbox.push([dep, { type: 'task.dep_failed' }]);
        }
      }
      rec.dependents = null;
    }
    this.#finishedOrder.push(rec.id);
    this.#evictFinished();
    if (this.#inFlight === 0) queueMicrotask(() => this.#wakeIdle());
  }

  // ---------------------------------------------------------------- bookkeeping

  #count(from: TaskStatus | undefined, to: TaskStatus): void {
    if (from) this.#statusCounts[from] = (this.#statusCounts[from] ?? 1) - 1;
    this.#statusCounts[to] = (this.#statusCounts[to] ?? 0) + 1;
  }

  #announce(rec: TaskRecord): void {
    if (this.#deps.observer) observe(this.#deps.observer, rec, this.#now());
    announce(this.#deps.bus, rec, this.#now);
  }

  #markDirty(rec: TaskRecord): void {
    // A store that keeps nothing across restarts needs only finished tasks (live ones are here), unless callers wait
    // for commits (strict acks), which must then see every change written.
    if (!this.#deps.store.persistent && !this.#ackOnCommit && !isTerminal(rec.status)) return;
    this.#dirty.add(rec);
    this.#commits.schedule();
  }

  #setExecuting(on: boolean): void {
    if (this.#executing === on) return;
    this.#executing = on;
    this.#executingDirty = true;
    this.#commits.schedule();
  }

  #refuseWhileStoreFails(what: string): void {
    const fault = this.#commits.fault;
    if (fault) throw new StoreError(`${fault.message}; ${what}`, fault.code, { cause: fault });
  }

  // ---------------------------------------------------------------- the store (group commit)

  /** Hands every task changed since the last commit to the committer. */
  #collect(batch: WriteBatch): void {
    if (this.#executingDirty) {
      batch.meta['scheduler.executing'] = String(this.#executing);
      this.#executingDirty = false;
    }
    if (this.#dirty.size === 0) return;
    const now = this.#now();
    for (const rec of this.#dirty) batch.tasks.push({ spec: rec.spec, status: rec.status, result: toResult(rec), retryAt: rec.retryAt, updatedAt: now });
    this.#batch = this.#dirty;
    this.#dirty = new Set();
  }

  #committed(): void {
    const batch = this.#batch;
    this.#batch = null;
    if (batch) for (const rec of batch) rec.committed = true;
    if (this.#gated.length) {
      const gated = this.#gated;
      this.#gated = [];
      for (const rec of gated) {
        if (!rec.gated) continue;
        if (rec.committed) {
          rec.gated = false;
          rec.lane.queue.push(rec);
        } else this.#gated.push(rec);
      }
    }
    this.#drain();
  }

  /**
   * The commit failed: nothing of it is on disk. Under strict durability, tasks never committed are taken back
   * (their callers get the error, they never started); the others stay to be written by the next commit.
   */
  #failed(err: StoreError): void {
    const batch = this.#batch;
    this.#batch = null;
    this.#executingDirty = true;
    if (!batch) return;
    for (const rec of batch) {
      if (this.#ackOnCommit && !rec.committed) this.#rollback(rec, err);
      else this.#dirty.add(rec);
    }
  }

  /** Its latest state is not committed yet (changed since the last commit, or in a commit still under way). */
  #unwritten(rec: TaskRecord): boolean {
    return this.#dirty.has(rec) || this.#batch?.has(rec) === true;
  }

  #rollback(rec: TaskRecord, err: StoreError): void {
    this.#records.delete(rec.id);
    this.#dirty.delete(rec);
    this.#statusCounts[rec.status] = (this.#statusCounts[rec.status] ?? 1) - 1;
    rec.gated = false;
    const waiters = rec.waiters;
    rec.waiters = null;
    if (waiters) for (const [, reject] of waiters) reject(err);
  }

  // ---------------------------------------------------------------- recovery

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
    const recs: [TaskRecord, StoredTask][] = [];
    for (const t of open) {
      byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
      let channel = false;
      try {
        channel = this.#deps.registry.resolve(t.spec.module, t.spec.action).channel === true;
      } catch {
        // The action is gone (a module folder changed): the worker refuses it and the task fails for good.
      }
      let held: Held[] | null = null;
      try {
        held = Object.keys(t.spec.resources).length && this.#deps.ledger ? this.#deps.ledger.parse(t.spec.resources) : null;
      } catch {
        // A resource it declared is gone: admission refuses it and it fails with the reason.
      }
      const rec = new TaskRecord(t.spec, channel, this.#laneFor(t.spec.sessionId), this.#order++, held);
      rec.status = t.status;
      rec.attempts = t.result.attempts;
      rec.startedAt = t.result.startedAt;
      rec.committed = true;
      this.#records.set(rec.id, rec);
      this.#count(undefined, rec.status);
      recs.push([rec, t]);
    }
    const now = this.#now();
    for (const [rec, t] of recs) {
      switch (t.status) {
        case 'pending':
          this.#relink(rec);
          break;
        case 'ready':
          rec.readyAt = now;
          rec.lane.queue.push(rec);
          break;
        case 'running':
          rerun.push(rec.id);
          this.#send(rec, { type: 'task.interrupted' });
          break;
        case 'retrying': {
          const delay = Math.max(0, (t.retryAt ?? now) - now);
          rec.retryAt = now + delay;
          rec.timer = setTimeout(() => {
            rec.timer = null;
            this.#send(rec, { type: 'task.backoff_elapsed' });
          }, delay);
          break;
        }
        default:
          break;
      }
    }
    this.#executing = store.getMeta('scheduler.executing') === 'true';
    this.#drain();
    return { resumed: open.length, byStatus, ids: open.slice(0, 1000).map((t) => t.spec.id), rerun, executing: this.#executing };
  }

  /** Counts what a restored pending task still waits on, as `add` does. */
  #relink(rec: TaskRecord): void {
    let failedDep: string | null = null;
    for (const dep of rec.spec.dependencies) {
      const d = this.#records.get(dep);
      const status = d ? d.status : this.#deps.store.getTaskStatus(dep);
      if (status === 'completed') continue;
      if (status === undefined || isTerminal(status)) {
        failedDep ??= status === undefined ? `dependency ${dep} is not in the store` : `dependency "${d?.spec.name ?? dep}" (${dep}) ended ${status}`;
        continue;
      }
      rec.waitingOn++;
      if (d) (d.dependents ??= []).push(rec.id);
    }
    if (failedDep !== null) {
      rec.reason = failedDep;
      this.#send(rec, { type: 'task.dep_failed' });
    } else if (rec.waitingOn === 0) this.#send(rec, { type: 'task.deps_met' });
  }

  #evictFinished(): void {
    const keep = this.#deps.options.retainFinished;
    while (this.#finishedOrder.length - this.#finishedHead > keep) {
      const id = this.#finishedOrder[this.#finishedHead];
      if (id === undefined) break;
      const rec = this.#records.get(id);
      // Not yet written to the store: keep it until a commit has it.
      if (rec && this.#unwritten(rec)) break;
      this.#finishedHead++;
      this.#records.delete(id);
    }
    if (this.#finishedHead > 4096 && this.#finishedHead * 2 > this.#finishedOrder.length) {
      this.#finishedOrder.splice(0, this.#finishedHead);
      this.#finishedHead = 0;
    }
  }

  #wakeIdle(): void {
    if (this.#inFlight !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #view(rec: TaskRecord): TaskView {
    return recordView(rec);
  }
}
