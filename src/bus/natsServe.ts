/**
 * The serving side of the NATS bus: a component's commands are answered from a queue-group subscription on
 * `<prefix>.cmd.<component>.>` (so each command runs once among the processes serving it). Every payload goes
 * through its schema before the router sees it; every failure becomes an error reply with a code; each command
 * runs under a `command <type>` span continuing its `traceparent` header; per-command counters feed `$SRV.STATS`.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { CodomyrmexError, NotFoundError, ValidationError } from '../errors.js';
import type { Tracing } from '../traces/tracing.js';
import type { CommandRouter, Unsubscribe } from './bus.js';
import type { Component } from './protocol.js';
import { componentOf } from './protocol.js';
import { parseCommandPayload, resolveCommandType } from './schemas.js';
import { startsWork, withTraceparent } from './traceparent.js';
import { checkPayloadSize, decodeJson, encodeJson, errorReply, okReply } from './wire.js';

/** Counters of one served command type. */
export interface ServedStats {
  requests: number;
  errors: number;
  lastError: string;
  processingNs: bigint;
}

/** What serving needs of the bus. */
export interface ServeHost {
  nc: NatsConnection;
  subjectPrefix: string;
  /** The server's largest message, as it last announced it. */
  maxPayload(): number | undefined;
  tracing(): Tracing | null;
  /** Null while connected; else a promise that settles once reconnected or given up (never rejects). */
  connected(): Promise<void> | null;
  /** An error NATS reported on a subscription. */
  error(err: Error): void;
  /**
   * Served commands join the queue group `<prefix>.cmd.<component>.<serveGroup>` instead of
   * `<prefix>.cmd.<component>`. A daemon on a shared database names its lease epoch here: an active daemon that
   * hung (stopped, not disconnected) stays subscribed until NATS drops it, and in one shared group it would take
   * half the commands meant for the daemon that took over; in groups of their own each command reaches both, the
   * live one answers, and the fenced one writes nothing when it wakes.
   */
  serveGroup?: string | undefined;
}

/** The messaging semantic conventions' attributes of a command sent or handled over NATS. */
export function messagingAttributes(
  subject: string,
  operation: 'send' | 'process',
  command: string,
): Record<string, string> {
  return {
    'messaging.system': 'nats',
    'messaging.destination.name': subject,
    'messaging.operation.type': operation,
    'codomyrmex.command': command,
  };
}

export class NatsCommandServer {
  readonly #host: ServeHost;
  readonly #handlers = new Map<string, { route: CommandRouter; sub: Subscription }>();
  readonly #inFlight = new Set<Promise<void>>();
  /** Per served command: requests, errors, the last error, time spent (ns); `$SRV.STATS` reports them. */
  readonly #served = new Map<string, ServedStats>();

  constructor(host: ServeHost) {
    this.#host = host;
  }

  /** Serves one component's commands with a router (e.g. another bus's `request`, which is how a bridge serves). */
  forward(component: Component, route: CommandRouter): Unsubscribe {
    if (!/^[a-z][a-z0-9_]*$/.test(component))
      throw new ValidationError(`component: "${component}" must be a lowercase name such as "task"`);
    if (this.#handlers.has(component))
      throw new CodomyrmexError(`component "${component}" is already served on this bus`);
    const base = `${this.#host.subjectPrefix}.cmd.${component}`;
    const skip = `${this.#host.subjectPrefix}.cmd.`.length;
    const sub = this.#host.nc.subscribe(`${base}.>`, {
      queue: this.#host.serveGroup === undefined ? base : `${base}.${this.#host.serveGroup}`,
      callback: (err, msg) => {
        if (err) {
          this.#host.error(err);
          return;
        }
        const job = this.#handle(component, route, msg.subject.slice(skip), msg).finally(() =>
          this.#inFlight.delete(job),
        );
        this.#inFlight.add(job);
      },
    });
    const entry = { route, sub };
    this.#handlers.set(component, entry);
    return () => {
      if (this.#handlers.get(component) !== entry) return;
      this.#handlers.delete(component);
      if (!this.#host.nc.isClosed()) sub.unsubscribe();
    };
  }

  /** What this bus has served, per command type (for the NATS service's `$SRV.STATS`). */
  servedStats(): ReadonlyMap<string, Readonly<ServedStats>> {
    return this.#served;
  }

  /** Answers one command message. Never throws: every failure becomes an error reply. */
  async #handle(component: string, route: CommandRouter, type: string, msg: Msg): Promise<void> {
    const t0 = process.hrtime.bigint();
    let stats = this.#served.get(type);
    if (!stats && this.#served.size < 1000)
      this.#served.set(type, (stats = { requests: 0, errors: 0, lastError: '', processingNs: 0n }));
    let envelope;
    // A malformed traceparent header starts a new trace (the command is not refused for it).
    const span = this.#host.tracing()?.startSpan(`command ${type}`, {
      kind: 'server',
      traceparent: msg.headers?.get('traceparent') || undefined,
      attributes: messagingAttributes(msg.subject, 'process', type),
    });
    try {
      const known = resolveCommandType(type);
      if (known instanceof Error) throw known;
      if (componentOf(known) !== component) throw new NotFoundError(`unknown command "${type}"`);
      const parsed = parseCommandPayload(known, decodeJson(msg.data, 'payload'));
      if (!parsed.ok) throw parsed.error;
      // What the command starts (a run, a task) continues the command's span.
      const payload =
        span && startsWork(known) ? withTraceparent(known, parsed.payload, span.traceparent) : parsed.payload;
      envelope = okReply(await (span ? span.with(() => route(known, payload)) : route(known, payload)));
    } catch (err) {
      envelope = errorReply(err);
    }
    span?.end(envelope.ok ? null : envelope.error);
    if (stats) {
      stats.requests++;
      stats.processingNs += process.hrtime.bigint() - t0;
      if (!envelope.ok) {
        stats.errors++;
        stats.lastError = `${envelope.error.code}: ${envelope.error.message}`.slice(0, 500);
      }
    }
    if (!msg.reply) return;
    // A reply ready while NATS is down waits for the reconnect: the requester may still be waiting for it.
    const reconnect = this.#host.connected();
    if (reconnect) await reconnect;
    this.#respond(msg, envelope, type);
  }

  #respond(msg: Msg, envelope: ReturnType<typeof okReply>, type: string): void {
    try {
      let bytes = encodeJson(envelope, `reply to "${type}"`);
      try {
        checkPayloadSize(bytes.length, this.#host.maxPayload(), `reply to "${type}"`);
      } catch (err) {
        bytes = encodeJson(errorReply(err), 'error reply');
      }
      msg.respond(bytes);
    } catch (err) {
      // Unencodable result, or the connection closed under us: say so if we still can.
      try {
        msg.respond(encodeJson(errorReply(err), 'error reply'));
      } catch {
        // The connection is gone; the requester times out and may retry.
      }
    }
  }

  /** Stops serving (no new commands) and waits for the commands being handled to reply, up to `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    const open = !this.#host.nc.isClosed();
    for (const { sub } of this.#handlers.values()) if (open) sub.unsubscribe();
    this.#handlers.clear();
    if (this.#inFlight.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...this.#inFlight]), grace]);
    clearTimeout(timer);
  }
}
