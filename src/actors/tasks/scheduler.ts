/**
 * The task scheduler: the state the TaskOrchestrator actor owns. Each task is a plain record stepped through the
 * compiled task machine (`stepTask`), so one task costs a table lookup per transition, not an actor. The machine's
 * effects (`enqueue`, `runAction`, `finish`, ...) are implemented here, against the worker pool, the bus and the
 * store.
 */
import type { MessageBus } from '../../bus/bus.js';
import type { EventMap, SchedulerStats, StartExecutionReply, TaskView } from '../../bus/protocol.js';
import { findCycle } from '../../dag/graph.js';
import type { SerializedError } from '../../errors.js';
import { CodomyrmexError, CycleError, ErrorCode, NotFoundError, ShuttingDownError, ValidationError } from '../../errors.js';
import type { TaskMachineEvent, TaskEffect } from '../../machines/task.js';
import { stepTask } from '../../machines/task.js';
import type { TaskPriority, TaskResult, TaskSpec, TaskStatus } from '../../model/task.js';
import { backoffDelayMs, isTerminal, parseTaskInput } from '../../model/task.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import type { Store, StoredTask } from '../../store/store.js';
import type { TaskChannel, WorkerPool } from '../../workers/pool.js';
import type { WorkerReply } from '../../workers/protocol.js';
import { ReadyQueue } from './queue.js';

export interface SchedulerOptions {
  /** Tasks running at once (default: the pool's capacity). */
  maxConcurrency: number;
  /** A waiting task climbs one priority level per this many ms (0 turns aging off). */
  agingMs: number;
  /** After a cooperative abort, how long a task with a channel gets before its thread is terminated. */
  abortGraceMs: number;
  /** Finished tasks kept in memory; older ones are read back from the store. */
  retainFinished: number;
}

export interface SchedulerDeps {
  pool: WorkerPool;
  registry: ModuleRegistry;
  bus: MessageBus;
  store: Store;
  options: SchedulerOptions;
  now?: () => number;
  random?: () => number;
}

type Timer = ReturnType<typeof setTimeout>;

class TaskRecord {
  status: TaskStatus = 'pending';
  attempts = 0;
  /** Dependencies not yet completed. */
  waitingOn = 0;
  dependents: string[] | null = null;
  readyAt = 0;
  startedAt: number | null = null;
  endedAt: number | null = null;
  output: unknown = null;
  error: SerializedError | null = null;
  /** Dispatch number of the attempt in flight (0 when none): how the pool finds its thread. */
  seq = 0;
  channel: TaskChannel | null = null;
  timer: Timer | null = null;
  killTimer: Timer | null = null;
  retryAt: number | null = null;
  lastDelayMs = 0;
  waiters: ((r: TaskResult) => void)[] | null = null;
  /** Why it was cancelled or skipped. */
  reason = '';

  constructor(
    readonly spec: TaskSpec,
    readonly usesChannel: boolean,
  ) {}

  get id(): string {
    return this.spec.id;
  }
  get priority(): TaskPriority {
    return this.spec.priority;
  }
  get maxRetries(): number {
    return this.spec.maxRetries;
  }
  /** In the ready queue. */
  get live(): boolean {
    return this.status === 'ready';
  }
}

const EVENT_OF: Record<TaskStatus, keyof EventMap> = {
  pending: 'task_added',
  ready: 'task_queued',
  running: 'task_started',
  retrying: 'task_retrying',
  completed: 'task_completed',
  failed: 'task_failed',
  timed_out: 'task_timed_out',
  cancelled: 'task_cancelled',
  skipped: 'task_skipped',
};

function toResult(rec: TaskRecord): TaskResult {
  const done = isTerminal(rec.status);
  return {
    taskId: rec.spec.id,
    name: rec.spec.name,
    status: rec.status,
    success: rec.status === 'completed',
    result: rec.status === 'completed' ? rec.output : null,
    error: done && rec.error ? { name: rec.error.name, code: rec.error.code, message: rec.error.message } : null,
    attempts: rec.attempts,
    startedAt: rec.startedAt,
    endedAt: rec.endedAt,
    durationMs: rec.startedAt !== null && rec.endedAt !== null ? rec.endedAt - rec.startedAt : null,
  };
}

export class TaskScheduler {
  readonly #deps: SchedulerDeps;
  readonly #records = new Map<string, TaskRecord>();
  readonly #queue: ReadyQueue<TaskRecord>;
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
  #flushScheduled = false;
  readonly #finishedOrder: string[] = [];
  #finishedHead = 0;
  readonly #statusCounts: Partial<Record<TaskStatus, number>> = {};
  #idleWaiters: (() => void)[] = [];

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#random = deps.random ?? Math.random;
    this.#queue = new ReadyQueue(deps.options.agingMs);
    this.#limit = deps.options.maxConcurrency;
  }

  // ---------------------------------------------------------------- commands

  /**
   * Validates and adds tasks, all or none. Dependencies must name tasks already added or in the same call; a cycle
   * among the new tasks is refused with a `CycleError` naming it.
   */
  add(inputs: readonly unknown[]): string[] {
    if (this.#closing) throw new ShuttingDownError();
    const problems: string[] = [];
    const specs: TaskSpec[] = [];
    const batch = new Map<string, TaskSpec>();
    const channels: boolean[] = [];
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
      if (batch.has(spec.id) || this.#exists(spec.id)) problems.push(`${label}.id: a task with id "${spec.id}" already exists; ids must be unique`);
      batch.set(spec.id, spec);
      specs.push(spec);
    });
    for (const spec of specs) {
      spec.dependencies.forEach((dep, i) => {
        if (dep === spec.id) problems.push(`task "${spec.name}".dependencies[${i}]: a task cannot depend on itself`);
        else if (!batch.has(dep) && !this.#exists(dep)) {
          problems.push(`task "${spec.name}".dependencies[${i}]: unknown task id "${dep}"; add that task first or in the same call`);
        }
      });
    }
    if (problems.length) throw new ValidationError(problems);
    const cycle = findCycle(batch.keys(), (id) => batch.get(id)?.dependencies);
    if (cycle) throw new CycleError(cycle.map((id) => batch.get(id)?.name ?? id), 'task dependency');

    const added: TaskRecord[] = [];
    specs.forEach((spec, i) => {
      const rec = new TaskRecord(spec, channels[i] ?? false);
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
        const status = d ? d.status : this.#deps.store.getTask(dep)?.status;
        if (status === 'completed') continue;
        if (status !== undefined && isTerminal(status)) {
          failedDep ??= `dependency "${d?.spec.name ?? dep}" (${dep}) ended ${status}`;
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
    return added.map((r) => r.id);
  }

  /** Adds one task, starts execution and resolves with its result. */
  async execute(input: unknown): Promise<TaskResult> {
    const [id] = this.add([input]);
    this.#executing = true;
    this.#drain();
    return this.wait(id ?? '');
  }

  /** Turns dispatching on and resolves when every task that had not ended has ended. */
  async startExecution(): Promise<StartExecutionReply> {
    this.#executing = true;
    const open = [...this.#records.values()].filter((r) => !isTerminal(r.status));
    this.#drain();
    const results = await Promise.all(open.map((r) => this.wait(r.id)));
    const byStatus: Partial<Record<TaskStatus, number>> = {};
    for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    return { total: results.length, byStatus, results };
  }

  /** Stops dispatching new tasks (running ones go on). `startExecution` or `execute` resumes. */
  pause(): void {
    this.#executing = false;
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
    if (isTerminal(rec.status)) return Promise.resolve(toResult(rec));
    return new Promise((resolve) => (rec.waiters ??= []).push(resolve));
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
    const oldest = this.#queue.oldestReadyAt();
    return {
      executing: this.#executing,
      running: this.#inFlight,
      limit: this.#limit,
      queued: this.#queue.size,
      queuedByPriority: this.#queue.countByPriority(),
      byStatus: { ...this.#statusCounts },
      oldestReadyAgeMs: oldest === null ? null : this.#now() - oldest,
    };
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
    if (this.#inFlight > 0) {
      let timer: Timer | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    for (const rec of this.#records.values()) {
      if (!isTerminal(rec.status)) {
        rec.reason = 'the engine shut down before the task ended';
        this.#send(rec, { type: 'task.cancel' });
      }
    }
    this.#flush();
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
    if (!this.#executing) return false;
    let started = false;
    const now = this.#now();
    while (this.#inFlight < this.#limit) {
      const rec = this.#queue.pop(now);
      if (!rec) break;
      this.#apply(rec, { type: 'task.start' });
      started = true;
    }
    return started && this.#inboxHead < this.#inbox.length;
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
        this.#queue.push(rec);
        return;
      case 'dequeue':
        this.#queue.forget(rec);
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
      const result = toResult(rec);
      for (const w of rec.waiters) w(result);
      rec.waiters = null;
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

  #exists(id: string): boolean {
    return this.#records.has(id) || this.#deps.store.getTask(id) !== undefined;
  }

  #count(from: TaskStatus | undefined, to: TaskStatus): void {
    if (from) this.#statusCounts[from] = (this.#statusCounts[from] ?? 1) - 1;
    this.#statusCounts[to] = (this.#statusCounts[to] ?? 0) + 1;
  }

  #announce(rec: TaskRecord): void {
    const type = EVENT_OF[rec.status];
    const bus = this.#deps.bus;
    if (!bus.wants(type)) return;
    const s = rec.spec;
    const base = { taskId: s.id, name: s.name, module: s.module, action: s.action, priority: s.priority, status: rec.status, attempt: rec.attempts };
    const durationMs = rec.startedAt !== null && rec.endedAt !== null ? rec.endedAt - rec.startedAt : null;
    const error = rec.error ?? { name: 'Error', code: ErrorCode.INTERNAL, message: 'unknown' };
    switch (rec.status) {
      case 'pending':
        bus.publish('task_added', { ...base, dependencies: s.dependencies });
        return;
      case 'ready':
        bus.publish('task_queued', base);
        return;
      case 'running':
        bus.publish('task_started', { ...base, queuedMs: this.#now() - rec.readyAt });
        return;
      case 'retrying':
        bus.publish('task_retrying', { ...base, error, delayMs: rec.lastDelayMs, retryAt: rec.retryAt ?? 0 });
        return;
      case 'completed':
        bus.publish('task_completed', { ...base, success: true, durationMs: durationMs ?? 0 });
        return;
      case 'skipped':
        bus.publish('task_skipped', { ...base, success: false, error });
        return;
      case 'failed':
      case 'timed_out':
      case 'cancelled':
        bus.publish(type as 'task_failed', { ...base, success: false, error, durationMs });
        return;
    }
  }

  #markDirty(rec: TaskRecord): void {
    if (!this.#deps.store.persistsLiveTasks && !isTerminal(rec.status)) return;
    this.#dirty.add(rec);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Writes every task changed since the last flush, in one batch. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#dirty.size === 0) return;
    const now = this.#now();
    const batch: StoredTask[] = [];
    for (const rec of this.#dirty) batch.push({ spec: rec.spec, status: rec.status, result: toResult(rec), updatedAt: now });
    this.#dirty.clear();
    try {
      this.#deps.store.putTasks(batch);
    } catch (err) {
      // The store refused the batch; the records stay in memory and the next change retries the write.
      for (const t of batch) {
        const rec = this.#records.get(t.spec.id);
        if (rec) this.#dirty.add(rec);
      }
      if (!(err instanceof CodomyrmexError)) throw err;
    }
  }

  #evictFinished(): void {
    const keep = this.#deps.options.retainFinished;
    while (this.#finishedOrder.length - this.#finishedHead > keep) {
      const id = this.#finishedOrder[this.#finishedHead];
      if (id === undefined) break;
      const rec = this.#records.get(id);
      // Not yet written to the store: keep it until the next flush has it.
      if (rec && this.#dirty.has(rec)) break;
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
    const s = rec.spec;
    return {
      id: s.id,
      name: s.name,
      module: s.module,
      action: s.action,
      priority: s.priority,
      status: rec.status,
      attempts: rec.attempts,
      dependencies: s.dependencies,
      spec: s,
      result: toResult(rec),
      retryAt: rec.retryAt,
    };
  }
}

function storedView(t: StoredTask): TaskView {
  const s = t.spec;
  return {
    id: s.id,
    name: s.name,
    module: s.module,
    action: s.action,
    priority: s.priority,
    status: t.status,
    attempts: t.result.attempts,
    dependencies: s.dependencies,
    spec: s,
    result: t.result,
    retryAt: null,
  };
}
