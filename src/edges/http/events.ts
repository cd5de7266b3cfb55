/**
 * `GET /api/v1/events`: the engine's events as Server-Sent Events. Each frame's `event:` is the event's type
 * (`step_completed`), its `id:` the event's sequence in the store's journal, which only grows; `?runId=` keeps one
 * run's events (its steps' tasks included), `?types=a,b` some types. A client that reconnects with `Last-Event-ID`
 * gets everything after that id from the journal first, then the live stream: it misses nothing the journal kept.
 *
 * One {@link EventHub} per HTTP edge reads the journal once per commit, while at least one client listens, and
 * writes the same frame to every client that wants it (so 50 browsers cost one read, not 50). Without a journal
 * (the memory store), the live bus events are streamed with the bus's sequence as ids, and resuming is not possible.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Subscription } from 'rxjs';
import type { MessageBus } from '../../bus/bus.js';
import { isEventName } from '../../bus/schemas.js';
import { errorReply } from '../../bus/wire.js';
import { ValidationError } from '../../errors.js';
import type { GroupCommitter } from '../../store/commits.js';
import type { JournalEntry, Store } from '../../store/store.js';

/** A client whose socket holds more than this unsent is dropped; it reconnects and resumes from the journal. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;
const PAGE = 2000;

export interface EventHubDeps {
  bus: MessageBus;
  store: Store;
  commits: GroupCommitter;
  /** Whether the store keeps a journal (`journalMaxEvents > 0`): the ids are its sequence and resuming works. */
  journaled: boolean;
}

interface Frame {
  seq: number;
  type: string;
  runId: string | null;
  text: string;
}

interface Client {
  res: ServerResponse;
  runId: string | null;
  types: Set<string> | null;
}

/** The run an event belongs to: its `runId`, `parentRunId`, or the run of a step's task (`<runId>.<step>`). */
export function runIdsOf(data: unknown): string[] {
  if (typeof data !== 'object' || data === null) return [];
  const d = data as { runId?: unknown; taskId?: unknown; parentRunId?: unknown };
  const out: string[] = [];
  if (typeof d.runId === 'string') out.push(d.runId);
  if (typeof d.parentRunId === 'string') out.push(d.parentRunId);
  if (out.length === 0 && typeof d.taskId === 'string') {
    const dot = d.taskId.indexOf('.');
    if (dot > 0) out.push(d.taskId.slice(0, dot));
  }
  return out;
}

function frameOf(seq: number, type: string, timestamp: number, data: unknown): Frame {
  const ids = runIdsOf(data);
  const text = `id: ${seq}\nevent: ${type}\ndata: ${JSON.stringify({ seq, type, timestamp, data })}\n\n`;
  return { seq, type, runId: ids.length ? ids.join(' ') : null, text };
}

function wants(client: Client, frame: Frame): boolean {
  if (client.types && !client.types.has(frame.type)) return false;
  if (client.runId !== null && (frame.runId === null || !frame.runId.split(' ').includes(client.runId))) return false;
  return true;
}

export class EventHub {
  readonly #deps: EventHubDeps;
  readonly #clients = new Set<Client>();
  #sub: Subscription | null = null;
  /** The last journal seq sent to the live clients. */
  #cursor = 0;
  #waiting = false;
  #dirty = false;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  constructor(deps: EventHubDeps) {
    this.#deps = deps;
  }

  /** Clients listening now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Serves one `GET /api/v1/events` request until the client goes away. */
  serve(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const runId = url.searchParams.get('runId') || null;
    const typesText = url.searchParams.get('types');
    const types = typesText ? new Set(typesText.split(',').filter((t) => t !== '')) : null;
    const unknown = types ? [...types].filter((t) => !isEventName(t)) : [];
    const lastText = req.headers['last-event-id'];
    const last = typeof lastText === 'string' && /^\d+$/.test(lastText) ? Number(lastText) : null;
    if (unknown.length) {
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
      res.end(
        `${JSON.stringify(errorReply(new ValidationError(`types: unknown event type(s) ${unknown.join(', ')}`)))}\n`,
      );
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(
      `retry: 1000\n: ${this.#deps.journaled ? 'ids are the journal sequence; reconnect with Last-Event-ID to resume' : 'no journal: ids are the bus sequence and cannot resume'}\n\n`,
    );
    const client: Client = { res, runId, types };
    this.#start();
    if (last !== null && this.#deps.journaled) this.#replay(client, last);
    this.#clients.add(client);
    const drop = (): void => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) this.#stop();
    };
    req.once('close', drop);
    res.once('close', drop);
  }

  /** Sends a journaled client what it missed: the entries after `last`, up to what the live clients have had. */
  #replay(client: Client, last: number): void {
    let after = last;
    while (after < this.#cursor) {
      const page = this.#deps.store.readEvents({ afterSeq: after, limit: PAGE });
      if (page.length === 0) break;
      for (const e of page) {
        if (e.seq > this.#cursor) return;
        const frame = frameOf(e.seq, e.type, e.timestamp, e.data);
        if (wants(client, frame)) client.res.write(frame.text);
        after = e.seq;
      }
    }
  }

  #start(): void {
    if (this.#sub || this.#closed) return;
    const { bus, store, journaled } = this.#deps;
    if (journaled) {
      this.#cursor = store.lastEventSeq();
      this.#sub = bus.events$().subscribe(() => this.#tail());
    } else {
      this.#sub = bus.events$().subscribe((e) => this.#broadcast(frameOf(e.seq, e.type, e.timestamp, e.data)));
    }
    this.#heartbeat = setInterval(() => {
      for (const c of this.#clients) c.res.write(': ping\n\n');
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  #stop(): void {
    this.#sub?.unsubscribe();
    this.#sub = null;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  /** After the commit that holds the events seen so far, reads what the journal has past the cursor. */
  #tail(): void {
    if (this.#waiting) {
      this.#dirty = true;
      return;
    }
    this.#waiting = true;
    const read = (): void => {
      this.#waiting = false;
      if (this.#closed || !this.#sub) return;
      this.#readNew();
      if (this.#dirty) {
        this.#dirty = false;
        this.#tail();
      }
    };
    this.#deps.commits.afterCommit(null).then(read, read);
  }

  #readNew(): void {
    for (;;) {
      let page: JournalEntry[];
      try {
        page = this.#deps.store.readEvents({ afterSeq: this.#cursor, limit: PAGE });
      } catch {
        return; // The store is closing; the clients reconnect and resume.
      }
      if (page.length === 0) return;
      const frames = page.map((e) => frameOf(e.seq, e.type, e.timestamp, e.data));
      this.#cursor = page[page.length - 1]!.seq;
      this.#broadcastAll(frames);
      if (page.length < PAGE) return;
    }
  }

  /** Writes a page of frames to each client in one write (a socket write per frame per client is what costs). */
  #broadcastAll(frames: Frame[]): void {
    let all: string | null = null;
    for (const c of this.#clients) {
      if (c.res.writableLength > MAX_BUFFERED_BYTES) {
        c.res.destroy();
        continue;
      }
      if (c.runId === null && c.types === null) {
        all ??= frames.map((f) => f.text).join('');
        c.res.write(all);
        continue;
      }
      let text = '';
      for (const f of frames) if (wants(c, f)) text += f.text;
      if (text) c.res.write(text);
    }
  }

  #broadcast(frame: Frame): void {
    for (const c of this.#clients) {
      if (!wants(c, frame)) continue;
      if (c.res.writableLength > MAX_BUFFERED_BYTES) {
        c.res.destroy();
        continue;
      }
      c.res.write(frame.text);
    }
  }

  /** Ends every stream (the clients reconnect to the next daemon and resume). */
  close(): void {
    this.#closed = true;
    this.#stop();
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }
}
