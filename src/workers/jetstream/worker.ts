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
import type { NatsConnection } from '@nats-io/transport-node';

import { LocalPoolRunner } from '../local.js';
import type { RunningAttempt } from '../runner.js';
import { systemClock } from '../../model/clock.js';
import { RecentMap } from '../../model/recentMap.js';
import { ModuleRegistry } from '../../modules/registry.js';
import type { Tracing } from '../../traces/tracing.js';
import { ArtifactExchange } from '../artifacts.js';
import { JetStreamArtifactStore } from '../jetstreamArtifacts.js';
import { WorkerPool } from '../pool.js';
import { ResultReporter } from './results.js';
import { runAttempts } from './execute.js';
import { openWorkQueues } from './workQueues.js';
import type { Logger } from 'pino';
import type {
  CancelMessage,
  RemoteSubjects,
  ResultAck,
  ResultMessage,
  StartedMessage,
  WorkBatch,
  WorkerInfo,
  WorkMessage,
} from './protocol.js';
import { encode, MAX_HOLDING, REMOTE_PROTOCOL, remoteSubjects, workerGroup } from './protocol.js';
import { decodeAs } from './schemas.js';

export interface RemoteWorkerOptions {
  /**
   * Opens its NATS connection (the CLI's `connectNats`, reconnecting forever): the worker is handed the way to its
   * server rather than the servers, so this layer needs no NATS edge.
   */
  connect: () => Promise<NatsConnection>;
  subjectPrefix: string;
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

/** Dispatches cancelled before this worker took them, remembered this many at least. */
const CANCELLED_MAX = 10_000;
/** When stopping, how long a result waits for the daemon's answer before it is kept for the next daemon. */
const KEEP_AFTER_MS = 1500;

export class RemoteWorker {
  readonly id = randomUUID();
  readonly #o: RemoteWorkerOptions;
  readonly #log: Logger;
  readonly #s: RemoteSubjects;
  readonly #running = new Map<string, RunningAttempt>();
  /** Dispatches cancelled before this worker took them. */
  readonly #cancelled = new RecentMap<string, true>(CANCELLED_MAX);
  #pool: WorkerPool | null = null;
  #runner: LocalPoolRunner | null = null;
  #nc: NatsConnection | null = null;
  #removeOwn: () => Promise<void> = () => Promise.resolve();
  /** Puts a result in the kept stream (durably) for the next daemon. */
  #keep: (result: ResultMessage) => Promise<void> = () => Promise.reject(new Error('not connected'));
  #modules: string[] = [];
  #group = '';
  #stopping = false;
  #loops: Promise<void>[] = [];
  /** Results sent and not answered yet. */
  readonly #reporting = new Set<Promise<void>>();
  /** Results on their way to the daemon (several per request), sent again until it answers. */
  readonly #results: ResultReporter;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  readonly #startedAt = Date.now();
  readonly #capacity: number;

  constructor(options: RemoteWorkerOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#s = remoteSubjects(options.subjectPrefix);
    this.#capacity = options.threads * (options.concurrency ?? 1);
    this.#results = new ResultReporter(() => this.#nc, this.#s.result, options.log);
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
      holding: this.#results.holding(MAX_HOLDING),
    };
  }

  /** Loads the modules, boots the pool, connects, and starts pulling. */
  async start(): Promise<void> {
    const o = this.#o;
    const registry = await ModuleRegistry.load(o.moduleDirs);
    this.#modules = [...new Set(registry.list().map((a) => a.module))].sort();
    this.#group = workerGroup(this.#modules, o.tags);
    // The daemon never has more in flight here than the pool's slots: no stops needed to drop queued ones, and each
    // thread runs its --concurrency attempts at once.
    this.#pool = new WorkerPool({
      threads: o.threads,
      concurrentTasksPerWorker: o.concurrency ?? 1,
      moduleDirs: o.moduleDirs,
      noQueueStops: (o.concurrency ?? 1) > 1,
      ...(o.tracing ? { tracing: { maxAttributeLength: o.maxAttributeLength ?? 4096 } } : {}),
    });
    await this.#pool.booted(30_000);
    this.#runner = new LocalPoolRunner(this.#pool, systemClock);
    const nc = (this.#nc = await o.connect());
    const queues = await openWorkQueues(nc, {
      subjectPrefix: o.subjectPrefix,
      subjects: this.#s,
      group: this.#group,
      workerId: this.id,
      ackWaitMs: o.ackWaitMs,
    });
    const { js, stream, group, own } = queues;
    this.#keep = (r) => queues.keep(r);
    this.#removeOwn = () => queues.removeOwn();
    // Artifacts travel through the Object Store: fetched before an attempt, stored after it succeeds.
    this.#runner.artifacts = new ArtifactExchange(await JetStreamArtifactStore.open(js, o.subjectPrefix));
    nc.subscribe(this.#s.cancel, {
      callback: (err, msg) => {
        if (err) return;
        try {
          this.#cancel(decodeAs('cancel', msg.data));
        } catch (e) {
          this.#log.warn({ subject: msg.subject, err: (e as Error).message }, 'bad cancel message, ignored');
        }
      },
    });
    nc.subscribe(this.#s.hello, {
      callback: () => {
        this.#results.resendAll();
        this.#beat();
      },
    });
    this.#beat();
    this.#heartbeat = setInterval(() => this.#beat(), o.heartbeatMs);
    // One pull per slot on each consumer: the daemon never has more than `capacity` in flight here in all.
    for (let i = 0; i < this.#capacity; i++) this.#loops.push(this.#pull(group), this.#pull(own));
    this.#log.info(
      {
        id: this.id,
        worker: o.name,
        group: this.#group,
        tags: o.tags,
        modules: this.#modules.length,
        threads: o.threads,
        capacity: this.#capacity,
        stream,
        ackWaitMs: o.ackWaitMs,
      },
      'worker ready',
    );
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
      this.#cancelled.set(m.dispatch, true);
      return;
    }
    this.#log.info(
      { dispatch: m.dispatch, kind: m.kind, reason: m.reason },
      m.kind === 'abort' ? 'task aborted by the daemon' : 'task killed by the daemon',
    );
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

  /** One work message: one attempt, or several the daemon sent together. */
  async #handle(msg: JsMsg): Promise<void> {
    let data: WorkMessage | WorkBatch;
    try {
      data = decodeAs('work', msg.data);
    } catch (err) {
      // Not a work message of this protocol: taken out of the stream for good (redelivering it cannot help).
      this.#log.warn({ subject: msg.subject, seq: msg.seq, err: (err as Error).message }, 'bad work message, dropped');
      // No reason with the +TERM: nats-server before 2.10 ignores a +TERM that carries one, and redelivers.
      msg.term();
      return;
    }
    const deliveries = msg.info.deliveryCount;
    const nc = this.#nc;
    const runner = this.#runner;
    if (!nc || !runner) return;
    // Killed by the daemon before this worker took it: skipped (the daemon has settled it). Dispatched again by a
    // restarted daemon while this worker still holds the result of its earlier run: that result is sent again (the
    // daemon applies it to this dispatch) instead of running the task a second time.
    const items = ('batch' in data ? data.batch : [data]).filter((m) => {
      if (this.#cancelled.has(m.dispatch)) return false;
      if (!this.#results.resendEarlier(m.taskId, m.dispatch)) return true;
      this.#log.info(
        { taskId: m.taskId, dispatch: m.dispatch },
        'dispatched again while its earlier result waits: sending that result',
      );
      return false;
    });
    if (items.length === 0) {
      msg.term();
      return;
    }
    const started = items.map((m): StartedMessage => ({
      dispatch: m.dispatch,
      worker: this.id,
      deliveries,
      attempt: m.attempt + deliveries - 1,
    }));
    nc.publish(this.#s.started, encode(started.length === 1 ? started[0] : { batch: started }));
    // Traced: each attempt's span continues the daemon's (a malformed or missing context starts a new trace), and
    // the attempt runs in it.
    const spans = items.map((m, i) => {
      const span = this.#o.tracing?.startSpan(`process ${m.module}.${m.action}`, {
        kind: 'consumer',
        traceparent: m.traceparent,
        attributes: {
          'messaging.system': 'nats',
          'messaging.destination.name': msg.subject,
          'messaging.operation.type': 'process',
          'codomyrmex.task_id': m.taskId,
          'codomyrmex.task': m.name,
          'codomyrmex.module': m.module,
          'codomyrmex.action': m.action,
          'codomyrmex.attempt': started[i]?.attempt ?? m.attempt,
          'codomyrmex.worker': this.#o.name,
          ...(items.length > 1 && { 'messaging.batch.message_count': items.length }),
        },
      });
      if (span) items[i] = { ...m, traceparent: span.traceparent };
      return span;
    });
    const ids = (i: number): { trace_id?: string; span_id?: string } => {
      const span = spans[i];
      return span ? { trace_id: span.traceId, span_id: span.spanId } : {};
    };
    started.forEach((st, i) =>
      this.#log.debug({ taskId: items[i]?.taskId, attempt: st.attempt, deliveries, ...ids(i) }, 'task started'),
    );
    const alive = setInterval(() => msg.working(), Math.max(200, Math.floor(this.#o.ackWaitMs / 3)));
    // Acked once the daemon has answered every result in it (after its commit); not at all if the connection closed.
    let left = items.length;
    let closed = false;
    const answered = (m: WorkMessage, ack: ResultAck | null): void => {
      if (ack && !ack.accepted)
        this.#log.warn(
          { taskId: m.taskId, dispatch: m.dispatch, reason: ack.reason },
          'the daemon did not take the result',
        );
      if (!ack) closed = true;
      if (--left > 0) return;
      clearInterval(alive);
      if (!closed) msg.ack();
    };
    const outcomes = runAttempts(
      { runner, running: this.#running, progress: (p) => nc.publish(this.#s.progress, encode(p)) },
      items,
      deliveries,
    );
    // The slots are free for the next message once the attempts ended, while their results wait for the daemon's
    // commit (the message stays unacked, and kept alive, until then).
    await Promise.all(
      outcomes.map((outcome, i) =>
        outcome.then((o) => {
          const m = items[i] as WorkMessage;
          const span = spans[i];
          if (span) {
            // The thread's spans leave from here, under this worker's service name; the daemon gets the outcome alone.
            if (o.type !== 'crashed' && o.spans) {
              this.#o.tracing?.exportSpans(o.spans);
              delete o.spans;
            }
            span.end(o.type === 'ok' ? null : o.error);
          }
          this.#log.debug({ taskId: m.taskId, outcome: o.type, ...ids(i) }, 'task ended');
          const reported = this.#results
            .report({ dispatch: m.dispatch, worker: this.id, name: this.#o.name, taskId: m.taskId, outcome: o })
            .then((ack) => answered(m, ack));
          this.#reporting.add(reported);
          void reported.finally(() => this.#reporting.delete(reported));
        }),
      ),
    );
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
    await this.#results.keepUnanswered(this.#keep);
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
