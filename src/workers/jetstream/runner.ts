/**
 * The JetStream runner, the daemon's side of remote workers: a {@link TaskRunner} that publishes attempts to the
 * JetStream work queue, hears which worker took each, and settles it when that worker's result arrives. It keeps
 * the scheduler the one source of truth: it only says whether a task can start now (a live worker serving its
 * module and tags has a free slot), and an attempt's outcome is the scheduler's to decide (a lost worker fails the attempt, retryable; a result for
 * an attempt the scheduler already ended is discarded and counted).
 *
 * The worker acks its message only once the daemon answered its result, and the daemon answers only after the
 * group commit that holds the outcome. A result from an earlier daemon run (the daemon restarted while the worker
 * ran the task) is applied to the task's current attempt once, and that attempt's own dispatch is called off.
 *
 * Beside it: the attempt (`attempt.ts`), the book of dispatches in flight, ended and held (`dispatches.ts`), the
 * results workers say they hold (`claims.ts`), the worker directory (`directory.ts`), what workers report
 * (`intake.ts`: started, progress, results; `membership.ts`: heartbeats, goodbyes, lost workers; both through
 * `core.ts`), the outgoing work (`outbox.ts`), the kept results (`kept.ts`) and the wire shapes (`protocol.ts`,
 * parsed by `schemas.ts`).
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { CancelledError, WorkerCrashedError } from '../../errors.js';
import type { AttemptHooks, AttemptRequest, PlacementQuery, RunningAttempt, TaskRunner } from '../runner.js';
import { attemptFields } from '../runner.js';
import type { Logger } from 'pino';
import { JetStreamAttempt } from './attempt.js';
import { Claims } from './claims.js';
import { Dispatches } from './dispatches.js';
import { WorkerDirectory } from './directory.js';
import { listenToWorkers } from './inbox.js';
import { followKept } from './kept.js';
import type { KnownWorker, WorkerOutcome } from './directory.js';
import { WorkOutbox } from './outbox.js';
import type { JetStreamCounters, RunnerCore } from './core.js';
import { attemptProgress, attemptResult, attemptStarted } from './intake.js';
import { sweepLost, workerBye, workerHeartbeat } from './membership.js';
import type { CancelMessage, RemoteOutcome, RemoteSubjects, WorkMessage } from './protocol.js';
import { encode, ensureWorkQueue, remoteSubjects, workStreamName } from './protocol.js';

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
  /** What the handlers of the workers' reports (intake.ts, membership.ts) use of this runner. */
  readonly #core: RunnerCore;

  constructor(options: JetStreamRunnerOptions) {
    this.#o = options;
    this.#log = options.log;
    this.subjects = remoteSubjects(options.subjectPrefix);
    this.stream = workStreamName(options.subjectPrefix);
    this.#core = {
      run: options.run,
      log: options.log,
      counters: this.counters,
      directory: this.directory,
      dispatches: this.#dispatches,
      claims: this.#claims,
      lostAfterMs: options.lostAfterMs,
      afterCommit: options.afterCommit,
      taskStatus: options.taskStatus,
      settle: (a, outcome, as, crash) => this.#settle(a, outcome, as, crash),
      giveUp: (a, message, code) => this.giveUp(a, message, code),
      dispatch: (a) => void this.#dispatch(a),
      park: (a, holder) => this.#park(a, holder),
      deleteWork: (seq) => this.deleteWork(seq),
      sendCancel: (message) => this.sendCancel(message),
      changed: () => this.changed(),
    };
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
    await ensureWorkQueue(jsm, this.stream, this.subjects.workAll);
    this.#nc = nc;
    this.#js = js;
    this.#outbox.attach(js);
    this.#jsm = jsm;
    const s = this.subjects;
    this.#subs = listenToWorkers(
      nc,
      s,
      {
        heartbeat: (info) => workerHeartbeat(this.#core, info),
        bye: (id) => workerBye(this.#core, id),
        started: (m) => attemptStarted(this.#core, m),
        result: (m, answer) => attemptResult(this.#core, m, answer),
        progress: (m) => attemptProgress(this.#core, m),
        list: () => this.directory.views(Date.now()),
      },
      this.#log,
    );
    this.#sweep = setInterval(() => sweepLost(this.#core), Math.max(100, Math.floor(this.#o.lostAfterMs / 4)));
    this.#sweep.unref();
    // Results kept by workers that stopped while no daemon answered: held before any task is dispatched again.
    this.#kept = await followKept(js, jsm, {
      prefix: this.#o.subjectPrefix,
      subject: this.subjects.kept,
      log: this.#log,
      take: (r, ack) => attemptResult(this.#core, r, () => ack()),
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
    // Traced, each attempt carries its span's W3C context (a message may hold several attempts), which the worker continues.
    const msg: WorkMessage = attemptFields(
      { dispatch, daemon: this.#o.run, name: req.name, channel: req.channel },
      req,
    );
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
}
