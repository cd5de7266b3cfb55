/**
 * The task lifecycle carried out: the one place task records change state. Events for records go through an inbox
 * and are stepped through the compiled task machine; its effects (`enqueue`, `runAction`, `abortRun`,
 * `scheduleRetry`, `finish`, ...) are done here: queueing, admission by resources, attempts on the runner,
 * timeouts, backoff, results to waiters, releasing dependents, and keeping counts.
 *
 * Past 400 lines because these effects share the record table, the inbox and the in-flight count; splitting them
 * would hand that state to a second class through a wide interface (intake, queueing, the runner and durability
 * already live beside it). Batched dispatch (collecting a batch in `#pump`, `#dispatch`, `#batchSettled`) took it
 * to ~580: the next split is dispatch and settling (runAction to settle) into a class of their own, which needs
 * the in-flight and slot counts, the inbox and the ledger passed across.
 */
import type { MessageBus } from '../../bus/bus.js';
import { CancelledError, ResourceUnavailableError, ValidationError, serializeError, ShuttingDownError, SkippedError, TaskTimeoutError, WorkerCrashedError } from '../../errors.js';
import type { StoreError } from '../../errors.js';
import type { TaskEffect, TaskMachineEvent } from '../../machines/task.js';
import { stepTask } from '../../machines/task.js';
import type { Clock } from '../../model/clock.js';
import type { TaskStatus } from '../../model/task.js';
import { backoffDelayMs, isTerminal } from '../../model/task.js';
import type { BatchCounts, TaskObserver } from '../../model/taskView.js';
import type { GroupCommitter } from '../../store/commits.js';
import type { Store } from '../../store/store.js';
import type { WorkerReply } from '../../workers/protocol.js';
import type { ResourceLedger } from '../resources/ledger.js';
import type { TaskDurability } from './durability.js';
import { release } from './intake.js';
import type { ReadyTasks } from './ready.js';
import type { FlowControl } from './admission/flow.js';
import type { TaskRecord } from './record.js';
import { announce, observe, toResult } from './record.js';
import type { AttemptHooks, AttemptRequest, TaskRunner } from './runner.js';
import { LOCAL_WORKER, placementQuery } from './runner.js';
import { artifactScope } from '../../model/artifacts.js';

const NO_HOOKS: AttemptHooks = { progress: () => {}, log: () => {} };
/** How often a timeout that fell due while its attempt still waited for a thread looks again. */
const QUEUE_LOOK_MS = 5;

function attemptRequest(rec: TaskRecord): AttemptRequest {
  const spec = rec.spec;
  const req: AttemptRequest = { taskId: spec.id, name: spec.name, module: spec.module, action: spec.action, params: spec.parameters, attempt: rec.attempts, idempotencyKey: spec.idempotencyKey, workingDir: spec.workingDir, upstream: spec.upstream, channel: rec.usesChannel, tags: spec.placement?.tags };
  // Only workflow steps have an artifact scope (their run); a task alone stores under its own id.
  if (spec.metadata['runId'] !== undefined) req.artifactScope = artifactScope(spec.id, spec.metadata);
  if (spec.artifacts !== undefined) req.artifacts = spec.artifacts;
  if (spec.affinity !== undefined) req.affinity = spec.affinity;
  return req;
}

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
  /** Tasks running at once, at most. */
  limit: number;
  /** Whether ready tasks are dispatched. */
  executing = false;
  #inFlight = 0;
  /** Dispatches in flight (an attempt alone, or a batch): what `limit` bounds. */
  #slots = 0;
  /** The group a batch is being collected into, while #pump collects one. */
  #collecting: TaskRecord[] | null = null;
  readonly #admitFn = (rec: TaskRecord, byResources: boolean): boolean => this.#admit(rec, byResources);
  readonly #placeFn = (rec: TaskRecord): boolean => this.#place(rec);
  /** Shut down with unfinished tasks left for the next engine: late replies are ignored. */
  #halted = false;
  // The inbox serialises transitions: effects that cause further transitions (a finished task releasing its
  // dependents) queue them instead of recursing, so long chains cannot overflow the stack and events stay ordered.
  #inbox: [TaskRecord, TaskMachineEvent][] = [];
  #inboxHead = 0;
  #draining = false;
  readonly #finishedOrder: string[] = [];
  #finishedBytes = 0;
  #finishedHead = 0;
  /** Finished tasks dropped from memory so far (intake checks whether its store lookups still hold). */
  evictions = 0;
  readonly statusCounts: Partial<Record<TaskStatus, number>> = {};
  readonly batching: BatchCounts = { batches: 0, tasks: 0, handedBack: 0, threadLost: 0 };
  #idleWaiters: (() => void)[] = [];

  constructor(deps: LifecycleDeps) {
    this.#deps = deps;
    this.#clock = deps.clock;
    this.#ready = deps.ready;
    this.#durable = deps.durable;
    this.#commits = deps.commits;
    this.limit = deps.limit;
  }

  /** Attempts in flight. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Dispatches in flight (what `limit` bounds). */
  get dispatches(): number {
    return this.#slots;
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

  /** Resolves once no attempt is in flight, or after `graceMs`. */
  async idle(graceMs: number): Promise<void> {
    if (this.#inFlight === 0) return;
    let timer = null;
    await Promise.race([
      new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
      new Promise<void>((resolve) => (timer = this.#clock.setTimeout(resolve, graceMs))),
    ]);
    this.#clock.clearTimeout(timer);
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
        if (!this.#pump()) break;
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Starts ready tasks while there is room; true when it started any (or queued transitions). */
  #pump(): boolean {
    // While the store fails, nothing new starts: the memory would run ahead of the disk.
    if (!this.executing || this.#commits.fault) return false;
    let started = false;
    const now = this.#clock.now();
    const admit = this.#admitFn;
    const runner = this.#deps.runner;
    const place = runner.place ? this.#placeFn : undefined;
    while (this.#slots < this.limit && runner.hasRoom?.() !== false) {
      const rec = this.#ready.next(now, admit, place);
      if (!rec) break;
      started = true;
      const most = this.#batchLimit(rec);
      // A batch forms only from what already waits, shared out among the free slots: a lone task goes alone.
      const want = most > 1 ? Math.min(most, Math.ceil((this.#ready.queued + 1) / Math.min(this.limit - this.#slots, runner.batchLanes ?? Infinity))) : 1;
      if (want <= 1) {
        this.#start(rec);
        continue;
      }
      const group: TaskRecord[] = [rec];
      this.#collecting = group;
      this.#start(rec);
      let size = want;
      while (group.length < size) {
        const next = this.#ready.peek(now);
        const limit = next ? this.#batchLimit(next) : 1;
        if (!next || limit <= 1 || !this.#deps.flow.admitsNow(next, now)) break;
        size = Math.min(size, limit);
        // The task just looked at: a batchable one declares no resources, batching runners do not route, and its
        // keys and units were just checked, so neither admission nor placement can turn it away.
        const taken = this.#ready.next(now, admit, place);
        if (!taken) break;
        group.push(taken);
        this.#start(taken);
      }
      this.#collecting = null;
      this.#dispatch(group);
    }
    return started || this.#inboxHead < this.#inbox.length;
  }

  /** Moves a task to running (its `runAction` either dispatches it or, while a batch is collected, joins it). */
  #start(rec: TaskRecord): void {
    rec.lane.running++;
    this.#apply(rec, { type: 'task.start' });
  }

  /**
   * Attempts of this task's action one batch may carry now (1: it runs alone). A limit set below the runner's
   * capacity is taken as "at most this many started at once" and turns batching off (a batch's tasks all count as
   * running while its thread runs them one after another).
   */
  #batchLimit(rec: TaskRecord): number {
    const runner = this.#deps.runner;
    if (rec.usesChannel || rec.held || rec.alone || !runner.batchLimit || !runner.startBatch || runner.place || this.limit < runner.capacity) return 1;
    return runner.batchLimit(rec.spec.module, rec.spec.action);
  }

  /**
   * Admits a task: its concurrency keys and rate-limit units (it waits for the one that holds it back), then the
   * resources it declares (`byResources`), all or none: parked while they are held by others, failed at once when
   * they can never fit (or are gone). Keys and units are taken only once everything admits.
   */
  #admit(rec: TaskRecord, byResources: boolean): boolean {
    if (rec.refusal !== null) return this.#refuse(rec, rec.refusal);
    const flow = this.#deps.flow;
    const now = this.#clock.now();
    if (rec.flow) {
      try {
        if (!flow.check(rec, now)) return false;
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        return this.#refuse(rec, err.message);
      }
    }
    const ledger = this.#deps.ledger;
    if (byResources && ledger && rec.held) {
      try {
        const alloc = ledger.tryAllocate(`task:${rec.id}`, rec.held, rec.spec.resources);
        if (!alloc) {
          this.#ready.park(rec);
          return false;
        }
        rec.allocationId = alloc.allocationId;
      } catch (err) {
        if (!(err instanceof ResourceUnavailableError)) throw err;
        return this.#refuse(rec, err.message);
      }
    }
    flow.take(rec, now);
    return true;
  }

  /**
   * A routing runner (remote workers) with no free worker for this task: it waits parked until the runner has room
   * again (its onChange), and the next task is tried.
   */
  #place(rec: TaskRecord): boolean {
    if (this.#deps.runner.place?.(placementQuery(rec.spec)) == null) return true;
    this.#ready.park(rec);
    return false;
  }

  #refuse(rec: TaskRecord, why: string): false {
    rec.error = new ResourceUnavailableError(`task "${rec.spec.name}" can never run here: ${why}`).toJSON();
    this.#apply(rec, { type: 'task.refuse' });
    return false;
  }

  #apply(rec: TaskRecord, event: TaskMachineEvent): void {
    const step = stepTask(rec.status, rec, event);
    if (!step) return;
    const from = rec.status;
    rec.status = step.target;
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
      case 'countAttempt':
        rec.attempts++;
        return;
      case 'uncountAttempt':
        rec.attempts--;
        return;
      case 'runAction':
        this.#runAction(rec);
        return;
      case 'abortRun':
        this.#abortRun(rec);
        return;
      case 'scheduleRetry': {
        const delay = backoffDelayMs(rec.spec.retry, rec.attempts, this.#deps.random);
        rec.lastDelayMs = delay;
        this.backoff(rec, delay);
        return;
      }
      case 'clearRetry':
        this.#clearTimer(rec);
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

  #clearTimer(rec: TaskRecord): void {
    this.#clock.clearTimeout(rec.timer);
    rec.timer = null;
  }

  #runAction(rec: TaskRecord): void {
    rec.startedAt ??= this.#clock.now();
    // Known once dispatched (a batch being collected only ever goes to the engine's own threads: `local`).
    rec.worker = null;
    const attempt = rec.attempts;
    const spec = rec.spec;
    this.#inFlight++;
    if (spec.timeout !== undefined) this.#armTimeout(rec, attempt, spec.timeout * 1000);
    // Collecting a batch: it goes out with the others (see #dispatch).
    if (this.#collecting === null) this.#dispatchOne(rec, attempt);
  }

  /**
   * The attempt's hard timeout, counted from when a thread takes it: what it waited for a thread before (a thread
   * being replaced after a kill, still booting) is queue time. When it is due, an attempt that has run less than
   * the timeout gets the rest, and one still waiting is looked at again every {@link QUEUE_LOOK_MS}.
   */
  #armTimeout(rec: TaskRecord, attempt: number, timeoutMs: number, delayMs = timeoutMs, sentAt = this.#clock.now()): void {
    rec.timer = this.#clock.setTimeout(() => {
      rec.timer = null;
      if (rec.status !== 'running' || rec.attempts !== attempt) return;
      const queued = rec.run?.queuedMs?.();
      if (queued === null) return this.#armTimeout(rec, attempt, timeoutMs, QUEUE_LOOK_MS, sentAt);
      const left = timeoutMs - (this.#clock.now() - sentAt - (queued ?? 0));
      if (left >= 1) return this.#armTimeout(rec, attempt, timeoutMs, left, sentAt);
      rec.error = new TaskTimeoutError(`task "${rec.spec.name}" timed out after ${rec.spec.timeout}s (attempt ${attempt}); its worker thread was terminated`).toJSON();
      this.send(rec, { type: 'task.timeout' });
    }, delayMs);
  }

  #dispatchOne(rec: TaskRecord, attempt: number): void {
    this.#slots++;
    rec.batched = false;
    const run = this.#deps.runner.start(attemptRequest(rec), rec.usesChannel ? this.#hooks(rec, attempt) : NO_HOOKS);
    rec.run = run;
    rec.worker = run.worker ?? LOCAL_WORKER;
    run.reply.then(
      (r) => this.#settled(rec, attempt, r, null),
      (e: unknown) => this.#settled(rec, attempt, null, e),
    );
  }

  #hooks(rec: TaskRecord, attempt: number): AttemptHooks {
    const spec = rec.spec;
    const bus = this.#deps.bus;
    return {
      progress: (value) => bus.publish('task_progress', { taskId: spec.id, name: spec.name, attempt, value }),
      log: (level, message) => bus.publish('task_log', { taskId: spec.id, name: spec.name, attempt, level, message }),
    };
  }

  /** Sends a collected group: alone when it is one task, else as one batch taking one slot. */
  #dispatch(group: TaskRecord[]): void {
    if (group.length === 1) {
      const rec = group[0] as TaskRecord;
      this.#dispatchOne(rec, rec.attempts);
      return;
    }
    const runner = this.#deps.runner;
    if (!runner.startBatch) throw new Error('a batch was collected for a runner that cannot batch');
    this.#slots++;
    this.batching.batches++;
    this.batching.tasks += group.length;
    const attempts = group.map((rec) => rec.attempts);
    const batch = runner.startBatch(group.map(attemptRequest));
    for (let i = 0; i < group.length; i++) {
      const rec = group[i] as TaskRecord;
      rec.batched = true;
      rec.run = batch.attempts[i] ?? null;
      rec.worker = rec.run?.worker ?? LOCAL_WORKER;
    }
    batch.replies.then(
      (replies) => this.#batchSettled(group, attempts, replies, null),
      (e: unknown) => this.#batchSettled(group, attempts, null, e),
    );
  }

  #batchSettled(group: TaskRecord[], attempts: number[], replies: (WorkerReply | null)[] | null, thrown: unknown): void {
    this.#slots--;
    for (let i = 0; i < group.length; i++) {
      const rec = group[i] as TaskRecord;
      const attempt = attempts[i] as number;
      if (replies) this.#settle(rec, attempt, replies[i] ?? null, null, replies[i] ? 'done' : 'handed_back');
      else this.#settle(rec, attempt, null, thrown, 'thread_lost');
    }
    if (!this.#halted) this.run();
    if (this.#inFlight === 0) this.#wakeIdle();
  }

  #settled(rec: TaskRecord, attempt: number, reply: WorkerReply | null, thrown: unknown): void {
    this.#slots--;
    this.#settle(rec, attempt, reply, thrown, 'done');
    if (!this.#halted) this.run();
    if (this.#inFlight === 0) this.#wakeIdle();
  }

  /**
   * Records how an attempt ended. `handed_back`: a batch returned it unstarted; `thread_lost`: its batch's
   * thread died (a batch-mate crashed it, or was terminated): either way it queues again, uncounted, and after
   * a lost thread it runs alone (a task that crashes its thread then fails by itself).
   */
  #settle(rec: TaskRecord, attempt: number, reply: WorkerReply | null, thrown: unknown, how: 'done' | 'handed_back' | 'thread_lost'): void {
    this.#inFlight--;
    rec.lane.running--;
    // Whatever way the attempt ended (completed, failed, timed out, cancelled, worker crash), its hold goes; but
    // only after its outcome is queued below, so the task ends before a task waiting for the hold starts.
    const allocationId = rec.allocationId;
    rec.allocationId = null;
    // The worker that ended it (a remote attempt may have moved to another worker of its group).
    const worker = rec.run?.worker;
    rec.run?.close();
    rec.run = null;
    this.#clock.clearTimeout(rec.graceTimer);
    rec.graceTimer = null;
    if (this.#halted) {
      // Shut down with the task left to the next engine: this late reply is not recorded.
      if (allocationId !== null) this.#deps.ledger?.release(allocationId);
      this.#deps.flow.release(rec);
      return;
    }
    if (reply) this.#deps.runner.learn?.(rec.spec.module, rec.spec.action, reply);
    if (rec.status === 'running' && rec.attempts === attempt) {
      this.#clearTimer(rec);
      if (worker !== undefined) rec.worker = worker;
      if (how !== 'done') {
        if (how === 'thread_lost') {
          rec.alone = true;
          this.batching.threadLost++;
        } else this.batching.handedBack++;
        this.#inbox.push([rec, { type: 'task.requeue' }]);
      } else if (reply?.type === 'ok') {
        rec.output = reply.output;
        rec.artifacts = reply.artifacts ?? null;
        rec.outputBytes = reply.bytes ?? 0;
        rec.binary = reply.binary === true;
        rec.error = null;
        this.#inbox.push([rec, { type: 'task.succeed' }]);
      } else if (reply) {
        rec.error = reply.error;
        this.#inbox.push([rec, { type: 'task.fail', retryable: reply.error.retryable !== false }]);
      } else {
        const message = serializeError(thrown).message;
        rec.error = new WorkerCrashedError(`the worker thread running task "${rec.spec.name}" died (${message}); the pool replaced it`).toJSON();
        this.#inbox.push([rec, { type: 'task.fail', retryable: true }]);
      }
    }
    if (allocationId !== null) this.#deps.ledger?.release(allocationId);
    this.#deps.flow.release(rec);
  }

  /**
   * Stops a running attempt. Actions with a channel get a cooperative abort and `abortGraceMs` to return; then (or
   * at once, for the others) the attempt is killed: its thread is terminated, or, not started yet, it never runs.
   */
  #abortRun(rec: TaskRecord): void {
    this.#clearTimer(rec);
    const run = rec.run;
    if (!run) return;
    const reason = rec.status === 'timed_out' ? 'timed out' : rec.reason || 'cancelled';
    if (run.abort(reason)) rec.graceTimer = this.#clock.setTimeout(() => run.kill(), this.#deps.abortGraceMs);
    else run.kill();
  }

  #finish(rec: TaskRecord, from: TaskStatus): void {
    rec.endedAt = this.#clock.now();
    this.#clearTimer(rec);
    rec.retryAt = null;
    if (rec.status === 'cancelled') {
      rec.error = new CancelledError(`task "${rec.spec.name}" was cancelled while ${from}: ${rec.reason || 'cancelled by request'}`).toJSON();
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
    this.#finishedOrder.push(rec.id);
    this.#finishedBytes += rec.outputBytes;
    this.evictFinished();
    if (this.#inFlight === 0) queueMicrotask(() => this.#wakeIdle());
  }

  /**
   * Stops without ending the tasks that have not ended: they stay in the store as they are (a running one as
   * `running`, so the next engine runs it again), their attempts are killed, and their callers are told.
   */
  halt(): void {
    this.#halted = true;
    for (const rec of this.records.values()) {
      if (isTerminal(rec.status)) continue;
      this.#clearTimer(rec);
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
    if (this.#deps.observer) observe(this.#deps.observer, rec, this.#clock.now());
    announce(this.#deps.bus, rec, () => this.#clock.now());
  }


  /** A record a failed commit never wrote (strict): it is forgotten and its callers get the error. */
  takeBack(rec: TaskRecord, err: StoreError): void {
    this.records.delete(rec.id);
    this.statusCounts[rec.status] = (this.statusCounts[rec.status] ?? 1) - 1;
    const waiters = rec.waiters;
    rec.waiters = null;
    if (waiters) for (const [, reject] of waiters) reject(err);
  }

  /**
   * Drops the oldest finished records past `retainFinished` (count) or `retainFinishedBytes` (their results), in the
   * order they finished, stopping at the first one no commit has written yet. Runs when a task finishes and when a
   * commit lands.
   */
  evictFinished(): void {
    const keep = this.#deps.retainFinished;
    const keepBytes = this.#deps.retainFinishedBytes;
    while (this.#finishedOrder.length - this.#finishedHead > keep || (this.#finishedBytes > keepBytes && this.#finishedHead < this.#finishedOrder.length)) {
      const id = this.#finishedOrder[this.#finishedHead];
      if (id === undefined) break;
      const rec = this.records.get(id);
      // Not yet written to the store: keep it until a commit has it.
      if (rec && this.#durable.unwritten(rec)) break;
      this.#finishedHead++;
      this.evictions++;
      this.records.delete(id);
      if (rec) this.#finishedBytes -= rec.outputBytes;
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
}
