import type { Observable } from 'rxjs';
import { NotFoundError } from '../errors.js';
import type { BusStats, EventMap, EventName, EventOf } from '../model/events.js';
import type { CommandOf, CommandPayload, CommandReply, CommandType, Component } from './protocol.js';

export type { BusStats };

/** Stops what a `serve` (or a subscription) started. */
export type Unsubscribe = () => void;

/** The handler of one command: its payload in, its reply (or a promise of it) out. Throw a `CodomyrmexError` to fail it. */
export type CommandHandler<K extends CommandType> = (
  payload: CommandPayload<K>,
) => CommandReply<K> | Promise<CommandReply<K>>;

type AllHandlers = { [K in CommandType]: CommandHandler<K> };

/**
 * The handlers of every command of one component, keyed by command type. The compiler checks the map: a command
 * left out, a key that is no command of the component, or a reply of the wrong type do not compile.
 *
 * @example
 * const handlers: CommandHandlers<'session'> = {
 *   'session.create': (p) => sessions.create(p),
 *   'session.get': (p) => sessions.get(p.sessionId),
 *   'session.list': (p) => sessions.list(p.status),
 *   'session.close': (p) => sessions.close(p.sessionId, p.reason),
 * };
 */
export type CommandHandlers<C extends Component> = Pick<AllHandlers, CommandOf<C>>;

/** Answers any command (what a bus keeps per component, and what a bridge forwards with). */
export type CommandRouter = <K extends CommandType>(
  type: K,
  payload: CommandPayload<K>,
) => CommandReply<K> | Promise<CommandReply<K>>;

/** The router over one component's handlers; a command the map does not have is a `NotFoundError`. */
export function routeCommands<C extends Component>(handlers: CommandHandlers<C>): CommandRouter {
  const all: Partial<AllHandlers> = handlers;
  return (type, payload) => {
    const handler = Object.hasOwn(all, type) ? all[type] : undefined;
    if (!handler) throw new NotFoundError(`unknown command "${type}"`);
    return handler(payload);
  };
}

export interface RequestOptions {
  /** How long to wait for a reply (default 30 s on the network bus; the in-memory bus waits as long as the handler). */
  timeoutMs?: number;
}

/**
 * The message bus every component talks over: typed events (publish/subscribe) and typed commands
 * (request/reply, served by exactly one component). Two implementations, one conformance suite: the in-process
 * {@link InMemoryBus} and the NATS bus.
 */
export interface MessageBus {
  /** `http`: a client of a daemon's HTTP API (it asks and listens; it serves and publishes nothing). */
  readonly kind: 'memory' | 'nats' | 'http';
  /** False once closed (or, on NATS, while disconnected). */
  readonly connected: boolean;
  /** Publishes an event to every subscriber (on NATS, to `<prefix>.evt.<type>`); fire and forget. */
  publish<K extends EventName>(type: K, data: EventMap[K]): void;
  /** Whether an event of this type would reach anyone (lets hot paths skip building payloads nobody reads). */
  wants(type: EventName): boolean;
  /** Events of one type (typed as that event), or all events when no type is given. */
  events$<K extends EventName = EventName>(type?: K): Observable<EventOf<K>>;
  /** Sends a command to the one component that serves it and resolves with its reply; rejects with the handler's error, rebuilt by name, or a `BusError` when nothing answers in time. */
  request<K extends CommandType>(
    type: K,
    payload: CommandPayload<K>,
    options?: RequestOptions,
  ): Promise<CommandReply<K>>;
  /** Registers the handlers of a component's commands, one per command. A second registration for the same component is refused. */
  serve<C extends Component>(component: C, handlers: CommandHandlers<C>): Unsubscribe;
  /** Counts of messages sent and received so far. */
  stats(): BusStats;
  /** Stops serving and subscribing; on NATS, drains and closes the connection. */
  close(): Promise<void>;
}
