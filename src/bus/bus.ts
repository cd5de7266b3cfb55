import type { Observable } from 'rxjs';
import type { BusEvent, BusStats, EventMap, EventName } from '../model/events.js';
import type { Command, CommandPayload, CommandReply, CommandType } from './protocol.js';

export type { BusStats };

export type Unsubscribe = () => void;

/** Serves the commands of one component. Throw a `CodomyrmexError` to fail a request. */
export type CommandHandler = (command: Command) => unknown;

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
  publish<K extends EventName>(type: K, data: EventMap[K]): void;
  /** Whether an event of this type would reach anyone (lets hot paths skip building payloads nobody reads). */
  wants(type: EventName): boolean;
  /** Events of one type, or all events when no type is given. */
  events$(type?: EventName): Observable<BusEvent>;
  request<K extends CommandType>(type: K, payload: CommandPayload<K>, options?: RequestOptions): Promise<CommandReply<K>>;
  /** Registers the one handler of a component's commands. A second handler for the same component is refused. */
  serve(component: string, handler: CommandHandler): Unsubscribe;
  stats(): BusStats;
  close(): Promise<void>;
}
