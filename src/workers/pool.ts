import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { Piscina } from 'piscina';
import type { ChannelHost, RunRequest, WorkerBootData, WorkerReply } from './protocol.js';

export interface PoolOptions {
  /** Worker threads (default: os.availableParallelism()). */
  threads: number;
  /** Tasks one worker runs at once (default 1: a timed-out task's thread is killed, so sharing it costs others). */
  concurrentTasksPerWorker: number;
  moduleDirs: string[];
}

/** The compiled worker entry. Under vitest (sources in .ts) the workers still load the built JavaScript. */
export function workerEntryPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return fileURLToPath(new URL('./worker.js', import.meta.url));
  const built = fileURLToPath(new URL('../../dist/src/workers/worker.js', import.meta.url));
  if (!existsSync(built)) throw new Error(`worker entry ${built} is missing: run "npm run build" first`);
  return built;
}

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
  readonly #piscina: Piscina<RunRequest | { type: 'probe' }, WorkerReply>;
  readonly options: PoolOptions;
  #created = 0;
  #destroyed = false;

  constructor(options: PoolOptions) {
    this.options = options;
    const boot: WorkerBootData = { moduleDirs: options.moduleDirs };
    this.#piscina = new Piscina({
      filename: workerEntryPath(),
      minThreads: options.threads,
      maxThreads: options.threads,
      concurrentTasksPerWorker: options.concurrentTasksPerWorker,
      idleTimeout: 60_000,
      workerData: boot,
      recordTiming: false,
    });
    this.#piscina.on('workerCreate', () => {
      this.#created++;
    });
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

  /** Runs one request. `signal` aborts it by terminating its thread. */
  run(req: RunRequest, signal?: AbortSignal): Promise<WorkerReply> {
    return this.#piscina.run(req, signal ? { signal } : undefined);
  }

  /**
   * Runs a request with a channel for progress/logs and cooperative abort. `host` receives the worker's calls.
   */
  runWithChannel(req: RunRequest, host: ChannelHost, signal: AbortSignal | undefined): { reply: Promise<WorkerReply>; channel: TaskChannel } {
    const { port1, port2 } = new MessageChannel();
    Comlink.expose(host, port1);
    const channel: TaskChannel = {
      abort: (reason) => port1.postMessage({ type: 'codomyrmex.abort', reason }),
      close: () => port1.close(),
    };
    const reply = this.#piscina.run({ ...req, port: port2 }, { transferList: [port2], ...(signal ? { signal } : {}) });
    return { reply, channel };
  }

  /** Round trip through a worker: proves the pool can run tasks. */
  async probe(): Promise<number> {
    const t0 = performance.now();
    await this.#piscina.run({ type: 'probe' });
    return performance.now() - t0;
  }

  stats(): { threads: number; capacity: number; utilization: number; queued: number; completed: number; threadsStarted: number } {
    return {
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
    // Terminating a thread while it still loads its entry module can abort the whole process: Piscina loads it with
    // require(), and Node 20's require(esm) fails a V8 check when the thread dies mid-load (seen with engines shut
    // down right after start). Let every thread finish loading first: one probe each, bounded.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled(Array.from({ length: this.options.threads }, () => this.#piscina.run({ type: 'probe' }))),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000))),
    ]);
    clearTimeout(timer);
    await this.#piscina.destroy();
  }
}
