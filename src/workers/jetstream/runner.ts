/**
 * The JetStream runner, the daemon's side of remote workers: a {@link TaskRunner} that publishes attempts to the JetStream work queue, hears which
 * worker took each, and settles it when that worker's result arrives. It keeps the scheduler the one source of
 * truth: it only says whether a task can start now (a live worker serving its module and tags has a free slot),
 * and an attempt's outcome is the scheduler's to decide (a lost worker fails the attempt, retryable; a result for
 * an attempt the scheduler already ended is discarded and counted).
 *
 * The worker acks its message only once the daemon answered its result, and the daemon answers only after the
 * group commit that holds the outcome. A result from an earlier daemon run (the daemon restarted while the worker
 * ran the task) is applied to the task's current attempt once, and that attempt's own dispatch is called off.
 *
 * Beside it: the attempt (`attempt.ts`), the book of dispatches in flight, ended and held (`dispatches.ts`), the
 * results workers say they hold (`claims.ts`), the worker directory (`directory.ts`), the outgoing work (`outbox.ts`), the kept results (`kept.ts`) and the wire
 * shapes (`protocol.ts`, parsed by `schemas.ts`).
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { CancelledError, WorkerCrashedError } from '../../errors.js';
import type { AttemptHooks, AttemptRequest, PlacementQuery, RunningAttempt, TaskRunner } from '../runner.js';
import type { Logger } from 'pino';
import { JetStreamAttempt } from './attempt.js';
import { Claims } from './claims.js';
import { Dispatches } from './dispatches.js';
import { WorkerDirectory } from './directory.js';
import { listenToWorkers } from './inbox.js';
import { followKept } from './kept.js';
import type { KnownWorker, WorkerOutcome } from './directory.js';
import { WorkOutbox } from './outbox.js';
import type {
  CancelMessage,
  ProgressMessage,
  RemoteOutcome,
  RemoteSubjects,
  ResultAck,
  ResultMessage,
  StartedMessage,
  WorkerInfo,
  WorkMessage,
} from './protocol.js';
import { encode, ensureStream, REMOTE_PROTOCOL, remoteSubjects, workStreamName } from './protocol.js';

export interface JetStreamRunnerOptions {
  subjectPrefix: string;
  /** This daemon run (the engine id): dispatch ids name it, so a result from before a restart is recognised. */
  run: string;
  /** A worker not heard from for this long is lost: its attempts fail (retryable) and run again elsewhere. */
  lostAfterMs: number;
  /** Resolves once what the scheduler changed so far is committed (the engine's group committer). */
  afterCommit: () => Promise<unknown>;
  /** The stored status of a task, or null when the daemon has no such task. */
  taskStatus: (taskId: string) => string | null;
  log: Logger;
}

/** What the runner counts, for metrics. */
export interface JetStreamCounters {
  /** Attempts published to the work stream. */
  dispatched: number;
  /** Work messages published (several attempts may share one). */
  messages: number;
  redeliveries: number;
  lateResults: number;
  unknownResults: number;
  lostWorkers: number;
}

export class JetStreamRunner implements TaskRunner {
  readonly directory = new WorkerDirectory();
  readonly counters: JetStreamCounters = {
    dispatched: 0,
    messages: 0,
    redeliveries: 0,
    lateResults: 0,
    unknownResults: 0,
    lostWorkers: 0,
  };
  readonly subjects: RemoteSubjects;
  readonly stream: string;
  readonly #o: JetStreamRunnerOptions;
  readonly #log: Logger;
  /** Attempts in flight, dispatches that ended lately, and results of an earlier daemon run held for their task. */
  readonly #dispatches = new Dispatches();
  readonly #listeners = new Set<() => void>();
  #changeQueued = false;
  #nc: NatsConnection | null = null;
  #js: JetStreamClient | null = null;
  #jsm: JetStreamManager | null = null;
  #subs: Subscription[] = [];
  #sweep: ReturnType<typeof setInterval> | null = null;
  #kept: { stop(): void } | null = null;
  /** Attempts leave several per message (see outbox.ts). */
  readonly #outbox = new WorkOutbox<JetStreamAttempt>({
    failed: (a, err) =>
      this.#settle(
        a,
        {
          type: 'crashed',
          error: new WorkerCrashedError(
            `could not publish task "${a.req.name}" to the work stream: ${err.message}`,
          ).toJSON(),
        },
        'applied',
      ),
    orphaned: (seq) => void this.deleteWork(seq),
    sent: () => this.counters.messages++,
  });
  /** The tasks whose results live workers say they hold, and the attempts waiting for those results. */
  readonly #claims = new Claims();

  constructor(options: JetStreamRunnerOptions) {
    this.#o = options;
    this.#log = options.log;
    this.subjects = remoteSubjects(options.subjectPrefix);
    this.stream = workStreamName(options.subjectPrefix);
  }

  get capacity(): number {
    return this.directory.capacity();
  }

  get inFlight(): number {
    return this.#dispatches.size;
  }

  hasRoom(): boolean {
    return this.directory.free() > 0;
  }

  place(task: PlacementQuery): string | null {
    const c = this.directory.choose(task);
    return 'why' in c ? c.why : null;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells the scheduler (once per turn) that room may have appeared. */
  changed(): void {
    if (this.#changeQueued) return;
    this.#changeQueued = true;
    queueMicrotask(() => {
      this.#changeQueued = false;
      for (const l of this.#listeners) l();
    });
  }

  /** Starts serving on a connection: makes sure the work stream exists, listens, and asks workers to announce. */
  async attach(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager): Promise<void> {
    const { RetentionPolicy, StorageType } = await import('@nats-io/jetstream');
    await ensureStream(jsm, {
      name: this.stream,
      subjects: [this.subjects.workAll],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    });
    this.#nc = nc;
    this.#js = js;
    this.#outbox.attach(js);
    this.#jsm = jsm;
    const s = this.subjects;
    this.#subs = listenToWorkers(
      nc,
      s,
      {
        heartbeat: (info) => this.#heartbeat(info),
        bye: (id) => this.#bye(id),
        started: (m) => this.#started(m),
        result: (m, answer) => this.#result(m, answer),
        progress: (m) => this.#progress(m),
        list: () => this.directory.views(Date.now()),
      },
      this.#log,
    );
    this.#sweep = setInterval(() => this.#sweepLost(), Math.max(100, Math.floor(this.#o.lostAfterMs / 4)));
    this.#sweep.unref();
    // Results kept by workers that stopped while no daemon answered: held before any task is dispatched again.
    this.#kept = await followKept(js, jsm, {
      prefix: this.#o.subjectPrefix,
      subject: this.subjects.kept,
      log: this.#log,
      take: (r, ack) => this.#result(r, () => ack()),
    });
    // Workers answer with a heartbeat naming the results they hold (no task of those is dispatched again while its
    // holder is live), then send those results again.
    nc.publish(s.hello, encode({ daemon: this.#o.run }));
  }

  close(): void {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#kept?.stop();
    this.#kept = null;
    for (const sub of this.#subs) sub.unsubscribe();
    this.#subs = [];
    this.#nc = null;
  }

  start(req: AttemptRequest, hooks: AttemptHooks): RunningAttempt {
    const dispatch = `${this.#o.run}:${req.taskId}:${req.attempt}`;
    const attempt = new JetStreamAttempt(this, dispatch, req, hooks);
    const held = this.#dispatches.takeHeld(req.taskId);
    if (held) {
      // The daemon restarted while a worker ran this task: its outcome stands for this attempt.
      attempt.worker = held.worker;
      this.#settle(attempt, held.outcome, 'applied');
      void this.#o.afterCommit().then(
        () => held.answer({ accepted: true }),
        () => undefined,
      );
      return attempt;
    }
    const holder = this.#claims.liveHolder(req.taskId, this.directory.workers);
    if (holder) {
      // A live worker says it holds a result of this task from an earlier daemon run: that result is waited for.
      this.#dispatches.add(attempt);
      this.#park(attempt, holder);
      return attempt;
    }
    return this.#dispatch(attempt);
  }

  #park(a: JetStreamAttempt, holder: KnownWorker): void {
    a.workerId = holder.info.id;
    a.worker = holder.info.name;
    this.#claims.park(holder.info.id, a);
    this.#log.info(
      { taskId: a.req.taskId, task: a.req.name, worker: holder.info.name },
      'a worker holds a result of this task: waiting for it, not dispatched again',
    );
  }

  /** Publishes the attempt to a worker that can take it (or fails it, retryable, when none can). */
  #dispatch(attempt: JetStreamAttempt): JetStreamAttempt {
    const req = attempt.req;
    const dispatch = attempt.dispatch;
    const choice = this.directory.choose({
      module: req.module,
      action: req.action,
      tags: req.tags ?? [],
      affinity: req.affinity,
    });
    if (!this.#js || 'why' in choice) {
      this.#dispatches.remove(attempt);
      attempt.resolve({
        type: 'error',
        error: new WorkerCrashedError(
          `no remote worker could take task "${req.name}": ${'why' in choice ? choice.why : 'not connected to NATS'}`,
        ).toJSON(),
      });
      return attempt;
    }
    this.#dispatches.add(attempt);
    choice.worker.inFlight.add(dispatch);
    this.directory.stick(req.affinity, choice.worker.info.id);
    attempt.workerId = choice.worker.info.id;
    attempt.worker = choice.worker.info.name;
    this.counters.dispatched++;
    const msg: WorkMessage = {
      dispatch,
      daemon: this.#o.run,
      taskId: req.taskId,
      name: req.name,
      module: req.module,
      action: req.action,
      params: req.params,
      attempt: req.attempt,
      idempotencyKey: req.idempotencyKey,
      workingDir: req.workingDir,
      upstream: req.upstream,
      channel: req.channel,
    };
    // Traced: each attempt carries its span's W3C context (a message may hold several attempts), which the worker continues.
    if (req.traceparent !== undefined) msg.traceparent = req.traceparent;
    if (req.artifactScope !== undefined) msg.artifactScope = req.artifactScope;
    if (req.artifacts !== undefined) msg.artifacts = req.artifacts;
    // A sticky attempt goes to its worker alone; any other to the group, where any of its workers may take it (several
    // for one worker in one turn go to that worker alone, as one message: see WorkOutbox.add).
    const subject =
      req.affinity !== undefined
        ? this.subjects.workFor(choice.worker.info.id)
        : this.subjects.work(choice.worker.info.group);
    this.#outbox.add(subject, msg, attempt, this.subjects.workFor(choice.worker.info.id));
    return attempt;
  }

  /** Removes a message nobody took from the work stream (a cancelled task, or one of a lost worker). */
  async deleteWork(seq: number): Promise<void> {
    try {
      await this.#jsm?.streams.deleteMessage(this.stream, seq, false);
    } catch {
      // Already taken and acked, or gone: nothing to remove.
    }
  }

  sendCancel(message: CancelMessage): void {
    this.#nc?.publish(this.subjects.cancel, encode(message));
  }

  /**
   * Ends an attempt with an outcome: frees its slot, resolves its reply, remembers it, counts it for its worker
   * (`as` says how a crash outcome is counted: the daemon stopped it, or lost its worker).
   */
  #settle(a: JetStreamAttempt, outcome: RemoteOutcome, as: 'applied' | 'late', crash: WorkerOutcome = 'crashed'): void {
    if (a.done) return;
    this.#claims.unpark(a);
    if (a.worker !== undefined)
      this.directory.tally.count(
        a.worker,
        outcome.type === 'ok' ? 'completed' : outcome.type === 'error' ? 'failed' : crash,
      );
    this.#dispatches.remove(a);
    this.directory.release(a.dispatch);
    this.#dispatches.remember(a.dispatch, as);
    a.resolve(
      outcome.type === 'crashed'
        ? { type: 'error', error: { ...outcome.error, retryable: outcome.error.retryable !== false } }
        : outcome,
    );
    this.changed();
  }

  /**
   * The daemon stops keeping its unfinished work: the attempt runs on where it is, and its worker sends the result
   * to the next daemon (or keeps it in the stream); one no worker took yet is taken out of the stream.
   */
  leave(a: JetStreamAttempt): void {
    a.done = true;
    this.#claims.unpark(a);
    this.#dispatches.remove(a);
    this.directory.release(a.dispatch);
    if (!a.startedOn && a.seq !== null && !a.batched) void this.deleteWork(a.seq);
  }

  /** Settles an attempt the daemon itself gave up on (kill not confirmed, worker lost); a later result is late. */
  giveUp(a: JetStreamAttempt, message: string, code: 'killed' | 'lost'): void {
    const error = code === 'killed' ? new CancelledError(message).toJSON() : new WorkerCrashedError(message).toJSON();
    this.#settle(a, { type: 'crashed', error }, 'late', code === 'killed' ? 'stopped' : 'lost');
  }

  /** A worker's name by its id (a result names the worker by id). */
  #nameOf(id: string): string | undefined {
    return this.directory.workers.get(id)?.info.name;
  }

  #heartbeat(info: WorkerInfo): void {
    if (info.protocol !== REMOTE_PROTOCOL) {
      this.#log.warn(
        { worker: info.name, protocol: info.protocol, expected: REMOTE_PROTOCOL },
        'worker speaks another protocol version; ignored',
      );
      return;
    }
    // Its claims count before it can take work (the scheduler hears of it in a microtask).
    const freed = this.#claims.heard(info.id, info.holding);
    if (this.directory.heartbeat(info, Date.now())) {
      this.#log.info(
        {
          worker: info.name,
          id: info.id,
          host: info.host,
          tags: info.tags,
          modules: info.modules.length,
          threads: info.threads,
          version: info.version,
          holding: info.holding.length,
        },
        'worker joined',
      );
      this.changed();
    }
    for (const taskId of info.holding) this.#callBack(taskId, info.id);
    // Answered otherwise (kept in the stream, refused): those tasks go out for real.
    for (const a of freed) this.#redispatch(a, `worker "${info.name}" no longer holds its result`);
  }

  /**
   * A worker names a held result of a task this run already dispatched to another worker (whose heartbeat came
   * first): if that worker did not start it yet, it is told to skip it and the attempt waits for the held result.
   */
  #callBack(taskId: string, holderId: string): void {
    const a = this.#dispatches.current(taskId);
    const holder = this.directory.workers.get(holderId);
    if (!a || !holder || a.parkedOn !== null || a.startedOn || a.workerId === holderId) return;
    this.sendCancel({ dispatch: a.dispatch, kind: 'kill', reason: 'another worker holds a result of this task' });
    if (a.seq !== null && !a.batched) void this.deleteWork(a.seq);
    this.directory.release(a.dispatch);
    a.calledBack = true;
    this.#park(a, holder);
  }

  /** A parked attempt whose holder is gone or holds nothing now: published to a worker, as any other. */
  #redispatch(a: JetStreamAttempt, why: string): void {
    if (a.done) return;
    this.#log.info(
      { taskId: a.req.taskId, task: a.req.name, why },
      'the held result will not come: dispatching the task',
    );
    // Its dispatch id was told to stop: failed instead (retryable), so the scheduler runs it again under a new one.
    if (a.calledBack) return this.giveUp(a, `${why}; task "${a.req.name}" runs again`, 'lost');
    a.workerId = null;
    a.worker = undefined;
    this.#dispatch(a);
    this.changed();
  }

  #bye(id: string): void {
    const w = this.directory.workers.get(id);
    if (!w) return;
    this.#log.info({ worker: w.info.name, id }, 'worker left');
    this.#lose(w, `worker "${w.info.name}" stopped`);
    this.directory.workers.delete(id);
  }

  #sweepLost(): void {
    // A held result whose task was never dispatched again (cancelled meanwhile): given up after HELD_MS.
    for (const h of this.#dispatches.expireHeld(Date.now())) {
      this.counters.lateResults++;
      h.answer({ accepted: false, reason: 'late' });
    }
    for (const w of this.directory.sweep(Date.now(), this.#o.lostAfterMs)) {
      this.counters.lostWorkers++;
      this.#log.warn(
        { worker: w.info.name, id: w.info.id, host: w.info.host, inFlight: w.inFlight.size },
        'worker lost (no heartbeat); its attempts run again elsewhere',
      );
      this.#lose(
        w,
        `worker "${w.info.name}" on ${w.info.host} stopped heartbeating for ${this.#o.lostAfterMs} ms (lost)`,
      );
    }
  }

  /** Fails what the daemon had in flight on a worker that is gone (retryable: the scheduler runs it again). */
  #lose(w: KnownWorker, why: string): void {
    for (const a of this.#claims.drop(w.info.id)) this.#redispatch(a, why);
    for (const dispatch of [...w.inFlight]) {
      const a = this.#dispatches.get(dispatch);
      if (!a) continue;
      // Out of the stream, so JetStream does not hand the old dispatch to another worker as well.
      if (a.seq !== null) void this.deleteWork(a.seq);
      this.giveUp(a, `${why} while running task "${a.req.name}"`, 'lost');
    }
  }

  #started(m: StartedMessage): void {
    const a = this.#dispatches.get(m.dispatch);
    // Called back while that worker took it: the kill it was sent stops it; the attempt waits for the held result.
    if (a && a.parkedOn !== null) return;
    if (!a) {
      // Ended here already (cancelled, timed out, or failed when its worker was lost): stop the copy.
      if (this.#dispatches.ended(m.dispatch) !== undefined)
        this.sendCancel({ dispatch: m.dispatch, kind: 'kill', reason: 'the daemon already ended this attempt' });
      return;
    }
    a.startedOn = m.worker;
    const took = this.directory.move(m.dispatch, m.worker);
    if (took) a.worker = took.info.name;
    if (m.deliveries > 1) {
      this.counters.redeliveries++;
      this.#log.warn(
        { taskId: a.req.taskId, task: a.req.name, worker: m.worker, deliveries: m.deliveries },
        'task redelivered to another worker',
      );
    }
  }

  #progress(m: ProgressMessage): void {
    const a = this.#dispatches.get(m.dispatch);
    if (!a) return;
    if (m.kind === 'progress') a.hooks.progress(m.value);
    else a.hooks.log(m.level, m.message);
  }

  /** A worker's result; `answer` is called once the outcome is committed (or refused). */
  #result(m: ResultMessage, answer: (ack: ResultAck) => void): void {
    const a = this.#dispatches.get(m.dispatch);
    if (a && a.parkedOn !== null) {
      // The report of a copy called back (its kill confirmed): the attempt waits for the held result instead.
      return answer({ accepted: false, reason: 'late' });
    }
    if (a) {
      a.worker = this.#nameOf(m.worker) ?? m.name ?? a.worker;
      if (a.killing && m.outcome.type !== 'crashed') {
        // Stopped here (cancelled or timed out) before this result came: the scheduler discards it. (A crash is
        // the worker confirming the kill, not a result.)
        this.counters.lateResults++;
        this.#log.warn(
          { taskId: m.taskId, dispatch: m.dispatch, worker: m.worker },
          'result after the daemon stopped the attempt: discarded',
        );
      }
      this.#settle(a, m.outcome, 'applied');
      // Answered once the scheduler's change (applied in a microtask) is committed.
      setImmediate(
        () =>
          void this.#o.afterCommit().then(
            () => answer({ accepted: true }),
            () => undefined,
          ),
      );
      return;
    }
    const seen = this.#dispatches.ended(m.dispatch);
    if (seen === 'applied') return answer({ accepted: true });
    if (seen === 'late') {
      this.counters.lateResults++;
      this.#log.warn(
        { taskId: m.taskId, dispatch: m.dispatch, worker: m.worker },
        'late result discarded (the daemon had already ended that attempt)',
      );
      return answer({ accepted: false, reason: 'late' });
    }
    const fromEarlierRun = !m.dispatch.startsWith(`${this.#o.run}:`);
    const current = this.#dispatches.current(m.taskId);
    if (fromEarlierRun && current) {
      // The daemon restarted while this worker ran the task, and has dispatched it again: this outcome stands.
      this.#dispatches.remember(m.dispatch, 'applied');
      if (current.parkedOn === null && current.seq !== null && !current.startedOn) void this.deleteWork(current.seq);
      if (current.parkedOn === null)
        this.sendCancel({ dispatch: current.dispatch, kind: 'kill', reason: 'an earlier run of this task finished' });
      current.worker = this.#nameOf(m.worker) ?? m.name ?? current.worker;
      this.#settle(current, m.outcome, 'applied');
      setImmediate(
        () =>
          void this.#o.afterCommit().then(
            () => answer({ accepted: true }),
            () => undefined,
          ),
      );
      return;
    }
    const status = fromEarlierRun ? this.#o.taskStatus(m.taskId) : null;
    if (status === 'ready' || status === 'running' || status === 'retrying' || status === 'pending') {
      // Not dispatched again yet (no worker announced itself to this run so far): held for when it is.
      this.#dispatches.hold(m.taskId, { outcome: m.outcome, worker: m.name, answer }, Date.now());
      return;
    }
    this.counters.unknownResults++;
    this.#log.warn(
      { taskId: m.taskId, dispatch: m.dispatch, worker: m.worker },
      'result for a task the daemon does not know: refused',
    );
    answer({ accepted: false, reason: 'unknown' });
  }
}
