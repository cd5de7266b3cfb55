/**
 * The daemon's remote-workers edge: its own NATS connection (retried while NATS is down at start) on which the
 * {@link JetStreamRunner} publishes work and hears workers; the `workers` component view (health, `/readyz`, the
 * status view) and the workers' metrics.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import type { AttachedEdge, OrchestrationEngine } from '../../actors/engine/engine.js';
import type { ComponentHealth } from '../../actors/engine/health.js';
import type { Logger } from './logger.js';
import { JetStreamArtifactStore } from '../../workers/jetstreamArtifacts.js';
import { natsConnectOptions } from '../../bus/nats.js';
import { daemonConnection } from '../nats/edge.js';
import type { ConnectRetry } from '../nats/retry.js';
import { retryConnect } from '../nats/retry.js';
import type { DaemonNatsOptions } from '../nats/edge.js';
import type { CombinedRunner } from '../../workers/combined.js';
import { registerWorkerMetrics } from '../../workers/jetstream/metrics.js';
import type { JetStreamRunner } from '../../workers/jetstream/runner.js';

export class RemoteWorkersEdge implements AttachedEdge {
  readonly name = 'workers';
  readonly address = null;
  readonly #engine: OrchestrationEngine;
  readonly #runner: JetStreamRunner;
  readonly #combined: CombinedRunner;
  readonly #local: boolean;
  readonly #nats: DaemonNatsOptions;
  readonly #log: Logger;
  #nc: NatsConnection | null = null;
  #closed = false;
  #attached = false;
  /** The first connection, retried while NATS is down. */
  readonly #retry: ConnectRetry;
  readonly #unregister: () => void;

  constructor(
    engine: OrchestrationEngine,
    runner: JetStreamRunner,
    combined: CombinedRunner,
    local: boolean,
    nats: DaemonNatsOptions,
    log: Logger,
  ) {
    this.#engine = engine;
    this.#runner = runner;
    this.#combined = combined;
    this.#local = local;
    this.#nats = nats;
    this.#log = log.child({ edge: 'workers' });
    this.#unregister = engine.registerComponentView('workers', {
      health: () => this.health(),
      ready: () => this.ready(),
      status: () => this.statusView(),
    });
    this.#metrics(engine);
    this.#retry = retryConnect(
      nats,
      () => this.#connect(engine.id),
      (err, retryInMs) =>
        this.#log.warn(
          { err: (err as Error).message, retryInMs },
          'remote workers: NATS or JetStream not reachable; retrying',
        ),
    );
  }

  ready(): { ok: boolean; detail: string } {
    const live = this.#runner.directory.live().length;
    if (this.#local) return { ok: true, detail: `${live} remote worker(s) next to the local threads` };
    if (!this.#attached)
      return {
        ok: false,
        detail:
          'not connected to NATS yet: no remote worker can be reached, and there are no local threads (--no-local-workers)',
      };
    if (live === 0)
      return {
        ok: false,
        detail:
          'no remote worker is connected and there are no local threads (--no-local-workers); start one with `codomyrmex worker --nats URL`',
      };
    return { ok: true, detail: `${live} remote worker(s)` };
  }

  health(): ComponentHealth {
    const r = this.ready();
    return { status: r.ok ? 'healthy' : 'degraded', detail: r.detail };
  }

  statusView(): Record<string, unknown> {
    const views = this.#runner.directory.views(Date.now());
    return {
      local: this.#local,
      connected: this.#attached,
      stream: this.#runner.stream,
      inFlight: this.#runner.inFlight,
      localInFlight: this.#combined.localInFlight,
      ...this.#runner.counters,
      workers: views,
    };
  }

  #metrics(engine: OrchestrationEngine): void {
    const registry = engine.metrics?.registry;
    if (registry) registerWorkerMetrics(registry, this.#runner);
  }

  /** One try at connecting and serving the work stream (unless the edge closed meanwhile). */
  async #connect(run: string): Promise<void> {
    try {
      const nc = await connect(
        natsConnectOptions(daemonConnection(this.#nats, `codomyrmex-daemon-workers-${run.slice(0, 8)}`)),
      );
      if (this.#closed) {
        await nc.close();
        return;
      }
      this.#nc = nc;
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      // The daemon's own threads store and fetch artifacts where remote workers do: the Object Store.
      this.#engine.artifacts.use(await JetStreamArtifactStore.open(js, this.#nats.subjectPrefix));
      await this.#runner.attach(nc, js, jsm);
      this.#attached = true;
      this.#log.info({ stream: this.#runner.stream, local: this.#local }, 'remote workers: serving the work stream');
    } catch (err) {
      await this.#nc?.close().catch(() => undefined);
      this.#nc = null;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retry.stop();
    await this.#retry.done;
    this.#runner.close();
    await this.#nc?.drain().catch(() => undefined);
    this.#unregister();
  }
}
