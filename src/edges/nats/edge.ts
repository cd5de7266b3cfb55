/**
 * The NATS edge of a daemon: the engine's command API on `<prefix>.cmd.<component>.<verb>` and its events on
 * `<prefix>.evt.<event>` (through {@link bridgeToNats}). It never blocks the engine's start: while NATS is down at
 * start it retries with backoff (and `/readyz` says not ready); when the connection is lost later the client
 * reconnects by itself, and health says `degraded` while it is gone. Credentials and TLS come from options.
 */
import { readFileSync } from 'node:fs';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { credsAuthenticator } from '@nats-io/transport-node';
import type { Subscription } from 'rxjs';
import type { AttachedEdge, OrchestrationEngine } from '../../actors/engine/engine.js';
import type { ComponentHealth } from '../../actors/engine/health.js';
import { bridgeToNats } from '../../bus/bridge.js';
import { serveDiscovery } from '../../bus/natsService.js';
import { natsTriggerTransport } from './triggers.js';
import type { ConnectRetry } from './retry.js';
import { retryConnect } from './retry.js';
import { packageVersion } from '../../config/options.js';

/** This package's version, as the NATS service reports it. */
const PACKAGE_VERSION = packageVersion();
import { NatsBus } from '../../bus/nats.js';
import type { NatsConnectOptions } from '../../bus/nats.js';
import type { Unsubscribe } from '../../bus/bus.js';
import type { Logger } from 'pino';

/** `connecting`: never connected yet (retrying); `reconnecting`: connected once, lost, the client redials. */
export type NatsEdgeStatus = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** How the daemon reaches NATS. */
export interface DaemonNatsOptions {
  servers: string[];
  subjectPrefix: string;
  /** How long a request over NATS waits for its reply (default 30 000 ms). */
  requestTimeoutMs: number;
  user?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  /** A `.creds` file (JWT + nkey seed). */
  credsFile?: string | undefined;
  tls?: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined } | undefined;
  /** Backoff between first-connect attempts while NATS is down at start. */
  retryInitialMs: number;
  retryMaxMs: number;
  /** See `NatsBusOptions.serveGroup`: set to the lease's epoch by a daemon on a shared database. */
  serveGroup?: string | undefined;
}

/** The nats.js connection options for these daemon options: credentials and TLS, read from files where named. */
export function connectionOptions(
  o: Pick<DaemonNatsOptions, 'user' | 'password' | 'token' | 'credsFile' | 'tls'>,
): Omit<NodeConnectionOptions, 'servers' | 'name'> {
  const out: Omit<NodeConnectionOptions, 'servers' | 'name'> = { maxReconnectAttempts: -1, reconnectTimeWait: 500 };
  if (o.user !== undefined) {
    out.user = o.user;
    out.pass = o.password ?? '';
  }
  if (o.token !== undefined) out.token = o.token;
  if (o.credsFile !== undefined) {
    const file = o.credsFile;
    out.authenticator = credsAuthenticator(new Uint8Array(readFileSync(file)));
  }
  if (o.tls) {
    out.tls = {
      ...(o.tls.caFile !== undefined ? { caFile: o.tls.caFile } : {}),
      ...(o.tls.certFile !== undefined ? { certFile: o.tls.certFile } : {}),
      ...(o.tls.keyFile !== undefined ? { keyFile: o.tls.keyFile } : {}),
    };
  }
  return out;
}

/**
 * Where and how one of the daemon's NATS connections connects (the command edge's, the remote workers', a standby's):
 * its servers, credentials and TLS; `name` tells the connections apart in the server's monitoring.
 */
export function daemonConnection(
  o: DaemonNatsOptions,
  name: string,
): Required<Pick<NatsConnectOptions, 'servers' | 'name' | 'connection'>> {
  return { servers: o.servers, name, connection: connectionOptions(o) };
}

export class NatsEdge implements AttachedEdge {
  readonly name = 'nats';
  readonly address = null;
  readonly #engine: OrchestrationEngine;
  readonly #options: DaemonNatsOptions;
  readonly #log: Logger;
  #status: NatsEdgeStatus = 'connecting';
  #bus: NatsBus | null = null;
  #unbridge: Unsubscribe | null = null;
  #statusSub: Subscription | null = null;
  #attempts = 0;
  #lostAt: number | null = null;
  #lastError: string | null = null;
  #closed = false;
  /** The first connection, retried while NATS is down. */
  readonly #retry: ConnectRetry;
  readonly #unregister: () => void;
  /** Resolves the first time the edge is connected and serving. */
  readonly connected: Promise<void>;
  #onConnected: () => void = () => undefined;

  /** Starts connecting in the background; the engine's start does not wait for NATS. */
  constructor(engine: OrchestrationEngine, options: DaemonNatsOptions, log: Logger) {
    this.#engine = engine;
    this.#options = options;
    this.#log = log.child({ edge: 'nats' });
    this.connected = new Promise((resolve) => (this.#onConnected = resolve));
    this.#unregister = engine.registerComponentView('nats', {
      health: () => this.health(),
      ready: () => ({ ok: this.#status === 'connected', detail: this.#detail() }),
      status: () => this.statusView(),
    });
    this.#retry = retryConnect(
      options,
      () => this.#connect(),
      (err, retryInMs) => {
        this.#lastError = err instanceof Error ? err.message : String(err);
        this.#log.warn(
          { attempt: this.#attempts, retryInMs, servers: this.#options.servers, err: this.#lastError },
          'NATS not reachable; retrying',
        );
      },
    );
  }

  get status(): NatsEdgeStatus {
    return this.#status;
  }

  /** The bus the edge serves on, once connected. */
  get bus(): NatsBus | null {
    return this.#bus;
  }

  #detail(): string {
    const servers = this.#options.servers.join(',');
    switch (this.#status) {
      case 'connected':
        return `connected to ${servers}, subjects ${this.#options.subjectPrefix}.cmd.> and ${this.#options.subjectPrefix}.evt.>`;
      case 'connecting':
        return `not connected to ${servers} yet (attempt ${this.#attempts}${this.#lastError ? `: ${this.#lastError}` : ''}); retrying`;
      case 'reconnecting':
        return `connection to ${servers} lost ${Math.round((Date.now() - (this.#lostAt ?? Date.now())) / 1000)} s ago; reconnecting`;
      case 'closed':
        return 'closed';
    }
  }

  health(): ComponentHealth {
    return {
      status: this.#status === 'connected' ? 'healthy' : this.#status === 'closed' ? 'unhealthy' : 'degraded',
      detail: this.#detail(),
    };
  }

  statusView(): Record<string, unknown> {
    return {
      status: this.#status,
      servers: this.#options.servers,
      subjectPrefix: this.#options.subjectPrefix,
      ...(this.#bus ? { bus: this.#bus.stats(), events: this.#bus.eventCounters() } : {}),
    };
  }

  /** One try at connecting: the bus, attached unless the edge closed meanwhile. */
  async #connect(): Promise<void> {
    this.#attempts++;
    const bus = await NatsBus.connect({
      ...daemonConnection(this.#options, `codomyrmex-daemon-${this.#engine.id.slice(0, 8)}`),
      subjectPrefix: this.#options.subjectPrefix,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      serveGroup: this.#options.serveGroup,
      tracing: () => this.#engine.tracing,
    });
    if (this.#closed) {
      await bus.close();
      return;
    }
    this.#attach(bus);
  }

  #attach(bus: NatsBus): void {
    this.#bus = bus;
    const unbridge = bridgeToNats(this.#engine.bus, bus);
    // Discoverable and measurable with the NATS tooling (`nats micro ls|info|stats`).
    const undiscover = serveDiscovery(bus, {
      version: PACKAGE_VERSION,
      description: 'codomyrmex command API: one endpoint per command',
      metadata: { engine: this.#engine.id },
    });
    this.#unbridge = () => {
      undiscover();
      unbridge();
    };
    this.#statusSub = bus.status$().subscribe((s) => {
      if (s === 'reconnecting' && this.#status !== 'reconnecting') {
        this.#status = 'reconnecting';
        this.#lostAt = Date.now();
        this.#log.warn({ servers: this.#options.servers }, 'NATS connection lost; reconnecting (health degraded)');
      } else if (s === 'connected' && this.#status !== 'connected') {
        const was = this.#status;
        this.#status = 'connected';
        if (was === 'reconnecting')
          this.#log.info({ downMs: Date.now() - (this.#lostAt ?? Date.now()) }, 'NATS connection back');
        this.#lostAt = null;
      } else if (s === 'closed' && !this.#closed) {
        this.#status = 'closed';
        this.#log.error({ lastError: bus.lastError?.message ?? null }, 'NATS connection closed for good');
      }
    });
    void bus.ready().then(
      () => {
        this.#log.info(
          { servers: this.#options.servers, subjectPrefix: this.#options.subjectPrefix, attempts: this.#attempts },
          'NATS connected; serving commands',
        );
        // NATS triggers listen on this connection too.
        if (!this.#closed) this.#engine.attachTriggerTransport(natsTriggerTransport(bus.connection));
        this.#onConnected();
      },
      () => undefined,
    );
  }

  /** Stops serving, lets replies in flight go out, and drains the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retry.stop();
    await this.#retry.done;
    this.#engine.attachTriggerTransport(null);
    this.#unbridge?.();
    this.#statusSub?.unsubscribe();
    await this.#bus?.close();
    this.#status = 'closed';
    this.#unregister();
    this.#log.info('NATS closed');
  }
}
