/**
 * `codomyrmex daemon`: a long-lived engine on the SQLite store, with the HTTP edge (`/metrics`, `/healthz`,
 * `/readyz`) and, when NATS is configured, the NATS edge (commands and events). Its lifecycle is explicit:
 *
 *   starting -> running -> draining -> stopped
 *        \-> failed          (a start that could not complete, or a drain that failed)
 *
 * The first SIGTERM or SIGINT drains: new work is refused, running tasks get up to the grace period to finish, the
 * state is persisted (runs still in flight stay `running` in SQLite and resume at the next start), NATS is closed,
 * and the process exits 0. A second signal forces an exit (1) at once; SQLite's WAL keeps what was committed.
 */
import { BehaviorSubject, type Observable } from 'rxjs';
import { OrchestrationEngine } from '../../actors/engine/engine.js';
import type { AttachedEdge } from '../../actors/engine/engine.js';
import { hostname } from 'node:os';
import { serializeError } from '../../errors.js';
import { DAEMON_META_KEY, type DaemonAddress } from '../../store/fileGuard.js';
import { startEdges } from '../start.js';
import { NatsEdge } from '../nats/edge.js';
import type { TaskRunner } from '../../actors/tasks/runner.js';
import { CombinedRunner } from '../remote/combined.js';
import { RemoteWorkersEdge } from '../remote/edge.js';
import { RemoteRunner } from '../remote/runner.js';
import type { RuntimeState } from '../../model/runtime.js';
import type { Logger } from './logger.js';
import type { DaemonOptions } from './options.js';

/** The daemon's lifecycle states: the engine's own (the runtime machine's). */
export type DaemonState = RuntimeState;

/** The moves the daemon's lifecycle allows (a subset of the runtime machine's: it has no component to wait on). */
const NEXT: Record<DaemonState, readonly DaemonState[]> = {
  starting: ['running', 'draining', 'failed'],
  running: ['draining', 'failed'],
  draining: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

export class Daemon {
  readonly options: DaemonOptions;
  readonly log: Logger;
  readonly engine: OrchestrationEngine;
  #nats: NatsEdge | null = null;
  readonly #state$ = new BehaviorSubject<DaemonState>('starting');
  #stopping: Promise<void> | null = null;
  #remote: { remote: RemoteRunner; combined: CombinedRunner } | null = null;

  /** Builds the engine (opening the store: a locked or corrupt database throws here, naming the file). */
  constructor(options: DaemonOptions, log: Logger) {
    this.options = options;
    this.log = log;
    const w = options.workers;
    // With remote workers the scheduler's bound is theirs (each worker's threads), unless one is given.
    const concurrency = w.remote && options.engineInput.maxConcurrency === undefined ? { maxConcurrency: 1_000_000 } : {};
    this.engine = new OrchestrationEngine({ ...options.engineInput, ...concurrency, http: false }, { store: 'sqlite' }, {
      edges: (engine) => this.#edges(engine),
      ...(w.remote ? { runner: (local: TaskRunner, engine: OrchestrationEngine) => this.#remoteRunner(local, engine) } : {}),
    });
    this.#logEvents();
  }

  get state(): DaemonState {
    return this.#state$.value;
  }

  /** The state now and each change. */
  state$(): Observable<DaemonState> {
    return this.#state$.asObservable();
  }

  /** The NATS edge, when NATS is configured. */
  get nats(): NatsEdge | null {
    return this.#nats;
  }

  #to(state: DaemonState, fields: Record<string, unknown> = {}): void {
    const from = this.#state$.value;
    if (!NEXT[from].includes(state)) return;
    this.#state$.next(state);
    this.log.info({ state, from, ...fields }, `daemon ${state}`);
  }

  #remoteRunner(local: TaskRunner, engine: OrchestrationEngine): TaskRunner {
    const nats = this.options.nats;
    if (!nats) return local;
    const remote = new RemoteRunner({
      subjectPrefix: nats.subjectPrefix,
      run: engine.id,
      lostAfterMs: this.options.workers.lostAfterMs,
      afterCommit: () => engine.commits.afterCommit(null),
      taskStatus: (id) => engine.store.getTaskStatus(id) ?? null,
      log: this.log.child({ edge: 'workers' }),
    });
    const combined = new CombinedRunner(this.options.workers.local ? local : null, remote);
    this.#remote = { remote, combined };
    return combined;
  }

  async #edges(engine: OrchestrationEngine): Promise<AttachedEdge[]> {
    const edges = await startEdges(engine, { http: this.options.http });
    if (this.#remote && this.options.nats) edges.push(new RemoteWorkersEdge(engine, this.#remote.remote, this.#remote.combined, this.options.workers.local, this.options.nats, this.log));
    if (this.options.nats) {
      this.#nats = new NatsEdge(engine, this.options.nats, this.log);
      edges.push(this.#nats);
    }
    return edges;
  }

  /** Resolves once the engine runs (NATS may still be connecting: see `/readyz`); rejects if it could not start. */
  async start(): Promise<void> {
    try {
      await this.engine.ready();
    } catch (err) {
      this.#to('failed', { err: serializeError(err) });
      throw err;
    }
    const http = this.engine.httpAddress;
    if (http && this.options.http?.console) await this.#recordAddress(http.url);
    this.#to('running', {
      engineId: this.engine.id,
      threads: this.engine.options.threads,
      store: this.engine.store.location,
      http: http ? `${http.host}:${http.port}` : null,
      console: http && this.options.http?.console ? `${http.url}/` : null,
      nats: this.options.nats ? { servers: this.options.nats.servers, subjectPrefix: this.options.nats.subjectPrefix, status: this.#nats?.status } : null,
      config: this.options.configFile,
    });
  }

  /**
   * Records where the console and API listen in the store's `meta` (readable while this daemon holds the file), so
   * that a CLI command run against the same folder talks to this daemon over HTTP instead of failing on the lock.
   */
  async #recordAddress(url: string): Promise<void> {
    const address: DaemonAddress = { url, pid: process.pid, host: hostname(), engineId: this.engine.id, since: new Date().toISOString() };
    const commits = this.engine.commits;
    let pending = true;
    const unregister = commits.register({
      collect: (batch) => {
        if (pending) batch.meta[DAEMON_META_KEY] = JSON.stringify(address);
      },
      committed: () => (pending = false),
      failed: () => undefined,
    });
    try {
      await commits.afterCommit(null);
    } catch (err) {
      this.log.warn({ err: serializeError(err) }, 'could not record the HTTP address in the store: CLI commands in this folder will not find the daemon by themselves (use --daemon URL)');
    } finally {
      unregister();
    }
  }

  /** Drains and stops (see the file's comment). Every call returns the same promise. */
  stop(reason = 'requested'): Promise<void> {
    this.#stopping ??= (async () => {
      this.#to('draining', { reason, graceMs: this.options.graceMs });
      try {
        await this.engine.shutdown({ graceMs: this.options.graceMs });
        this.#to('stopped');
      } catch (err) {
        this.#to('failed', { err: serializeError(err) });
        throw err;
      }
    })();
    return this.#stopping;
  }

  /**
   * SIGTERM/SIGINT: the first drains and then calls `exit(0)` (or `exit(1)` if the drain failed); the second
   * forces `exit(1)` at once. Returns the function that removes the handlers.
   */
  handleSignals(exit: (code: number) => void): () => void {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        this.log.warn({ signal, state: this.state }, 'second signal: exiting now, without waiting for the drain');
        exit(1);
        return;
      }
      this.log.info({ signal, graceMs: this.options.graceMs }, 'signal received: draining (send it again to force)');
      this.stop(signal).then(
        () => exit(0),
        () => exit(1),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    return () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
  }

  #logEvents(): void {
    const log = this.log;
    const e = this.engine;
    e.registerEventHandler('recovery', (_, d) => log.info(d, 'recovered from the store'));
    e.registerEventHandler('definition_skipped', (_, d) => log.warn({ file: d.file, err: d.error.message }, 'workflow definition skipped'));
    e.registerEventHandler('workflow_started', (_, d) => log.info(d, 'workflow started'));
    e.registerEventHandler('workflow_completed', (_, d) => (d.success ? log.info(d, 'workflow completed') : log.warn(d, 'workflow ended without success')));
    e.registerEventHandler('schedule_fired', (_, d) => log.info(d, 'schedule fired'));
    e.registerEventHandler('schedule_skipped', (_, d) => log.info({ ...d, error: d.error?.message }, 'schedule slot skipped'));
    e.registerEventHandler('schedule_missed', (_, d) => log.warn(d, 'schedule slots missed (older than the catch-up window)'));
    e.registerEventHandler('trigger_fired', (_, d) => log.info(d, 'trigger fired'));
    e.registerEventHandler('trigger_rejected', (_, d) => log.warn(d, 'trigger message rejected'));
    e.registerEventHandler('task_failed', (_, d) => log.warn({ taskId: d.taskId, name: d.name, err: d.error.message }, 'task failed'));
    e.registerEventHandler('store_failed', (_, d) => log.error(d, 'store failing'));
    e.registerEventHandler('store_recovered', (_, d) => log.info(d, 'store recovered'));
    e.registerEventHandler('component_error', (_, d) => log.error(d, 'component error'));
    e.registerEventHandler('handler_error', (_, d) => log.warn(d, 'event handler error'));
    if (log.isLevelEnabled('debug')) e.registerEventHandler('*', (event, data) => log.debug({ event, data }, 'event'));
  }
}
