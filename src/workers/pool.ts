import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { Piscina } from 'piscina';
import type {
  BatchReply,
  BatchRequest,
  ChannelHost,
  RunRequest,
  WorkerBootData,
  WorkerReply,
  WorkerRequest,
} from './protocol.js';
import { CANCELLED_SLOTS, STARTED_SLOTS } from './protocol.js';

export interface PoolOptions {
  /** Worker threads (default: os.availableParallelism()). */
  threads: number;
  /** Tasks one worker runs at once (default 1: a timed-out task's thread is killed, so sharing it costs others). */
  concurrentTasksPerWorker: number;
  moduleDirs: string[];
  /**
   * Give Piscina no stop (signal) for dispatches, so a thread runs `concurrentTasksPerWorker` of them at once: Piscina
   * runs a task that has a signal alone on an idle thread. For a pool that is never handed more than it can run
   * (a remote worker's: the daemon reserves its slots), where nothing waits in Piscina's queue to be dropped; a
   * kill still finds its thread through the running table. Default false.
   */
  noQueueStops?: boolean | undefined;
  /** Trace in the threads (see `WorkerBootData.tracing`); absent: off. */
  tracing?: { maxAttributeLength: number } | undefined;
}

/** The compiled worker entry. Under vitest (sources in .ts) the workers still load the built JavaScript. */
export function workerEntryPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return fileURLToPath(new URL('./worker.js', import.meta.url));
  const built = fileURLToPath(new URL('../../dist/src/workers/worker.js', import.meta.url));
  if (!existsSync(built)) throw new Error(`worker entry ${built} is missing: run "npm run build" first`);
  return built;
}

/**
 * How the pool configures Piscina: the one place, so a benchmark's bare pool runs with exactly the engine's
 * settings (worker file, sizes, boot data with a running table sized alike, atomics).
 */
export function piscinaConfig(options: PoolOptions): {
  filename: string;
  minThreads: number;
  maxThreads: number;
  concurrentTasksPerWorker: number;
  idleTimeout: number;
  workerData: WorkerBootData;
  recordTiming: false;
  atomics: 'async';
} {
  // Twice the threads: a dying worker and its replacement may both hold a block for a moment.
  const running = new SharedArrayBuffer(
    Int32Array.BYTES_PER_ELEMENT * (options.concurrentTasksPerWorker + 1) * (options.threads * 2 + 2),
  );
  return {
    filename: workerEntryPath(),
    minThreads: options.threads,
    maxThreads: options.threads,
    concurrentTasksPerWorker: options.concurrentTasksPerWorker,
    idleTimeout: 60_000,
    workerData: {
      moduleDirs: options.moduleDirs,
      running,
      slotsPerWorker: options.concurrentTasksPerWorker,
      cancelled: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * CANCELLED_SLOTS),
      started: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * STARTED_SLOTS),
      startedAt: new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT * STARTED_SLOTS),
      ...(options.tracing ? { tracing: options.tracing } : {}),
    },
    recordTiming: false,
    // 'async' (Atomics.waitAsync) keeps an idle worker's event loop turning: with the default 'sync' an idle
    // worker blocks in Atomics.wait, so it never reaps a killed child process (zombies) or runs an action's
    // leftover timers until its next task arrives.
    atomics: 'async',
  };
}

/**
 * Piscina's own stop for one dispatch (a minimal abort signal; one small object, no AbortController): aborted, Piscina
 * drops the dispatch from its queue or, when a thread holds it, terminates that thread and starts another. The last
 * resort of a kill that finds no thread marked as running the dispatch while Piscina still counts it as running
 * (its reply was lost): the thread's capacity comes back.
 */
export class DispatchStop {
  aborted = false;
  #listener: (() => void) | null = null;

  addEventListener(_name: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  removeEventListener(): void {
    this.#listener = null;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.#listener;
    this.#listener = null;
    listener?.();
  }
}

/** Milliseconds since the epoch, with a fraction, the same on every thread (a thread's `performance.now()` is not). */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/** A task's side of the channel: receives progress and logs, sends abort. */
export interface TaskChannel {
  abort(reason: string): void;
  close(): void;
}

/**
 * The Piscina pool that runs actions. Sized once; a thread that dies (crash, termination after a timeout) is
 * replaced by Piscina on the next task.
 */
export class WorkerPool {
  readonly #piscina: Piscina<WorkerRequest, WorkerReply | BatchReply>;
  readonly options: PoolOptions;
  #created = 0;
  #destroyed = false;
  readonly #table: Int32Array;
  readonly #cancelled: Int32Array;
  readonly #started: Int32Array;
  readonly #startedAt: Float64Array;
  readonly #block: number;
  #seq = 0;
  #terminated = 0;
  /** {@link booted} gave up on threads that never finished loading. */
  #bootTimedOut = false;
  /** When the pool (and so its threads' loading) started, in `performance.now()` ms. */
  readonly #madeAt = performance.now();

  constructor(options: PoolOptions) {
    this.options = options;
    this.#block = options.concurrentTasksPerWorker + 1;
    const config = piscinaConfig(options);
    this.#table = new Int32Array(config.workerData.running);
    this.#cancelled = new Int32Array(config.workerData.cancelled);
    this.#started = new Int32Array(config.workerData.started);
    this.#startedAt = new Float64Array(config.workerData.startedAt);
    this.#piscina = new Piscina(config);
    this.#piscina.on('workerCreate', () => {
      this.#created++;
    });
    // A thread that has exited reports threadId -1, so blocks are freed by sweeping for owners no longer alive.
    this.#piscina.on('workerDestroy', () => this.#sweep());
    // A worker that dies with no task on it emits 'error' on the pool; it is replaced, nothing to fail.
    this.#piscina.on('error', () => {});
  }

  /** Tasks the pool can run at once. */
  get capacity(): number {
    return this.options.threads * this.options.concurrentTasksPerWorker;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** A fresh dispatch number for a request (never 0). */
  nextSeq(): number {
    this.#seq = (this.#seq % 0x7ffffffe) + 1;
    return this.#seq;
  }

  /** The stop Piscina is given for a dispatch (none with `noQueueStops`, see {@link PoolOptions}). */
  #signal(stop: DispatchStop | undefined): DispatchStop | undefined {
    return this.options.noQueueStops === true ? undefined : stop;
  }

  /** Runs one request. Stop it with {@link terminate} and its `seq` (or, as a last resort, with `stop`). */
  run(req: RunRequest, stop?: DispatchStop): Promise<WorkerReply> {
    const signal = this.#signal(stop);
    return (signal ? this.#piscina.run(req, { signal }) : this.#piscina.run(req)) as Promise<WorkerReply>;
  }

  /** Runs a batch of attempts as one Piscina task (each item has its own `seq`, so each can be cancelled). */
  runBatch(req: BatchRequest, stop?: DispatchStop): Promise<BatchReply> {
    const signal = this.#signal(stop);
    return (signal ? this.#piscina.run(req, { signal }) : this.#piscina.run(req)) as Promise<BatchReply>;
  }

  /**
   * When a thread took dispatch `seq` (epoch ms, see {@link epochNow}); null while it waits for one (queue time).
   * A dispatch so old that later ones have reused its slot counts as taken long ago (0).
   */
  takenAt(seq: number): number | null {
    const slot = seq % STARTED_SLOTS;
    const seen = Atomics.load(this.#started, slot);
    if (seen === seq) return this.#startedAt[slot] ?? 0;
    return seen > seq ? 0 : null;
  }

  /** Whether a thread has marked any of these dispatches as running (see {@link terminate}). */
  runningAny(seqs: readonly number[]): boolean {
    const table = this.#table;
    for (let b = 0; b < table.length; b += this.#block) {
      if (Atomics.load(table, b) === 0) continue;
      for (let i = b + 1; i < b + this.#block; i++) {
        const seq = Atomics.load(table, i);
        if (seq !== 0 && seqs.includes(seq)) return true;
      }
    }
    return false;
  }

  /**
   * Terminates the thread running dispatch `seq` (Piscina then fails that thread's tasks and starts a new one).
   * False when no thread has started it yet (it may still be on its way) or it has finished.
   */
  terminate(seq: number): boolean {
    const table = this.#table;
    const block = this.#block;
    for (let b = 0; b < table.length; b += block) {
      const owner = Atomics.load(table, b);
      if (owner === 0) continue;
      for (let i = b + 1; i < b + block; i++) {
        if (Atomics.load(table, i) !== seq) continue;
        const worker = this.#piscina.threads.find((w) => w.threadId === owner);
        if (!worker) return false;
        this.#terminated++;
        void worker.terminate();
        return true;
      }
    }
    return false;
  }

  /**
   * Stops dispatch `seq` wherever it is: terminates its thread if one runs it; otherwise marks it cancelled so a
   * thread that picks it up later answers at once without running the action. True when a thread was terminated.
   */
  cancel(seq: number): boolean {
    Atomics.store(this.#cancelled, seq % CANCELLED_SLOTS, seq);
    return this.terminate(seq);
  }

  /** Frees the running-table blocks of threads that have gone. */
  #sweep(): void {
    const alive = new Set(this.#piscina.threads.map((w) => w.threadId).filter((id) => id >= 0));
    const table = this.#table;
    for (let b = 0; b < table.length; b += this.#block) {
      const owner = Atomics.load(table, b);
      if (owner === 0 || alive.has(owner)) continue;
      for (let i = b + 1; i < b + this.#block; i++) Atomics.store(table, i, 0);
      Atomics.store(table, b, 0);
    }
  }

  /**
   * Runs a request with a channel for progress/logs and cooperative abort. `host` receives the worker's calls.
   */
  runWithChannel(
    req: RunRequest,
    host: ChannelHost,
    stop?: DispatchStop,
  ): { reply: Promise<WorkerReply>; channel: TaskChannel } {
    const { port1, port2 } = new MessageChannel();
    Comlink.expose(host, port1);
    const channel: TaskChannel = {
      abort: (reason) => port1.postMessage({ type: 'codomyrmex.abort', reason }),
      close: () => port1.close(),
    };
    const signal = this.#signal(stop);
    const reply = this.#piscina.run(
      { ...req, port: port2 },
      signal ? { transferList: [port2], signal } : { transferList: [port2] },
    ) as Promise<WorkerReply>;
    return { reply, channel };
  }

  /** Actions running on a thread right now (marked in the running table). */
  running(): number {
    let n = 0;
    for (let b = 0; b < this.#table.length; b += this.#block) {
      if (Atomics.load(this.#table, b) === 0) continue;
      for (let i = b + 1; i < b + this.#block; i++) if (Atomics.load(this.#table, i) !== 0) n++;
    }
    return n;
  }

  /**
   * Waits until a worker thread has loaded its modules and answers, or fails: with the worker's own error when a
   * module threw while it was imported there, or `timeoutMs` after the pool was made (its threads started loading
   * then) when loading never finishes.
   */
  async booted(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          // Threads that never finish loading are not waited for when the pool is destroyed (see #booted).
          this.#bootTimedOut = true;
          reject(
            new Error(
              `the worker threads did not finish loading their modules within ${timeoutMs} ms (option workerBootTimeoutMs); a module's top-level code never finishes inside a worker thread`,
            ),
          );
        },
        Math.max(0, timeoutMs - (performance.now() - this.#madeAt)),
      );
    });
    try {
      await Promise.race([this.#piscina.run({ type: 'probe' }), deadline]);
    } catch (err) {
      const message =
        err instanceof Error
          ? err.message
          : typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string'
            ? (err as { message: string }).message
            : String(err);
      throw new Error(`moduleDirs: a worker thread could not load the modules: ${message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Round trip through a worker: proves the pool can run tasks. */
  async probe(): Promise<number> {
    const t0 = performance.now();
    await this.#piscina.run({ type: 'probe' });
    return performance.now() - t0;
  }

  stats(): {
    threads: number;
    capacity: number;
    utilization: number;
    queued: number;
    completed: number;
    threadsStarted: number;
    threadsTerminated: number;
    running: number;
  } {
    return {
      running: this.running(),
      threadsTerminated: this.#terminated,
      threads: this.#piscina.threads.length,
      capacity: this.capacity,
      utilization: this.#piscina.utilization,
      queued: this.#piscina.queueSize,
      completed: this.#piscina.completed,
      threadsStarted: this.#created,
    };
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (!this.#bootTimedOut) await this.#booted(5000);
    await this.#piscina.destroy();
  }

  /**
   * Waits (up to `timeoutMs`) until every live thread has finished booting: Node 20 aborts the whole process
   * ("v8::Module::IsGraphAsync must be used on an instantiated module") when a worker is terminated while its ES
   * modules are still loading. A worker claims its block of the running table only once its modules are loaded,
   * so an owned block means the thread is safe to terminate.
   */
  async #booted(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const owners = new Set<number>();
      for (let b = 0; b < this.#table.length; b += this.#block) owners.add(Atomics.load(this.#table, b));
      const booting = this.#piscina.threads.filter((w) => w.threadId >= 0 && !owners.has(w.threadId));
      if (booting.length === 0 || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
