import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ErrorCode, StoreError } from '../errors.js';
import type { EncodedBatch } from './sqliteWrites.js';
import type { WriterInit, WriterReply, WriterRequest } from './writerProtocol.js';

/** The compiled writer entry; under vitest (sources in .ts) the thread still loads the built JavaScript. */
function writerEntryPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return fileURLToPath(new URL('./writer.worker.js', import.meta.url));
  const built = fileURLToPath(new URL('../../dist/src/store/writer.worker.js', import.meta.url));
  if (!existsSync(built)) throw new Error(`writer entry ${built} is missing: run "npm run build" first`);
  return built;
}

/** A write the writer thread could not do: SQLite's message, and its code (e.g. `SQLITE_FULL`) as data `{ sqliteCode }`. */
export class WriterError extends StoreError {
  override name = 'WriterError';
  constructor(message: string, sqliteCode: string | null) {
    super(message, ErrorCode.STORE_WRITE_FAILED, { data: sqliteCode === null ? undefined : { sqliteCode } });
  }
}

/**
 * The engine's side of a SQLite writer thread. Requests are answered in the order sent; a thread that dies fails
 * what it had and is replaced by the next write.
 */
export class WriterThread {
  readonly #init: WriterInit;
  #worker: Worker | null = null;
  readonly #pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  #nextId = 0;

  constructor(init: WriterInit) {
    this.#init = init;
  }

  #start(): Worker {
    const worker = new Worker(writerEntryPath(), { workerData: this.#init });
    worker.on('message', (reply: WriterReply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      // An idle writer does not keep the process alive: a script that is done exits (its last commit is answered).
      if (this.#pending.size === 0) worker.unref();
      if (reply.type === 'done') p.resolve();
      else p.reject(new WriterError(reply.error.message, reply.error.code));
    });
    const fail = (err: Error): void => {
      if (this.#worker === worker) this.#worker = null;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new WriterError(`the SQLite writer thread exited (code ${code})`, null)));
    return worker;
  }

  #send(make: (id: number) => WriterRequest): Promise<void> {
    this.#worker ??= this.#start();
    const worker = this.#worker;
    const id = ++this.#nextId;
    return new Promise<void>((resolve, reject) => {
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(id, { resolve, reject });
      worker.postMessage(make(id));
    });
  }

  /** Nothing sent is unanswered: the thread is not writing (and holds no write lock). */
  get idle(): boolean {
    return this.#pending.size === 0;
  }

  /**
   * Starts the thread now and resolves once it has opened its connection: a thread started by the first write
   * makes that write wait for its boot (loading SQLite in a new thread, 0.1 s on a quiet machine, over 1 s on a
   * loaded one).
   */
  warm(): Promise<void> {
    return this.#send((id) => ({ type: 'ready', id }));
  }

  /** Resolves once the batch is committed (and fsynced in strict mode); rejects with SQLite's error otherwise. */
  write(batch: EncodedBatch): Promise<void> {
    return this.#send((id) => ({ type: 'write', id, batch }));
  }

  /**
   * Sends one part of a large batch (kept by the thread until {@link writeParts}); `bulk` names the batch. Not
   * answered: a thread that dies meanwhile fails the last part instead.
   */
  sendPart(bulk: number, batch: EncodedBatch): void {
    this.#worker ??= this.#start();
    this.#worker.postMessage({ type: 'part', bulk, batch } satisfies WriterRequest);
  }

  /** Sends the last part: the thread writes the `count` parts sent before and this one in one transaction. */
  writeParts(bulk: number, count: number, batch: EncodedBatch): Promise<void> {
    return this.#send((id) => ({ type: 'write', id, batch, parts: { bulk, count } }));
  }

  /** Drops the parts sent for `bulk` (the sender gave up before the last one). */
  discardParts(bulk: number): void {
    this.#worker?.postMessage({ type: 'discard', bulk } satisfies WriterRequest);
  }

  /** Lets the thread finish what it was sent, closes its connection (a WAL checkpoint), and stops it. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    try {
      await this.#send((id) => ({ type: 'close', id }));
    } finally {
      this.#worker = null;
      await worker.terminate();
    }
  }

  /** Stops the thread at once (what it was writing may or may not be committed; it is not acknowledged). */
  kill(): void {
    const worker = this.#worker;
    this.#worker = null;
    if (worker) void worker.terminate();
  }
}
