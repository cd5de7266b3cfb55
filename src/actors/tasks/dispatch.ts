/**
 * Dispatch and settling: taking ready tasks out of the ready queue while there is room (alone, or collected into a
 * batch for one thread), starting their attempts on the runner with their timeouts, and turning each attempt's end
 * into the task machine's next event. It changes no task's state itself: it asks the lifecycle through
 * {@link DispatchContext}, the narrow interface it is given.
 */
import type { MessageBus } from '../../bus/bus.js';
import { serializeError, TaskTimeoutError, WorkerCrashedError } from '../../errors.js';
import type { TaskMachineEvent } from '../../machines/task.js';
import type { Clock } from '../../model/clock.js';
import type { BatchCounts } from '../../model/taskView.js';
import type { WorkerReply } from '../../workers/protocol.js';
import type { AdmissionGate } from './admission/gate.js';
import type { FlowControl } from './admission/flow.js';
import type { ReadyTasks } from './ready.js';
import type { TaskRecord } from './record.js';
import { clearTimer } from './record.js';
import type { AttemptHooks, AttemptRequest, TaskRunner } from '../../workers/runner.js';
import { LOCAL_WORKER } from '../../workers/runner.js';
import { artifactScope } from '../../model/artifacts.js';

const NO_HOOKS: AttemptHooks = { progress: () => {}, log: () => {} };
/** How often a timeout that fell due while its attempt still waited for a thread looks again. */
const QUEUE_LOOK_MS = 5;

function attemptRequest(rec: TaskRecord): AttemptRequest {
  const spec = rec.spec;
  const req: AttemptRequest = {
    taskId: spec.id,
    name: spec.name,
    module: spec.module,
    action: spec.action,
    params: spec.parameters,
    attempt: rec.attempts,
    idempotencyKey: spec.idempotencyKey,
    workingDir: spec.workingDir,
    upstream: spec.upstream,
    channel: rec.usesChannel,
    tags: spec.placement?.tags,
    readyAt: rec.readyAt,
    traceparent: spec.traceparent,
  };
  // Only workflow steps have an artifact scope (their run); a task alone stores under its own id.
  if (spec.metadata['runId'] !== undefined) req.artifactScope = artifactScope(spec.id, spec.metadata);
  if (spec.artifacts !== undefined) req.artifacts = spec.artifacts;
  if (spec.affinity !== undefined) req.affinity = spec.affinity;
  return req;
}

/** What dispatch may ask of the lifecycle: the only ways it changes a task. */
export interface DispatchContext {
  /** Steps a task through the machine now, its effects included (a task starting). */
  apply(rec: TaskRecord, event: TaskMachineEvent): void;
  /** Queues an event for the lifecycle's next pass (an attempt's outcome). */
  push(rec: TaskRecord, event: TaskMachineEvent): void;
  /** Applies an event now and whatever it causes (a timeout that fired). */
  send(rec: TaskRecord, event: TaskMachineEvent): void;
  /** Applies the queued events and dispatches again (after an attempt settled). */
  run(): void;
}

export interface DispatchDeps {
  runner: TaskRunner;
  bus: MessageBus;
  ready: ReadyTasks;
  flow: FlowControl;
  gate: AdmissionGate;
  clock: Clock;
  /** After a cooperative abort: how long an attempt has to return before it is killed. */
  abortGraceMs: number;
  /** Dispatches in flight at once, at most. */
  limit: number;
}

/** How an attempt ended: `done` (it replied or its thread crashed), or returned unrun by its batch. */
type Settling = 'done' | 'handed_back' | 'thread_lost';

export class Dispatcher {
  readonly #deps: DispatchDeps;
  readonly #ctx: DispatchContext;
  /** Dispatches in flight at once, at most. */
  limit: number;
  /** Whether ready tasks are dispatched. */
  executing = false;
  readonly batching: BatchCounts = { batches: 0, tasks: 0, handedBack: 0, threadLost: 0 };
  #inFlight = 0;
  /** Dispatches in flight (an attempt alone, or a batch): what `limit` bounds. */
  #slots = 0;
  /** The group a batch is being collected into, while {@link pump} collects one. */
  #collecting: TaskRecord[] | null = null;
  /** Shut down with unfinished tasks left for the next engine: late replies are ignored. */
  #halted = false;
  #idleWaiters: (() => void)[] = [];

  constructor(deps: DispatchDeps, ctx: DispatchContext) {
    this.#deps = deps;
    this.#ctx = ctx;
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

  /** Starts ready tasks while there is room; true when it started any. */
  pump(): boolean {
    const { runner, ready, gate, flow } = this.#deps;
    // Nothing queued (most passes of a lone task's run): no clock read, no look at the runner.
    if (!this.executing || ready.queued === 0) return false;
    let started = false;
    const now = this.#deps.clock.now();
    const admit = gate.admitFn;
    const place = gate.placeFn;
    while (this.#slots < this.limit && runner.hasRoom?.() !== false) {
      const rec = ready.next(now, admit, place);
      if (!rec) break;
      started = true;
      const most = this.#batchLimit(rec);
      // A batch forms only from what already waits, shared out among the free slots: a lone task goes alone.
      const want =
        most > 1
          ? Math.min(
              most,
              Math.ceil((ready.queued + 1) / Math.min(this.limit - this.#slots, runner.batchLanes ?? Infinity)),
            )
          : 1;
      if (want <= 1) {
        this.#start(rec);
        continue;
      }
      const group: TaskRecord[] = [rec];
      this.#collecting = group;
      this.#start(rec);
      let size = want;
      while (group.length < size) {
        const next = ready.peek(now);
        const limit = next ? this.#batchLimit(next) : 1;
        if (!next || limit <= 1 || !flow.admitsNow(next, now)) break;
        size = Math.min(size, limit);
        // The task just looked at: a batchable one declares no resources, batching runners do not route, and its
        // keys and units were just checked, so neither admission nor placement can turn it away.
        const taken = ready.next(now, admit, place);
        if (!taken) break;
        group.push(taken);
        this.#start(taken);
      }
      this.#collecting = null;
      this.#dispatch(group);
    }
    return started;
  }

  /** Moves a task to running (its `runAction` either dispatches it or, while a batch is collected, joins it). */
  #start(rec: TaskRecord): void {
    rec.lane.running++;
    this.#ctx.apply(rec, { type: 'task.start' });
  }

  /**
   * Attempts of this task's action one batch may carry now (1: it runs alone). A limit set below the runner's
   * capacity is taken as "at most this many started at once" and turns batching off (a batch's tasks all count as
   * running while its thread runs them one after another).
   */
  #batchLimit(rec: TaskRecord): number {
    const runner = this.#deps.runner;
    if (
      rec.usesChannel ||
      rec.held ||
      rec.alone ||
      !runner.batchLimit ||
      !runner.startBatch ||
      runner.place ||
      this.limit < runner.capacity
    )
      return 1;
    return runner.batchLimit(rec.spec.module, rec.spec.action);
  }

  /** The machine's `runAction`: arms the attempt's timeout and sends it (or lets the batch being collected take it). */
  runAction(rec: TaskRecord): void {
    rec.startedAt ??= this.#deps.clock.now();
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
  #armTimeout(
    rec: TaskRecord,
    attempt: number,
    timeoutMs: number,
    delayMs = timeoutMs,
    sentAt = this.#deps.clock.now(),
  ): void {
    const clock = this.#deps.clock;
    rec.timer = clock.setTimeout(() => {
      rec.timer = null;
      if (rec.status !== 'running' || rec.attempts !== attempt) return;
      const queued = rec.run?.queuedMs?.();
      if (queued === null) return this.#armTimeout(rec, attempt, timeoutMs, QUEUE_LOOK_MS, sentAt);
      const left = timeoutMs - (clock.now() - sentAt - (queued ?? 0));
      if (left >= 1) return this.#armTimeout(rec, attempt, timeoutMs, left, sentAt);
      rec.error = new TaskTimeoutError(
        `task "${rec.spec.name}" timed out after ${rec.spec.timeout}s (attempt ${attempt}); its worker thread was terminated`,
      ).toJSON();
      this.#ctx.send(rec, { type: 'task.timeout' });
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

  #batchSettled(
    group: TaskRecord[],
    attempts: number[],
    replies: (WorkerReply | null)[] | null,
    thrown: unknown,
  ): void {
    this.#slots--;
    for (let i = 0; i < group.length; i++) {
      const rec = group[i] as TaskRecord;
      const attempt = attempts[i] as number;
      if (replies) this.#settle(rec, attempt, replies[i] ?? null, null, replies[i] ? 'done' : 'handed_back');
      else this.#settle(rec, attempt, null, thrown, 'thread_lost');
    }
    this.#afterSettling();
  }

  #settled(rec: TaskRecord, attempt: number, reply: WorkerReply | null, thrown: unknown): void {
    this.#slots--;
    this.#settle(rec, attempt, reply, thrown, 'done');
    this.#afterSettling();
  }

  #afterSettling(): void {
    if (!this.#halted) this.#ctx.run();
    if (this.#inFlight === 0) this.#wakeIdle();
  }

  /**
   * Records how an attempt ended. `handed_back`: a batch returned it unstarted; `thread_lost`: its batch's
   * thread died (a batch-mate crashed it, or was terminated): either way it queues again, uncounted, and after
   * a lost thread it runs alone (a task that crashes its thread then fails by itself).
   */
  #settle(rec: TaskRecord, attempt: number, reply: WorkerReply | null, thrown: unknown, how: Settling): void {
    const { clock, gate } = this.#deps;
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
    clock.clearTimeout(rec.graceTimer);
    rec.graceTimer = null;
    if (this.#halted) {
      // Shut down with the task left to the next engine: this late reply is not recorded.
      gate.release(rec, allocationId);
      return;
    }
    if (reply) this.#deps.runner.learn?.(rec.spec.module, rec.spec.action, reply);
    if (rec.status === 'running' && rec.attempts === attempt) {
      clearTimer(rec, clock);
      if (worker !== undefined) rec.worker = worker;
      if (how !== 'done') {
        if (how === 'thread_lost') {
          rec.alone = true;
          this.batching.threadLost++;
        } else this.batching.handedBack++;
        this.#ctx.push(rec, { type: 'task.requeue' });
      } else if (reply?.type === 'ok') {
        rec.output = reply.output;
        rec.artifacts = reply.artifacts ?? null;
        rec.outputBytes = reply.bytes ?? 0;
        rec.binary = reply.binary === true;
        rec.error = null;
        this.#ctx.push(rec, { type: 'task.succeed' });
      } else if (reply) {
        rec.error = reply.error;
        this.#ctx.push(rec, { type: 'task.fail', retryable: reply.error.retryable !== false });
      } else {
        const message = serializeError(thrown).message;
        rec.error = new WorkerCrashedError(
          `the worker thread running task "${rec.spec.name}" died (${message}); the pool replaced it`,
        ).toJSON();
        this.#ctx.push(rec, { type: 'task.fail', retryable: true });
      }
    }
    gate.release(rec, allocationId);
  }

  /**
   * The machine's `abortRun`: stops a running attempt. Actions with a channel get a cooperative abort and
   * `abortGraceMs` to return; then (or at once, for the others) the attempt is killed: its thread is terminated,
   * or, not started yet, it never runs.
   */
  abortRun(rec: TaskRecord): void {
    clearTimer(rec, this.#deps.clock);
    const run = rec.run;
    if (!run) return;
    const reason = rec.status === 'timed_out' ? 'timed out' : rec.reason || 'cancelled';
    if (run.abort(reason)) rec.graceTimer = this.#deps.clock.setTimeout(() => run.kill(), this.#deps.abortGraceMs);
    else run.kill();
  }

  /** Resolves once no attempt is in flight, or after `graceMs`. */
  async idle(graceMs: number): Promise<void> {
    if (this.#inFlight === 0) return;
    const clock = this.#deps.clock;
    let timer = null;
    await Promise.race([
      new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
      new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, graceMs))),
    ]);
    clock.clearTimeout(timer);
  }

  /** A task ended: whoever waits for {@link idle} hears of it once nothing is in flight. */
  taskEnded(): void {
    if (this.#inFlight === 0 && this.#idleWaiters.length !== 0) queueMicrotask(() => this.#wakeIdle());
  }

  /** Stops recording outcomes: replies that arrive from now on are dropped (their holds still go). */
  halt(): void {
    this.#halted = true;
  }

  #wakeIdle(): void {
    if (this.#inFlight !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
