/**
 * `codomyrmex worker`: a process on any host that runs a daemon's tasks. It has its own Piscina pool with the same
 * worker entry and module contract as the daemon's (so an action runs exactly as it would there), and pulls
 * attempts from the daemon's JetStream work queue: one pull per free thread, so it never holds more than it
 * advertised. It heartbeats (its announcement: name, host, tags, modules, threads, version), tells the daemon
 * which attempt it took, keeps long ones alive with `working()`, and acks a message only once the daemon has
 * answered its result (after the daemon's commit). Killed mid-task, it leaves the message unacked: JetStream hands
 * it to another worker of its group after the ack wait (or the daemon, seeing it lost, runs the task again).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';

import { LocalPoolRunner } from '../../actors/tasks/runner.js';
import type { RunningAttempt } from '../../actors/tasks/runner.js';
import { serializeError } from '../../errors.js';
import { systemClock } from '../../model/clock.js';
import { ModuleRegistry } from '../../modules/registry.js';
import type { Tracing } from '../../traces/tracing.js';
import { ArtifactExchange } from '../../workers/artifacts.js';
import { JetStreamArtifactStore } from '../../workers/jetstreamArtifacts.js';
import { WorkerPool } from '../../workers/pool.js';
import type { Logger } from '../daemon/logger.js';
import type { CancelMessage, ProgressMessage, RemoteOutcome, RemoteSubjects, ResultAck, ResultMessage, StartedMessage, WorkerInfo, WorkMessage } from '../remote/protocol.js';
import { connectNats, decode, encode, ensureStream, keptStreamName, REMOTE_PROTOCOL, remoteSubjects, workerGroup, workStreamName } from '../remote/protocol.js';

export interface RemoteWorkerOptions {
  servers: string[];
  subjectPrefix: string;
  connection?: Omit<NodeConnectionOptions, 'servers' | 'name'>;
  moduleDirs: string[];
  threads: number;
  /** Attempts one thread runs at once (default 1); the worker advertises threads × this. */
  concurrency?: number;
  tags: string[];
  name: string;
  /** JetStream's ack wait for this worker's group: a message not acked or `working()` for this long is redelivered. */
  ackWaitMs: number;
  heartbeatMs: number;
  version: string;
  log: Logger;
  /**
   * The worker's tracing (on with the standard `OTEL_*` variables): each attempt it takes gets a `process` span, a
   * child of the daemon's attempt span (the work message's `traceparent` header), and the spans its action makes in
   * the thread hang under it. Absent: no span, and no OpenTelemetry module loaded.
   */
  tracing?: Tracing | null;
  /** `tracing.maxAttributeLength`, for the threads' spans (default 4096). */
  maxAttributeLength?: number;
}

/** Dispatches cancelled before this worker took them, remembered this many at most. */
const CANCELLED_MAX = 10_000;
/** How long one result request waits for the daemon's answer before it is sent again. */
const RESULT_TIMEOUT_MS = 5000;
/** When stopping, how long a result waits for the daemon's answer before it is kept for the next daemon. */
const KEEP_AFTER_MS = 1500;

export class RemoteWorker {
  readonly id = randomUUID();
  readonly #o: RemoteWorkerOptions;
  readonly #log: Logger;
  readonly #s: RemoteSubjects;
  readonly #running = new Map<string, RunningAttempt>();
  readonly #cancelled = new Set<string>();
  #pool: WorkerPool | null = null;
  #runner: LocalPoolRunner | null = null;
  #nc: NatsConnection | null = null;
  /** Its own consumer's name: attempts for this worker alone (a sticky run's). */
  #ownName = '';
  #removeOwn: () => Promise<void> = () => Promise.resolve();
  /** Puts a result in the kept stream (durably) for the next daemon. */
  #keep: (result: ResultMessage) => Promise<void> = () => Promise.reject(new Error('not connected'));
  #modules: string[] = [];
  #group = '';
  #stopping = false;
  #loops: Promise<void>[] = [];
  /** Results sent and not answered yet. */
  readonly #reporting = new Set<Promise<void>>();
  /** Unanswered results by dispatch: sends one again, or settles it as kept. */
  readonly #unanswered = new Map<string, { send: () => void; result: ResultMessage; kept: () => void }>();
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  readonly #startedAt = Date.now();
  readonly #capacity: number;

  constructor(options: RemoteWorkerOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#s = remoteSubjects(options.subjectPrefix);
    this.#capacity = options.threads * (options.concurrency ?? 1);
  }

  get group(): string {
    return this.#group;
  }

  info(): WorkerInfo {
    return {
      protocol: REMOTE_PROTOCOL,
      id: this.id,
      name: this.#o.name,
      host: hostname(),
      pid: process.pid,
      tags: this.#o.tags,
      modules: this.#modules,
      threads: this.#o.threads,
      capacity: this.#capacity,
      version: this.#o.version,
      group: this.#group,
      running: this.#running.size,
      startedAt: this.#startedAt,
      ackWaitMs: this.#o.ackWaitMs,
    };
  }

  /** Loads the modules, boots the pool, connects, and starts pulling. */
  async start(): Promise<void> {
    const o = this.#o;
    const registry = await ModuleRegistry.load(o.moduleDirs);
    this.#modules = [...new Set(registry.list().map((a) => a.module))].sort();
    this.#group = workerGroup(this.#modules, o.tags);
    this.#pool = new WorkerPool({ threads: o.threads, concurrentTasksPerWorker: o.concurrency ?? 1, moduleDirs: o.moduleDirs, ...(o.tracing ? { tracing: { maxAttributeLength: o.maxAttributeLength ?? 4096 } } : {}) });
    await this.#pool.booted(30_000);
    this.#runner = new LocalPoolRunner(this.#pool, systemClock);
    const nc = (this.#nc = await connectNats({ servers: o.servers, name: `codomyrmex-worker-${o.name}`, maxReconnectAttempts: -1, reconnectTimeWait: 500, ...o.connection }));
    const jsm = await jetstreamManager(nc);
    const stream = workStreamName(o.subjectPrefix);
    await ensureStream(jsm, { name: stream, subjects: [this.#s.workAll], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
    await ensureStream(jsm, { name: keptStreamName(o.subjectPrefix), subjects: [this.#s.kept], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
    const durable = `G_${this.#group}`;
    const config = { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: this.#s.work(this.#group), ack_wait: o.ackWaitMs * 1_000_000, max_deliver: -1, max_ack_pending: 100_000 };
    try {
      await jsm.consumers.info(stream, durable);
      await jsm.consumers.update(stream, durable, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending });
    } catch {
      await jsm.consumers.add(stream, config);
    }
    // Its own consumer, for attempts sent to this worker alone; removed by the server an hour after it stops pulling.
    this.#ownName = `W_${this.id}`;
    await jsm.consumers.add(stream, { durable_name: this.#ownName, ack_policy: AckPolicy.Explicit, filter_subject: this.#s.workFor(this.id), ack_wait: config.ack_wait, max_deliver: -1, max_ack_pending: 100_000, inactive_threshold: 3_600_000_000_000 });
    const js = jetstream(nc);
    this.#keep = (r) => js.publish(this.#s.kept, encode(r)).then(() => undefined);
    const group = await js.consumers.get(stream, durable);
    const own = await js.consumers.get(stream, this.#ownName);
    this.#removeOwn = () => jsm.consumers.delete(stream, this.#ownName).then(() => undefined, () => undefined);
    // Artifacts travel through the Object Store: fetched before an attempt, stored after it succeeds.
    this.#runner.artifacts = new ArtifactExchange(await JetStreamArtifactStore.open(js, o.subjectPrefix));
    nc.subscribe(this.#s.cancel, { callback: (err, msg) => (err ? undefined : this.#cancel(decode<CancelMessage>(msg.data))) });
    nc.subscribe(this.#s.hello, {
      callback: () => {
        for (const u of this.#unanswered.values()) u.send();
        this.#beat();
      },
    });
    this.#beat();
    this.#heartbeat = setInterval(() => this.#beat(), o.heartbeatMs);
    // One pull per slot on each consumer: the daemon never has more than `capacity` in flight here in all.
    for (let i = 0; i < this.#capacity; i++) this.#loops.push(this.#pull(group), this.#pull(own));
    this.#log.info({ id: this.id, worker: o.name, group: this.#group, tags: o.tags, modules: this.#modules.length, threads: o.threads, capacity: this.#capacity, stream, ackWaitMs: o.ackWaitMs }, 'worker ready');
  }

  #beat(): void {
    try {
      this.#nc?.publish(this.#s.heartbeat, encode(this.info()));
    } catch {
      // Disconnected: the next beat goes out once the client is back.
    }
  }

  #cancel(m: CancelMessage): void {
    const run = this.#running.get(m.dispatch);
    if (!run) {
      this.#cancelled.add(m.dispatch);
      if (this.#cancelled.size > CANCELLED_MAX) {
        const first = this.#cancelled.values().next().value;
        if (first !== undefined) this.#cancelled.delete(first);
      }
      return;
    }
    this.#log.info({ dispatch: m.dispatch, kind: m.kind, reason: m.reason }, m.kind === 'abort' ? 'task aborted by the daemon' : 'task killed by the daemon');
    if (m.kind === 'abort') run.abort(m.reason);
    else run.kill();
  }

  /** One pull loop per slot (threads × concurrency) and consumer: takes a message only while it has a free slot. */
  async #pull(consumer: Consumer): Promise<void> {
    while (!this.#stopping) {
      let msg: JsMsg | null;
      try {
        msg = await consumer.next({ expires: 2000 });
      } catch (err) {
        if (this.#stopping) return;
        this.#log.warn({ err: (err as Error).message }, 'pull failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (!msg) continue;
      if (this.#stopping) {
        // Pulled as the worker stops: handed back at once, for another worker.
        msg.nak();
        return;
      }
      try {
        await this.#handle(msg);
      } catch (err) {
        this.#log.error({ err: (err as Error).message }, 'task handling failed');
      }
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    const m = decode<WorkMessage>(msg.data);
    const deliveries = msg.info.deliveryCount;
    const attempt = m.attempt + deliveries - 1;
    const nc = this.#nc;
    const runner = this.#runner;
    if (!nc || !runner) return;
    if (this.#cancelled.has(m.dispatch)) {
      msg.term('cancelled before it started');
      return;
    }
    const held = [...this.#unanswered.values()].find((u) => u.result.taskId === m.taskId && u.result.dispatch !== m.dispatch);
    if (held) {
      // A restarted daemon dispatched a task whose earlier run's result this worker still holds: that result is
      // sent again (the daemon applies it to this dispatch) instead of running the task a second time.
      this.#log.info({ taskId: m.taskId, dispatch: m.dispatch, earlier: held.result.dispatch }, 'dispatched again while its earlier result waits: sending that result');
      held.send();
      msg.term('an earlier run of this task finished here');
      return;
    }
    nc.publish(this.#s.started, encode({ dispatch: m.dispatch, worker: this.id, deliveries, attempt } satisfies StartedMessage));
    // Traced: this attempt's span continues the daemon's (a malformed or missing header starts a new trace).
    const span = this.#o.tracing?.startSpan(`process ${m.module}.${m.action}`, {
      kind: 'consumer',
      traceparent: msg.headers?.get('traceparent') || undefined,
      attributes: { 'messaging.system': 'nats', 'messaging.destination.name': msg.subject, 'messaging.operation.type': 'process', 'codomyrmex.task_id': m.taskId, 'codomyrmex.task': m.name, 'codomyrmex.module': m.module, 'codomyrmex.action': m.action, 'codomyrmex.attempt': attempt, 'codomyrmex.worker': this.#o.name },
    });
    const ids = span ? { trace_id: span.traceId, span_id: span.spanId } : {};
    this.#log.debug({ taskId: m.taskId, task: m.name, attempt, deliveries, ...ids }, 'task started');
    const alive = setInterval(() => msg.working(), Math.max(200, Math.floor(this.#o.ackWaitMs / 3)));
    const progress = (p: ProgressMessage): void => nc.publish(this.#s.progress, encode(p));
    const run = runner.start(
      { taskId: m.taskId, name: m.name, module: m.module, action: m.action, params: m.params, attempt, idempotencyKey: m.idempotencyKey, workingDir: m.workingDir, upstream: m.upstream, channel: m.channel, artifactScope: m.artifactScope, artifacts: m.artifacts, traceparent: span?.traceparent },
      { progress: (value) => progress({ dispatch: m.dispatch, kind: 'progress', value }), log: (level, message) => progress({ dispatch: m.dispatch, kind: 'log', level, message }) },
    );
    this.#running.set(m.dispatch, run);
    let outcome: RemoteOutcome;
    try {
      outcome = await run.reply;
    } catch (err) {
      outcome = { type: 'crashed', error: serializeError(err) };
    } finally {
      run.close();
      this.#running.delete(m.dispatch);
    }
    if (span) {
      // The thread's spans leave from here, under this worker's service name; the daemon gets the outcome alone.
      if (outcome.type !== 'crashed' && outcome.spans) {
        this.#o.tracing?.exportSpans(outcome.spans);
        delete outcome.spans;
      }
      span.end(outcome.type === 'ok' ? null : outcome.error);
    }
    this.#log.debug({ taskId: m.taskId, task: m.name, attempt, outcome: outcome.type, ...ids }, 'task ended');
    // The slot is free for the next message while this result waits for the daemon's commit (the message stays
    // unacked, and kept alive, until then).
    const reported = this.#report({ dispatch: m.dispatch, worker: this.id, name: this.#o.name, taskId: m.taskId, outcome }).then((ack) => {
      clearInterval(alive);
      if (ack && !ack.accepted) this.#log.warn({ taskId: m.taskId, dispatch: m.dispatch, reason: ack.reason }, 'the daemon did not take the result');
      // Acked only now: the daemon has committed the outcome (or said it does not want it).
      if (ack) msg.ack();
    });
    this.#reporting.add(reported);
    void reported.finally(() => this.#reporting.delete(reported));
  }

  /** Puts every result the daemon has not answered in the kept stream; each kept one counts as answered (acked). */
  async #keepUnanswered(): Promise<void> {
    for (const u of [...this.#unanswered.values()]) {
      try {
        await this.#keep(u.result);
        this.#log.info({ taskId: u.result.taskId, dispatch: u.result.dispatch }, 'result kept for the next daemon');
        u.kept();
      } catch (err) {
        this.#log.warn({ taskId: u.result.taskId, err: (err as Error).message }, 'could not keep a result: the task runs again when a daemon dispatches it');
      }
    }
  }

  /**
   * Sends a result until the daemon answers (it answers after its commit); null when the connection closed for
   * good. A daemon that (re)starts says hello, and every unanswered result is sent again at once, before this
   * worker's heartbeat, so a restarted daemon hears the results before it dispatches those tasks again.
   */
  async #report(result: ResultMessage): Promise<ResultAck | null> {
    const data = encode(result);
    let done = false;
    let settle: (ack: ResultAck | null) => void = () => undefined;
    const answered = new Promise<ResultAck | null>((resolve) => (settle = resolve));
    const finish = (ack: ResultAck | null): void => {
      if (done) return;
      done = true;
      this.#unanswered.delete(result.dispatch);
      settle(ack);
    };
    const send = (): void => {
      const nc = this.#nc;
      if (!nc || nc.isClosed()) return finish(null);
      nc.request(this.#s.result, data, { timeout: RESULT_TIMEOUT_MS }).then(
        (reply) => finish(decode<ResultAck>(reply.data)),
        () => undefined,
      );
    };
    this.#unanswered.set(result.dispatch, { send, result, kept: () => finish({ accepted: true }) });
    for (let tries = 1; !done; tries++) {
      send();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([answered, new Promise((resolve) => (timer = setTimeout(resolve, RESULT_TIMEOUT_MS + 500)))]);
      clearTimeout(timer);
      if (!done && (tries === 1 || tries % 20 === 0)) this.#log.warn({ taskId: result.taskId, tries }, 'the daemon did not answer a result; sending it again');
    }
    return answered;
  }

  /**
   * Stops pulling and lets running attempts finish (up to `graceMs`). Their results go to the daemon; what it has
   * not answered within {@link KEEP_AFTER_MS} (it is down, or restarting) is kept in the stream for the next daemon
   * and its message acked, so the worker exits now rather than re-sending for the rest of its grace. Then it says
   * goodbye and closes.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const until = Date.now() + graceMs;
    const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
    await Promise.race([Promise.allSettled(this.#loops), wait(graceMs)]);
    await Promise.race([Promise.allSettled([...this.#reporting]), wait(Math.min(KEEP_AFTER_MS, until - Date.now()))]);
    await this.#keepUnanswered();
    await Promise.race([Promise.allSettled([...this.#reporting]), wait(1000)]);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    await this.#removeOwn();
    try {
      this.#nc?.publish(this.#s.bye, encode({ id: this.id }));
      await this.#nc?.drain();
    } catch {
      // Closed already.
    }
    await this.#pool?.destroy();
    // What is still pending leaves now.
    await this.#o.tracing?.shutdown();
    this.#log.info({ id: this.id, worker: this.#o.name }, 'worker stopped');
  }
}
