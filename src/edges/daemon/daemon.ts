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
 *
 * On a PostgreSQL store several daemons share the database: each starts as a standby (`starting -> standby`),
 * serving HTTP (`/healthz` healthy with `role: "standby"`, `/readyz` not ready) and nothing else, until it takes
 * the lease (standby.ts); then it opens the store on the lease's epoch, starts its engine (restoring state as a
 * restart does) and its NATS edge, and runs. A daemon whose lease is taken over (it was paused or cut off past
 * `--failover-after`) closes its NATS edge at once and exits 4 without writing: see docs/postgres.md.
 */
import { randomUUID } from 'node:crypto';
import { BehaviorSubject, type Observable } from 'rxjs';
import { OrchestrationEngine } from '../../actors/engine/engine.js';
import type { AttachedEdge } from '../../actors/engine/engine.js';
import type { HttpHandlers } from '../../actors/engine/views.js';
import { serializeError } from '../../errors.js';
import type { StoreError } from '../../errors.js';
import { PostgresStore } from '../../store/postgres.js';
import { HttpEdge } from '../http/server.js';
import { DaemonRegistry } from './standby.js';
import type { DaemonRole } from './standby.js';
import { startEdges } from '../start.js';
import { daemonConnection, NatsEdge } from '../nats/edge.js';
import { NatsBus } from '../../bus/nats.js';
import { serveStandbyPresence } from '../../bus/natsStandby.js';
import type { TaskRunner } from '../../workers/runner.js';
import { CombinedRunner } from '../../workers/combined.js';
import { RemoteWorkersEdge } from './workers.js';
import { JetStreamRunner } from '../../workers/jetstream/runner.js';
import type { RuntimeState } from '../../model/runtime.js';
import type { Logger } from './logger.js';
import type { DaemonOptions } from './options.js';
import type { Tracing } from '../../traces/tracing.js';
import { recordDaemonAddress } from './address.js';
import { logEngineEvents } from './eventLog.js';
import { daemonHttpHandlers } from './health.js';

/** The daemon's lifecycle states: the engine's own (the runtime machine's), plus `standby` (waiting for the lease). */
export type DaemonState = RuntimeState | 'standby';

/** The exit code of a daemon whose lease was taken over (fenced). */
export const EXIT_FENCED = 4;

/** The moves the daemon's lifecycle allows. */
const NEXT: Record<DaemonState, readonly DaemonState[]> = {
  starting: ['standby', 'running', 'draining', 'failed'],
  standby: ['running', 'draining', 'failed'],
  running: ['draining', 'failed'],
  draining: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

export class Daemon {
  readonly options: DaemonOptions;
  readonly log: Logger;
  /** This daemon's id (the lease's holder on a PostgreSQL store). */
  readonly id = `daemon-${randomUUID()}`;
  #engine: OrchestrationEngine | null = null;
  #nats: NatsEdge | null = null;
  /** The lease epoch this daemon took on a shared database (null: not on one, or not active yet). */
  #epoch: number | null = null;
  readonly #state$ = new BehaviorSubject<DaemonState>('starting');
  #stopping: Promise<void> | null = null;
  #remote: { remote: JetStreamRunner; combined: CombinedRunner } | null = null;
  /** Active/standby on a shared PostgreSQL database; null on SQLite or memory. */
  readonly #registry: DaemonRegistry | null = null;
  /** The daemon's own HTTP edge on a shared database (it serves the standby before there is an engine). */
  #http: HttpEdge | null = null;
  readonly #startedAt = Date.now();
  #exit: (code: number) => void = (code) => process.exit(code);

  /**
   * On SQLite, builds the engine (opening the store: a locked or corrupt database throws here, naming the file).
   * On PostgreSQL the engine is built when this daemon takes the lease (see {@link start}).
   */
  constructor(options: DaemonOptions, log: Logger) {
    this.options = options;
    this.log = log;
    const pg = options.engine.postgres;
    if (options.engine.store === 'postgres' && pg) {
      this.#registry = new DaemonRegistry({
        url: pg.url,
        id: this.id,
        leaseTtlMs: options.failoverAfterMs,
        migrate: pg.migrate,
        log,
        http: () => this.#http?.address.url ?? null,
      });
      return;
    }
    this.#engine = this.#build();
  }

  #build(store?: PostgresStore): OrchestrationEngine {
    const options = this.options;
    const w = options.workers;
    // With remote workers the scheduler's bound is theirs (each worker's threads), unless one is given.
    const concurrency =
      w.remote && options.engineInput.maxConcurrency === undefined ? { maxConcurrency: 1_000_000 } : {};
    const engine = new OrchestrationEngine(
      { ...options.engineInput, ...concurrency, http: false },
      { store: 'sqlite' },
      {
        edges: (e) => this.#edges(e),
        ...(w.remote ? { runner: (local: TaskRunner, e: OrchestrationEngine) => this.#remoteRunner(local, e) } : {}),
        ...(store ? { store: () => store } : {}),
      },
    );
    this.#engine = engine;
    logEngineEvents(engine, this.log);
    return engine;
  }

  /** The engine (on a shared database: once this daemon is active). */
  get engine(): OrchestrationEngine {
    if (!this.#engine) throw new Error('this daemon is a standby: it has no engine until it takes over');
    return this.#engine;
  }

  /** Its engine's tracing (for log lines' trace ids); null while a standby, or when tracing is off. */
  get tracing(): Tracing | null {
    return this.#engine?.tracing ?? null;
  }

  /** `active` once it runs an engine; `standby` while another daemon holds the database's lease. */
  get role(): DaemonRole {
    return this.#engine ? 'active' : 'standby';
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
    const remote = new JetStreamRunner({
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
    // On a shared database the daemon serves HTTP itself (it did as a standby): the engine gets none.
    const edges = await startEdges(engine, { http: this.#registry ? null : this.options.http });
    if (this.#registry && this.options.http) {
      // The standby's edge served health and metrics only; the active one adds the console and the API (they need
      // the engine), on the same port.
      const standby = this.#http;
      await standby?.close();
      engine.metrics?.addProcessMetrics();
      const http = await HttpEdge.start(
        this.#httpHandlers(),
        standby ? { ...this.options.http, port: standby.address.port } : this.options.http,
        engine,
      );
      this.#http = http;
      edges.push({ name: 'http', address: http.address, close: () => http.close() });
    }
    if (this.#remote && this.options.nats)
      edges.push(
        new RemoteWorkersEdge(
          engine,
          this.#remote.remote,
          this.#remote.combined,
          this.options.workers.local,
          this.options.nats,
          this.log,
        ),
      );
    if (this.options.nats) {
      // On a shared database, commands are served in the lease's own queue group (see NatsBusOptions.serveGroup).
      const nats =
        this.#epoch === null ? this.options.nats : { ...this.options.nats, serveGroup: `lease${this.#epoch}` };
      this.#nats = new NatsEdge(engine, nats, this.log);
      edges.push(this.#nats);
    }
    return edges;
  }

  /**
   * Resolves once the engine runs (NATS may still be connecting: see `/readyz`); rejects if it could not start. On a
   * shared database, first waits as a standby until this daemon takes the lease (resolves at once if stopped first).
   */
  async start(): Promise<void> {
    try {
      if (this.#registry) {
        const engine = await this.#standby(this.#registry);
        if (!engine) return;
      }
      await this.engine.ready();
    } catch (err) {
      this.#to('failed', { err: serializeError(err) });
      throw err;
    }
    const http = this.engine.httpAddress;
    if (http && this.options.http?.console) await recordDaemonAddress(this.engine, http.url, this.log);
    this.#to('running', {
      engineId: this.engine.id,
      threads: this.engine.options.threads,
      store: this.engine.store.location,
      http: http ? `${http.host}:${http.port}` : null,
      console: http && this.options.http?.console ? `${http.url}/` : null,
      nats: this.options.nats
        ? {
            servers: this.options.nats.servers,
            subjectPrefix: this.options.nats.subjectPrefix,
            status: this.#nats?.status,
          }
        : null,
      config: this.options.configFile,
    });
  }

  /** Serves HTTP as a standby, waits for the lease, then builds the engine on it. Null when stopped meanwhile. */
  async #standby(registry: DaemonRegistry): Promise<OrchestrationEngine | null> {
    if (this.options.http) this.#http = await HttpEdge.start(this.#httpHandlers(), this.options.http);
    this.#to('standby', {
      role: 'standby',
      id: this.id,
      database: registry.location,
      http: this.#http ? `${this.#http.address.host}:${this.#http.address.port}` : null,
      failoverAfterMs: this.options.failoverAfterMs,
    });
    const presence = this.#announceStandby();
    const takeover = await registry.waitForLease();
    await (
      await presence
    )?.();
    if (!takeover || this.#stopping) return null;
    const pg = this.options.engine.postgres;
    if (!pg) return null;
    const o = this.options.engine;
    const store = await PostgresStore.openAsync({
      url: pg.url,
      engineId: this.id,
      adoptEpoch: takeover.epoch,
      leaseTtlMs: this.options.failoverAfterMs,
      migrate: pg.migrate,
      durability: o.durability,
      journalMaxEvents: o.journalMaxEvents,
      journalMaxAgeMs: o.journalMaxAgeMs,
      retention: o.storeRetention,
    });
    store.onFenced((err) => this.#fenced(err));
    this.#epoch = takeover.epoch;
    this.log.info(
      { role: 'active', id: this.id, epoch: takeover.epoch, previous: takeover.previous, waitedMs: takeover.waitedMs },
      'took the lease: this daemon is active; restoring state from the database',
    );
    const engine = this.#build(store);
    engine.registerComponentView('daemons', {
      status: async () => ({ self: this.id, role: this.role, epoch: store.epoch, peers: await registry.peers() }),
    });
    await registry.becameActive(takeover.epoch);
    return engine;
  }

  /**
   * While a standby, answers `<prefix>.standby` on NATS, so a client whose command found no daemon waits for this one
   * to take over instead of failing (natsStandby.ts). Resolves with the function that stops answering.
   */
  async #announceStandby(): Promise<(() => Promise<void>) | null> {
    const o = this.options.nats;
    if (!o) return null;
    try {
      const bus = await NatsBus.connect({
        ...daemonConnection(o, `codomyrmex-standby-${this.id.slice(0, 8)}`),
        subjectPrefix: o.subjectPrefix,
      });
      const sub = serveStandbyPresence(bus.connection, bus.subjectPrefix, {
        id: this.id,
        failoverAfterMs: this.options.failoverAfterMs,
      });
      return async () => {
        sub.unsubscribe();
        await bus.close().catch(() => undefined);
      };
    } catch (err) {
      this.log.warn(
        { err: serializeError(err) },
        'standby: cannot reach NATS; clients will not wait for this standby during a failover',
      );
      return null;
    }
  }

  /** The lease was taken over: stop answering NATS at once, write nothing, exit (a supervisor restarts it as a standby). */
  #fenced(err: StoreError): void {
    void this.#registry?.stop(false);
    this.log.error(
      { role: 'fenced', id: this.id, err: err.message, exitCode: EXIT_FENCED },
      'lease lost: another daemon is active; this one stops without writing and exits',
    );
    const nats = this.#nats;
    void (nats ? nats.close().catch(() => undefined) : Promise.resolve()).then(() => {
      this.log.flush();
      this.#exit(EXIT_FENCED);
    });
  }

  /** What the daemon's own HTTP edge serves (health.ts). */
  #httpHandlers(): HttpHandlers {
    return daemonHttpHandlers({ engine: () => this.#engine, role: () => this.role, startedAt: this.#startedAt });
  }

  /** Drains and stops (see the file's comment). Every call returns the same promise. */
  stop(reason = 'requested'): Promise<void> {
    this.#stopping ??= (async () => {
      this.#to('draining', { reason, graceMs: this.options.graceMs });
      try {
        if (this.#engine) await this.#engine.shutdown({ graceMs: this.options.graceMs });
        await this.#http?.close();
        await this.#registry?.stop();
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
    this.#exit = exit;
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
}
