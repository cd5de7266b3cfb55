/**
 * A daemon's HTTP API as a {@link MessageBus}: a command is `POST /api/v1/cmd/<component>/<verb>` (the same
 * envelope as NATS, its errors rebuilt by name), events come from `GET /api/v1/events` (one stream shared by every
 * subscriber, opened on the first and closed with the last, resumed with `Last-Event-ID` after a drop). With it,
 * the NATS client's {@link RemoteEngine} facades work over HTTP too: that is how the CLI reaches a daemon that holds
 * the folder's store.
 */
import { Observable, filter, share } from 'rxjs';
import type { BusStats, MessageBus, RequestOptions, Unsubscribe } from '../../bus/bus.js';
import type { BusEvent, CommandPayload, CommandReply, CommandType, EventMap, EventName } from '../../bus/protocol.js';
import type { EventOf } from '../../model/events.js';
import { isEventOf } from '../../model/events.js';
import { readReply } from '../../bus/wire.js';
import { BusError, CodomyrmexError, ErrorCode, ValidationError } from '../../errors.js';

export interface HttpBusOptions {
  /** The daemon's base URL, e.g. `http://127.0.0.1:9464`. */
  url: string;
  /** The daemon's `--auth-token`, if it has one. */
  token?: string | undefined;
  /** How long a command waits for its reply (default 30 000 ms). */
  requestTimeoutMs?: number | undefined;
}

/** The client side of the HTTP API. Serves nothing and publishes nothing: it asks and listens. */
export class HttpBus implements MessageBus {
  readonly kind = 'http' as const;
  readonly url: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #stats: BusStats = { published: 0, requests: 0, replies: 0, failures: 0 };
  readonly #events$: Observable<BusEvent>;
  #closed = false;
  readonly #streams = new Set<AbortController>();

  constructor(options: HttpBusOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#events$ = new Observable<BusEvent>((subscriber) => {
      const ctrl = new AbortController();
      this.#streams.add(ctrl);
      void this.#stream(ctrl.signal, (e) => subscriber.next(e)).finally(() => this.#streams.delete(ctrl));
      return () => ctrl.abort();
    }).pipe(share());
  }

  get connected(): boolean {
    return !this.#closed;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...extra, ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}) };
  }

  async request<K extends CommandType>(
    type: K,
    payload: CommandPayload<K>,
    options: RequestOptions = {},
  ): Promise<CommandReply<K>> {
    if (this.#closed) throw new BusError('the HTTP client is closed', ErrorCode.BUS_UNAVAILABLE);
    this.#stats.requests++;
    const [component, verb] = type.split('.');
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1/cmd/${component}/${verb}`, {
        method: 'POST',
        headers: this.#headers({ 'content-type': 'application/json' }),
        body: JSON.stringify(payload ?? {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      this.#stats.failures++;
      if (err instanceof Error && err.name === 'TimeoutError')
        throw new BusError(`"${type}" got no reply from ${this.url} within ${timeoutMs} ms`, ErrorCode.BUS_TIMEOUT, {
          cause: err,
        });
      throw new BusError(
        `cannot reach the daemon at ${this.url}: ${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}; is it running (codomyrmex daemon)?`,
        ErrorCode.BUS_UNAVAILABLE,
        { cause: err },
      );
    }
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status === 401)
      throw new ValidationError(
        `the daemon at ${this.url} needs its token: set CODOMYRMEX_AUTH_TOKEN to its --auth-token`,
      );
    const reply = readReply<CommandReply<K>>(body, `${this.url}/api/v1/cmd/${component}/${verb}`);
    this.#stats.replies++;
    if (!reply.ok) {
      this.#stats.failures++;
      throw reply.error;
    }
    return reply.result;
  }

  /** Reads the event stream until `signal` aborts, reconnecting (from the last id) after a drop. */
  async #stream(signal: AbortSignal, next: (e: BusEvent) => void): Promise<void> {
    let last: string | null = null;
    while (!signal.aborted && !this.#closed) {
      try {
        const res = await fetch(`${this.url}/api/v1/events`, {
          headers: this.#headers(last ? { 'last-event-id': last } : {}),
          signal,
        });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) last = line.slice(4);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (!data) continue;
            const e = JSON.parse(data) as {
              seq: number;
              type: EventName;
              timestamp: number;
              data: EventMap[EventName];
            };
            next({ type: e.type, data: e.data, timestamp: e.timestamp, seq: e.seq } as BusEvent);
          }
        }
      } catch {
        if (signal.aborted || this.#closed) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500).unref());
    }
  }

  events$<K extends EventName = EventName>(type?: K): Observable<EventOf<K>> {
    return this.#events$.pipe(filter(isEventOf<K>(type)));
  }

  publish<K extends EventName>(type: K): void {
    throw new CodomyrmexError(`the HTTP client cannot publish "${type}": events come from the daemon`);
  }

  wants(): boolean {
    return false;
  }

  serve(component: string): Unsubscribe {
    throw new CodomyrmexError(`the HTTP client cannot serve "${component}": commands are served by the daemon`);
  }

  stats(): BusStats {
    return { ...this.#stats };
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#streams) c.abort();
    return Promise.resolve();
  }
}
