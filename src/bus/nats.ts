/**
 * The NATS bus: the second {@link MessageBus}, on the nats.js v3 client (`@nats-io/transport-node`). Commands
 * are core NATS request/reply on `<prefix>.cmd.<component>.<verb>`, events are published on
 * `<prefix>.evt.<event>`, bodies are JSON (wire.ts). What arrives from the network is parsed at the boundary:
 * every command payload goes through its schema (schemas.ts) before a handler sees it, and whatever is wrong
 * (malformed JSON, an unknown verb, a wrong type, an oversized reply) gets an error reply with a code. Serving
 * commands is natsServe.ts, events natsEvents.ts, a request on the wire natsRequest.ts; this file is the connection, requests and the bus's lifecycle.
 */
import type { NatsConnection, NodeConnectionOptions, Msg } from '@nats-io/transport-node';
import { connect, RequestError } from '@nats-io/transport-node';
import type { Observable } from 'rxjs';
import { BehaviorSubject, filter, firstValueFrom } from 'rxjs';
import { BusError, ErrorCode, NotFoundError, ShuttingDownError, ValidationError } from '../errors.js';
import type { BusStats, CommandHandlers, CommandRouter, MessageBus, RequestOptions, Unsubscribe } from './bus.js';
import { routeCommands } from './bus.js';
import type {
  BusEvent,
  CommandPayload,
  CommandReply,
  CommandType,
  Component,
  EventMap,
  EventName,
} from './protocol.js';
import type { EventOf } from '../model/events.js';
import { isEventOf } from '../model/events.js';
import type { EventChannelCounters } from './natsEvents.js';
import { EventChannel } from './natsEvents.js';
import type { Tracing } from '../traces/tracing.js';
import type { RequestLine } from './natsRequest.js';
import { requestError, sendRequest } from './natsRequest.js';
import { checkPayloadSize, checkSubjectPrefix, DEFAULT_SUBJECT_PREFIX, encodeJson, readReply } from './wire.js';
import type { ServedStats } from './natsServe.js';
import { messagingAttributes, NatsCommandServer } from './natsServe.js';

/** Where the connection is. `reconnecting`: lost, the client is retrying (health reports `degraded`). */
export type NatsBusStatus = 'connected' | 'reconnecting' | 'closed';

/** Options of a bus over a connection the caller made. */
export interface NatsBusOptions {
  /** First token(s) of every subject (default `codomyrmex`); lets several daemons share one NATS. */
  subjectPrefix?: string | undefined;
  /** How long a request waits for its reply unless the call says otherwise (default 30 000 ms). */
  requestTimeoutMs?: number | undefined;
  /** How long `close()` waits for commands being handled to reply (default 10 000 ms). */
  closeGraceMs?: number | undefined;
  /** Whether `close()` drains and closes the connection (default true). */
  closeConnection?: boolean | undefined;
  /** Events held while disconnected, at most this many bytes; older ones are dropped past it (default 8 MiB). */
  eventBacklogBytes?: number | undefined;
  /**
   * Tracing, once loaded (null: off). A request carries the active span's context in a W3C `traceparent` header
   * under a `send <command>` span; a served command runs under a `command <command>` span continuing the header's.
   */
  tracing?: (() => Tracing | null) | undefined;
  /**
   * When no daemon serves a command but a standby daemon answers (a failover is under way), send it again until the
   * new active daemon serves it (default true). False: fail at once with the "no component serves" error.
   */
  waitForStandby?: boolean | undefined;
  /** The queue group's last token for served commands (see `ServeHost.serveGroup` in natsServe.ts). */
  serveGroup?: string | undefined;
}

/** The error for a NATS server that cannot be reached: names the servers and the likely fix. */
export function natsUnreachable(servers: string | string[] | undefined, err: unknown): BusError {
  const where = Array.isArray(servers) ? servers.join(', ') : (servers ?? 'nats://127.0.0.1:4222');
  return new BusError(
    `cannot connect to NATS at ${where}: ${err instanceof Error ? err.message : String(err)}; is nats-server running?`,
    ErrorCode.BUS_UNAVAILABLE,
    { cause: err },
  );
}

/** Whether a request failed because nothing on NATS serves its subject (no daemon, or another subject prefix). */
export function isNoResponders(err: unknown): boolean {
  return err instanceof NotFoundError && err.cause instanceof RequestError && err.cause.isNoResponders();
}

/** Options of `NatsBus.connect`: where to connect, and the bus options. */
export interface NatsConnectOptions extends NatsBusOptions {
  /** Server URL(s) (default `nats://127.0.0.1:4222`). */
  servers?: string | string[] | undefined;
  /** The client name the server shows in its monitoring (default `codomyrmex`). */
  name?: string | undefined;
  /**
   * Any other nats.js connection option: credentials (`user`/`pass`, `token`, `authenticator` from
   * `credsAuthenticator`), `tls`, reconnect policy (`maxReconnectAttempts`, default -1 = forever;
   * `reconnectTimeWait`, default 2000 ms). Take these from config or env, never from code.
   */
  connection?: Omit<NodeConnectionOptions, 'servers' | 'name'> | undefined;
}

/** The nats.js options of a connection: servers, client name and the rest given; reconnects forever by default. */
export function natsConnectOptions(
  options: Pick<NatsConnectOptions, 'servers' | 'name' | 'connection'>,
): NodeConnectionOptions {
  return {
    maxReconnectAttempts: -1,
    // The bus rewraps every request error with its own stack; the client's per-request trace errors cost ~25 µs.
    noAsyncTraces: true,
    ...options.connection,
    servers: options.servers ?? 'nats://127.0.0.1:4222',
    name: options.name ?? 'codomyrmex',
  };
}

/**
 * A {@link MessageBus} over NATS. Several processes on one NATS with the same prefix form one bus: a component
 * served in one is reachable from all (its servers share a queue group, so each command runs once), and every
 * event reaches every subscriber.
 *
 * @example
 * const bus = await NatsBus.connect({ servers: process.env.CODOMYRMEX_NATS_URL });
 * const run = await bus.request('workflow.start', { name: 'etl' }, { timeoutMs: 5000 });
 * bus.status$().subscribe((s) => log.info({ nats: s }));
 * await bus.close();
 */
export class NatsBus implements MessageBus {
  readonly kind = 'nats' as const;
  readonly subjectPrefix: string;
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #closeGraceMs: number;
  readonly #closeConnection: boolean;
  readonly #waitForStandby: boolean;
  readonly #status$ = new BehaviorSubject<NatsBusStatus>('connected');
  readonly #events: EventChannel;
  readonly #stats: BusStats = { published: 0, requests: 0, replies: 0, failures: 0 };
  /** The commands this bus serves (natsServe.ts). */
  readonly #server: NatsCommandServer;
  #closed = false;
  #closing: Promise<void> | null = null;
  #seq = 0;
  #lastError: Error | null = null;
  /** The last `max_payload` the server announced (the client forgets it while it redials). */
  #maxPayload: number | undefined;
  readonly #tracing: () => Tracing | null;
  /** What a request on the wire needs of this bus (natsRequest.ts). */
  readonly #line: RequestLine;

  /** Connects to NATS and returns the bus. The client reconnects by itself when the connection drops. */
  static async connect(options: NatsConnectOptions = {}): Promise<NatsBus> {
    const prefix = checkSubjectPrefix(options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX);
    const nc = await connect(natsConnectOptions(options));
    return new NatsBus(nc, { ...options, subjectPrefix: prefix });
  }

  /** A bus over a connection made by the caller (e.g. one shared with a NATS service). */
  constructor(nc: NatsConnection, options: NatsBusOptions = {}) {
    this.#nc = nc;
    this.#maxPayload = nc.info?.max_payload;
    this.subjectPrefix = checkSubjectPrefix(options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX);
    this.#timeoutMs = positive(options.requestTimeoutMs, 30_000, 'requestTimeoutMs');
    this.#closeGraceMs = positive(options.closeGraceMs, 10_000, 'closeGraceMs');
    this.#closeConnection = options.closeConnection ?? true;
    this.#tracing = options.tracing ?? (() => null);
    this.#waitForStandby = options.waitForStandby ?? true;
    this.#events = new EventChannel(
      nc,
      this.subjectPrefix,
      positive(options.eventBacklogBytes, 8 * 1024 * 1024, 'eventBacklogBytes'),
      () => this.maxPayload,
      (err) => (this.#lastError = err),
    );
    this.#server = new NatsCommandServer({
      nc,
      subjectPrefix: this.subjectPrefix,
      maxPayload: () => this.maxPayload,
      tracing: this.#tracing,
      serveGroup: options.serveGroup,
      // A reply ready while NATS is down waits for the reconnect: the requester may still be waiting for it.
      connected: () =>
        this.#status$.value === 'connected'
          ? null
          : this.#whenConnected(this.#timeoutMs, 'reply').catch(() => undefined),
      error: (err) => (this.#lastError = err),
    });
    this.#line = {
      nc,
      subjectPrefix: this.subjectPrefix,
      waitForStandby: this.#waitForStandby,
      closed: () => this.#closed,
      status: () => this.status,
      whenConnected: (ms, what) => this.#whenConnected(ms, what),
    };
    if (nc.isClosed()) this.#status$.next('closed');
    void this.#watchStatus();
  }

  /** The underlying connection (for a NATS service or JetStream on the same connection). */
  get connection(): NatsConnection {
    return this.#nc;
  }

  get connected(): boolean {
    return !this.#closed && this.#status$.value === 'connected';
  }

  /** The connection status now (`connected`, `reconnecting`, `closed`). */
  get status(): NatsBusStatus {
    return this.#status$.value;
  }

  /** The connection status now and each change (`connected`, `reconnecting`, `closed`). */
  status$(): Observable<NatsBusStatus> {
    return this.#status$.asObservable();
  }

  /** The server's largest message in bytes (`max_payload`), as it last announced it. */
  get maxPayload(): number | undefined {
    const now = this.#nc.info?.max_payload;
    if (now !== undefined) this.#maxPayload = now;
    return this.#maxPayload;
  }

  /**
   * The last error NATS reported to this bus (a permission violation on a subscription, a server error), or
   * null. A subscription the server refused stops delivering; this says why.
   */
  get lastError(): Error | null {
    return this.#lastError;
  }

  /** Events skipped on receipt (not codomyrmex events), dropped from a full backlog, or held for the reconnect. */
  eventCounters(): EventChannelCounters {
    return this.#events.counters();
  }

  /** The subject a command travels on: `workflow.execute` -> `codomyrmex.cmd.workflow.execute`. */
  commandSubject(type: string): string {
    return `${this.subjectPrefix}.cmd.${type}`;
  }

  /** The subject an event travels on: `task_completed` -> `codomyrmex.evt.task_completed`. */
  eventSubject(type: EventName | '>'): string {
    return this.#events.subjectOf(type);
  }

  /** Resolves once the server has seen every subscription made so far (so another client can reach them). */
  async ready(): Promise<void> {
    if (!this.#closed) await this.#nc.flush();
  }

  /**
   * Publishes an event. While NATS is down it is held (in order, bounded by `eventBacklogBytes`) and sent on
   * reconnect. Throws a `ValidationError` if it cannot be encoded or is over `max_payload`.
   */
  publish<K extends EventName>(type: K, data: EventMap[K]): void {
    if (this.#closed) return;
    this.#stats.published++;
    this.#events.publish(
      { type, data, timestamp: Date.now(), seq: ++this.#seq } as BusEvent,
      this.#status$.value !== 'connected',
    );
  }

  /** Always true while open: subscribers elsewhere on NATS cannot be seen from here. */
  wants(_type: EventName): boolean {
    return !this.#closed;
  }

  events$<K extends EventName = EventName>(type?: K): Observable<EventOf<K>> {
    return this.#events.events$(type, () => this.#closed).pipe(filter(isEventOf<K>(type)));
  }

  /** Resolves once connected; rejects with a `BusError` if that takes longer than `ms` or the bus closes. */
  async #whenConnected(ms: number, what: string): Promise<void> {
    if (this.#status$.value === 'connected') return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
    const status = await Promise.race([
      firstValueFrom(this.#status$.pipe(filter((s) => s !== 'reconnecting')), { defaultValue: 'closed' as const }),
      late,
    ]);
    clearTimeout(timer);
    if (status === 'connected') return;
    if (status === 'late')
      throw new BusError(`${what}: NATS is still reconnecting after ${ms} ms; retry later`, ErrorCode.BUS_TIMEOUT);
    throw this.#closed
      ? new ShuttingDownError('the NATS bus is closed; requests are refused')
      : new BusError(`${what}: the NATS connection is closed`, ErrorCode.BUS_UNAVAILABLE);
  }

  /**
   * Sends a command and resolves with its reply. The reply is trusted to be `CommandReply<K>`: both ends are
   * codomyrmex on one protocol, and the server side's handler map is checked by the compiler.
   */
  async request<K extends CommandType>(
    type: K,
    payload: CommandPayload<K>,
    options: RequestOptions = {},
  ): Promise<CommandReply<K>> {
    if (this.#closed) throw new ShuttingDownError('the NATS bus is closed; requests are refused');
    this.#stats.requests++;
    const subject = this.commandSubject(type);
    const timeout = options.timeoutMs ?? this.#timeoutMs;
    let msg: Msg;
    const span = this.#tracing()?.startSpan(`send ${type}`, {
      kind: 'client',
      attributes: messagingAttributes(subject, 'send', type),
    });
    try {
      const bytes = encodeJson(payload, `request "${type}"`);
      checkPayloadSize(bytes.length, this.maxPayload, `request "${type}"`);
      msg = await sendRequest(this.#line, subject, bytes, timeout, `"${type}"`, span?.traceparent);
    } catch (err) {
      this.#stats.failures++;
      const error = requestError(this.#line, err, type, subject, timeout);
      span?.end(error);
      throw error;
    }
    const reply = readReply<CommandReply<K>>(msg.data, subject);
    span?.end(reply.ok ? null : reply.error);
    if (!reply.ok) {
      this.#stats.failures++;
      throw reply.error;
    }
    this.#stats.replies++;
    return reply.result;
  }

  /**
   * Serves one component's commands from NATS (`<prefix>.cmd.<component>.>`, queue group
   * `<prefix>.cmd.<component>`). Every payload is checked against its command's schema first; the handlers only
   * see typed, camelCased requests. A second registration for the same component on this bus is refused.
   */
  serve<C extends Component>(component: C, handlers: CommandHandlers<C>): Unsubscribe {
    return this.forward(component, routeCommands(handlers));
  }

  /** Serves one component's commands with a router (e.g. another bus's `request`, which is how a bridge serves). */
  forward(component: Component, route: CommandRouter): Unsubscribe {
    if (this.#closed) throw new ShuttingDownError('the NATS bus is closed; cannot serve');
    return this.#server.forward(component, route);
  }

  /** What this bus has served, per command type (for the NATS service's `$SRV.STATS`). */
  servedStats(): ReadonlyMap<string, Readonly<ServedStats>> {
    return this.#server.servedStats();
  }

  stats(): BusStats {
    return { ...this.#stats };
  }

  /**
   * Stops serving (no new commands), lets commands being handled reply (up to `closeGraceMs`), completes every
   * event stream and drains the connection (if the bus owns it).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const open = !this.#nc.isClosed();
    await this.#server.stop(this.#closeGraceMs);
    this.#events.close();
    if (this.#closeConnection && open) {
      try {
        await this.#nc.drain();
      } catch {
        await this.#nc.close().catch(() => undefined);
      }
    }
    this.#setStatus('closed');
    this.#status$.complete();
  }

  async #watchStatus(): Promise<void> {
    void this.#nc.closed().then(() => this.#setStatus('closed'));
    try {
      for await (const s of this.#nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnecting' || s.type === 'staleConnection')
          this.#setStatus('reconnecting');
        else if (s.type === 'reconnect') {
          this.#setStatus('connected');
          this.#events.flushBacklog();
        } else if (s.type === 'close') this.#setStatus('closed');
        else if (s.type === 'error') this.#lastError = s.error;
      }
    } catch {
      this.#setStatus('closed');
    }
  }

  #setStatus(status: NatsBusStatus): void {
    if (this.#status$.closed || this.#status$.value === status || this.#status$.value === 'closed') return;
    this.#status$.next(status);
  }
}

function positive(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0))
    throw new ValidationError(`${option}: must be a positive number of milliseconds (got ${value})`);
  return value;
}
