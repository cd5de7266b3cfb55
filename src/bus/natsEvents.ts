/**
 * The event half of the NATS bus: publishing on `<prefix>.evt.<event>` (held in a bounded backlog while the
 * connection is down, since the client discards what is written while it redials), and one shared NATS
 * subscription per event subject for the local subscribers of it.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Observable } from 'rxjs';
import { Observable as RxObservable, Subject } from 'rxjs';
import { BusError, ErrorCode } from '../errors.js';
import type { BusEvent, EventName } from './protocol.js';
import { checkPayloadSize, encodeJson, readEvent } from './wire.js';

interface EventTap {
  subject: Subject<BusEvent>;
  sub: Subscription;
  refs: number;
}

/** What the NATS bus's event channel counts: messages it could not read, events it dropped while disconnected. */
export interface EventChannelCounters {
  /** Messages on event subjects that were not codomyrmex events (bad JSON, unknown name): not delivered. */
  malformed: number;
  /** Events dropped, oldest first, because the backlog held while disconnected was full. */
  dropped: number;
  /** Events waiting in the backlog for the connection to come back. */
  backlog: number;
}

export class EventChannel {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #backlogLimitBytes: number;
  readonly #taps = new Map<string, EventTap>();
  #backlog: { subject: string; bytes: Uint8Array }[] = [];
  #backlogBytes = 0;
  #malformed = 0;
  #dropped = 0;

  readonly #onError: (err: Error) => void;
  readonly #maxPayload: () => number | undefined;

  constructor(
    nc: NatsConnection,
    prefix: string,
    backlogLimitBytes: number,
    maxPayload: () => number | undefined,
    onError: (err: Error) => void,
  ) {
    this.#nc = nc;
    this.#maxPayload = maxPayload;
    this.#onError = onError;
    this.#prefix = prefix;
    this.#backlogLimitBytes = backlogLimitBytes;
  }

  subjectOf(type: EventName | '>'): string {
    return `${this.#prefix}.evt.${type}`;
  }

  counters(): EventChannelCounters {
    return { malformed: this.#malformed, dropped: this.#dropped, backlog: this.#backlog.length };
  }

  /** Sends one event now, or keeps it for the reconnect when `held` (the connection is down). */
  publish(event: BusEvent, held: boolean): void {
    const what = `event "${event.type}"`;
    const bytes = encodeJson(event, what);
    checkPayloadSize(bytes.length, this.#maxPayload(), what);
    const subject = this.subjectOf(event.type);
    if (held || this.#backlog.length > 0) {
      this.#hold(subject, bytes);
      return;
    }
    try {
      this.#nc.publish(subject, bytes);
    } catch (err) {
      throw new BusError(
        `${what} not published: the NATS connection is closed (${(err as Error).message})`,
        ErrorCode.BUS_UNAVAILABLE,
        { cause: err },
      );
    }
  }

  #hold(subject: string, bytes: Uint8Array): void {
    this.#backlog.push({ subject, bytes });
    this.#backlogBytes += bytes.length;
    while (this.#backlogBytes > this.#backlogLimitBytes && this.#backlog.length > 1) {
      const old = this.#backlog.shift();
      this.#backlogBytes -= old?.bytes.length ?? 0;
      this.#dropped++;
    }
  }

  /** Sends what was held while disconnected, in publish order. */
  flushBacklog(): void {
    const held = this.#backlog;
    this.#backlog = [];
    this.#backlogBytes = 0;
    for (let i = 0; i < held.length; i++) {
      const m = held[i];
      if (!m) continue;
      try {
        this.#nc.publish(m.subject, m.bytes);
      } catch {
        // Closed again before the backlog went out: keep the rest for the next reconnect.
        for (const rest of held.slice(i)) this.#hold(rest.subject, rest.bytes);
        return;
      }
    }
  }

  /** Events of one type (or all): one NATS subscription per subject, shared by the local subscribers. */
  events$(type: EventName | undefined, closed: () => boolean): Observable<BusEvent> {
    return new RxObservable<BusEvent>((subscriber) => {
      if (closed()) {
        subscriber.complete();
        return;
      }
      const key = type ?? '>';
      const tap = this.#tap(key);
      tap.refs++;
      const inner = tap.subject.subscribe(subscriber);
      return () => {
        inner.unsubscribe();
        if (--tap.refs === 0 && this.#taps.get(key) === tap) {
          this.#taps.delete(key);
          if (!this.#nc.isClosed()) tap.sub.unsubscribe();
        }
      };
    });
  }

  #tap(key: EventName | '>'): EventTap {
    const existing = this.#taps.get(key);
    if (existing) return existing;
    const subject = new Subject<BusEvent>();
    const skip = this.subjectOf('>').length - 1;
    const sub = this.#nc.subscribe(this.subjectOf(key), {
      callback: (err, msg) => {
        if (err) {
          this.#onError(err);
          return;
        }
        const event = readEvent(msg.data, msg.subject.slice(skip));
        if (event) subject.next(event);
        else this.#malformed++;
      },
    });
    const tap = { subject, sub, refs: 0 };
    this.#taps.set(key, tap);
    return tap;
  }

  /** Ends every event stream; what is still held is sent if the connection is up. */
  close(): void {
    if (!this.#nc.isClosed()) this.flushBacklog();
    for (const tap of this.#taps.values()) {
      if (!this.#nc.isClosed()) tap.sub.unsubscribe();
      tap.subject.complete();
    }
    this.#taps.clear();
  }
}
