import type { Observable } from 'rxjs';
import { filter, Subject } from 'rxjs';
import type { EventOf } from '../model/events.js';
import { isEventOf } from '../model/events.js';
import { CodomyrmexError, NotFoundError, ShuttingDownError } from '../errors.js';
import { toBoundaryError } from '../rebuildError.js';
import type { BusStats, CommandHandlers, CommandRouter, MessageBus, Unsubscribe } from './bus.js';
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
import { componentOf } from './protocol.js';

/**
 * The in-process bus: RxJS Subjects for events, a direct call for commands. Events are delivered synchronously
 * in publish order; nothing is copied, so senders must not mutate what they publish.
 */
export class InMemoryBus implements MessageBus {
  readonly kind = 'memory' as const;
  readonly #all = new Subject<BusEvent>();
  readonly #byType = new Map<EventName, Subject<BusEvent>>();
  readonly #routers = new Map<Component, CommandRouter>();
  #closed = false;
  #seq = 0;
  readonly #stats: BusStats = { published: 0, requests: 0, replies: 0, failures: 0 };

  get connected(): boolean {
    return !this.#closed;
  }

  publish<K extends EventName>(type: K, data: EventMap[K]): void {
    if (this.#closed) return;
    this.#stats.published++;
    const typed = this.#byType.get(type);
    if (!this.#all.observed && !typed?.observed) return;
    const event = { type, data, timestamp: Date.now(), seq: ++this.#seq } as BusEvent;
    this.#all.next(event);
    typed?.next(event);
  }

  wants(type: EventName): boolean {
    return this.#all.observed || this.#byType.get(type)?.observed === true;
  }

  events$<K extends EventName = EventName>(type?: K): Observable<EventOf<K>> {
    if (!type) return this.#all.pipe(filter(isEventOf<K>(type)));
    let subject = this.#byType.get(type);
    if (!subject) {
      subject = new Subject<BusEvent>();
      this.#byType.set(type, subject);
    }
    return subject.pipe(filter(isEventOf<K>(type)));
  }

  request<K extends CommandType>(type: K, payload: CommandPayload<K>): Promise<CommandReply<K>> {
    if (this.#closed) return Promise.reject(new ShuttingDownError('the bus is closed'));
    this.#stats.requests++;
    const route = this.#routers.get(componentOf(type));
    if (!route) {
      this.#stats.failures++;
      return Promise.reject(new NotFoundError(`no component serves "${type}" on this bus (is the engine started?)`));
    }
    try {
      const value = route(type, payload);
      this.#stats.replies++;
      return Promise.resolve(value).catch((err: unknown) => {
        this.#stats.failures++;
        throw toBoundaryError(err);
      });
    } catch (err) {
      this.#stats.failures++;
      return Promise.reject(toBoundaryError(err));
    }
  }

  serve<C extends Component>(component: C, handlers: CommandHandlers<C>): Unsubscribe {
    if (this.#routers.has(component))
      throw new CodomyrmexError(`component "${component}" is already served on this bus`);
    const route = routeCommands(handlers);
    this.#routers.set(component, route);
    return () => {
      if (this.#routers.get(component) === route) this.#routers.delete(component);
    };
  }

  stats(): BusStats {
    return { ...this.#stats };
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#routers.clear();
      this.#all.complete();
      for (const s of this.#byType.values()) s.complete();
    }
    return Promise.resolve();
  }
}
