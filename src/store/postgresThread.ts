/**
 * The engine's side of a PostgreSQL store's thread. The `Store` interface reads synchronously (SQLite answers on
 * the calling thread), and node-postgres only answers asynchronously; so reads are sent to the store's thread on a
 * port of their own and the engine's thread waits for the answer on an `Atomics` flag (a read costs one round
 * trip to the database, and blocks this thread as long, like a SQLite read does). Commits go the ordinary,
 * asynchronous way and do not block.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { EncodedBatch } from './sqliteWrites.js';
import type { PgLeaseLost, PgReply, PgRequest, PgWireError } from './postgresProtocol.js';

/** The compiled thread entry; under vitest (sources in .ts) the thread still loads the built JavaScript. */
function entryPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return fileURLToPath(new URL('./postgres.worker.js', import.meta.url));
  const built = fileURLToPath(new URL('../../dist/src/store/postgres.worker.js', import.meta.url));
  if (!existsSync(built)) throw new Error(`store thread entry ${built} is missing: run "npm run build" first`);
  return built;
}

/** A request the thread refused, with the database's code and why. */
export class PgThreadError extends Error {
  readonly code: string | null;
  readonly kind: PgWireError['kind'] | 'timeout' | 'dead';
  constructor(message: string, code: string | null, kind: PgThreadError['kind']) {
    super(message);
    this.name = 'PgThreadError';
    this.code = code;
    this.kind = kind;
  }
}

type Body<R> = R extends unknown ? Omit<R, 'id'> : never;
type Answered = Body<Exclude<PgRequest, { type: 'part' } | { type: 'discard' }>>;

export class PgThread {
  readonly #worker: Worker;
  readonly #sync: MessagePort;
  readonly #flag: Int32Array;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #dead: Error | null = null;
  #onLeaseLost: ((message: string) => void) | null = null;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    this.#sync = port1;
    this.#flag = new Int32Array(flag);
    this.#worker = new Worker(entryPath(), { workerData: { syncPort: port2, flag }, transferList: [port2] });
    // An idle store does not keep the process alive (its lease timer runs on the thread).
    this.#worker.unref();
    this.#worker.on('message', (msg: PgReply | PgLeaseLost) => {
      if (msg.type === 'lease_lost') {
        this.#onLeaseLost?.(msg.message);
        return;
      }
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (msg.type === 'done') p.resolve(msg.value);
      else p.reject(new PgThreadError(msg.error.message, msg.error.code, msg.error.kind));
    });
    const fail = (err: Error): void => {
      this.#dead ??= err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    this.#worker.on('error', (err) => fail(new PgThreadError(`the store thread failed: ${err.message}`, null, 'dead')));
    this.#worker.on('exit', (code) => fail(new PgThreadError(`the store thread exited (code ${code})`, null, 'dead')));
  }

  /** Called when the thread finds the lease taken over by another engine. */
  onLeaseLost(fn: (message: string) => void): void {
    this.#onLeaseLost = fn;
  }

  /** Sends a request and blocks this thread until it is answered, or `timeoutMs` passed. */
  callSync<T>(req: Answered, timeoutMs: number): T {
    if (this.#dead) throw this.#dead;
    const id = ++this.#nextId;
    Atomics.store(this.#flag, 0, 0);
    this.#sync.postMessage({ ...req, id });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.#flag, 0, 0, left) === 'timed-out') {
        throw new PgThreadError(`no answer from the database within ${timeoutMs} ms`, null, 'timeout');
      }
      // Cleared before reading: an answer posted after this sets the flag again, so it is never missed.
      Atomics.store(this.#flag, 0, 0);
      for (let m = receiveMessageOnPort(this.#sync); m; m = receiveMessageOnPort(this.#sync)) {
        const reply = m.message as PgReply;
        // An answer to an earlier request that timed out is dropped.
        if (reply.id !== id) continue;
        if (reply.type === 'done') return reply.value as T;
        throw new PgThreadError(reply.error.message, reply.error.code, reply.error.kind);
      }
    }
  }

  /** Sends a request; resolves with its answer. */
  call<T>(req: Answered): Promise<T> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = ++this.#nextId;
    return new Promise<T>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ ...req, id });
    });
  }

  /** Resolves once the batch is committed; rejects with the database's error otherwise. */
  write(batch: EncodedBatch): Promise<void> {
    return this.call({ type: 'write', batch });
  }

  /** One part of a large batch, kept by the thread until {@link writeParts}. */
  sendPart(bulk: number, batch: EncodedBatch): void {
    if (this.#dead) return;
    this.#worker.postMessage({ type: 'part', bulk, batch } satisfies PgRequest);
  }

  /** The last part: the thread writes the `count` parts sent before and this one in one statement. */
  writeParts(bulk: number, count: number, batch: EncodedBatch): Promise<void> {
    return this.call({ type: 'write', batch, parts: { bulk, count } });
  }

  discardParts(bulk: number): void {
    if (!this.#dead) this.#worker.postMessage({ type: 'discard', bulk } satisfies PgRequest);
  }

  /** Waits for the commits sent, closes the connections (releasing the lease when asked), and stops the thread. */
  async close(release: boolean): Promise<void> {
    try {
      if (!this.#dead) await this.call({ type: 'close', release });
    } finally {
      this.#sync.close();
      await this.#worker.terminate();
    }
  }

  /** Stops the thread at once: what it was writing may or may not be committed. The lease is not released. */
  kill(): void {
    this.#dead ??= new PgThreadError('the store is closed', null, 'dead');
    this.#sync.close();
    void this.#worker.terminate();
  }
}
