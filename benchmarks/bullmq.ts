/**
 * BullMQ on a local Redis, for `bench:durable`: the same three measurements as the engine (no-op throughput, a
 * dependency chain, one job at a time), against a `redis-server` this module starts on a loopback port in a temp
 * folder and stops. Loaded only when `redis-server` and the `bullmq` package are both present.
 *
 * Redis runs with an append-only file, `appendfsync always` (every write fsynced: the counterpart of SQLite strict)
 * or `everysec` (the usual production setting: up to a second lost on a crash, like relaxed), or without
 * persistence (`off`: a crash loses everything; the fastest BullMQ can be). Jobs run in this
 * thread (BullMQ's default), `concurrency` 50; completed jobs are kept, as the engine keeps finished tasks.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Connection {
  host: string;
  port: number;
}
interface BJob {
  waitUntilFinished(events: BQueueEvents, ttl?: number): Promise<unknown>;
}
interface BQueue {
  add(name: string, data: unknown): Promise<BJob>;
  addBulk(jobs: { name: string; data: unknown }[]): Promise<unknown>;
  close(): Promise<void>;
}
interface BWorker {
  on(event: 'completed', fn: () => void): void;
  on(event: 'failed', fn: (job: unknown, err: Error) => void): void;
  off(event: string, fn: (...args: never[]) => void): void;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}
interface BQueueEvents {
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}
interface FlowJob {
  name: string;
  queueName: string;
  data: unknown;
  children?: FlowJob[];
}
interface BFlowProducer {
  add(flow: FlowJob): Promise<unknown>;
  close(): Promise<void>;
}
interface BullMQModule {
  Queue: new (name: string, opts: { connection: Connection }) => BQueue;
  Worker: new (
    name: string,
    fn: () => Promise<unknown>,
    opts: { connection: Connection; concurrency: number },
  ) => BWorker;
  QueueEvents: new (name: string, opts: { connection: Connection }) => BQueueEvents;
  FlowProducer: new (opts: { connection: Connection }) => BFlowProducer;
}

/** Why BullMQ cannot run here, or null when it can. */
export function bullmqMissing(): string | null {
  const redis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (redis.error || redis.status !== 0) return 'redis-server is not installed (apt-get install -y redis-server)';
  try {
    createRequire(import.meta.url).resolve('bullmq');
  } catch {
    return 'the bullmq package is not installed';
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export type RedisPersistence = 'always' | 'everysec' | 'off';

export async function startRedis(
  persistence: RedisPersistence,
): Promise<{ connection: Connection; stop: () => Promise<void>; version: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-redis-'));
  const port = await freePort();
  const aof = persistence === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', persistence];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...aof, '--daemonize', 'no'];
  const redis: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      log += d.toString();
      if (log.includes('Ready to accept connections')) resolve();
    };
    redis.stdout?.on('data', onData);
    redis.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${log}`)));
  });
  const version =
    /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
  return {
    connection: { host: '127.0.0.1', port },
    version,
    stop: async () => {
      const exited = new Promise<void>((resolve) => redis.once('exit', () => resolve()));
      redis.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BullBest {
  tasksPerSec: number;
  chainMsPerStep: number;
  executeMs: number;
  chainNote: string;
}

/** One BullMQ contender: a Redis with the given fsync policy, a queue, a worker of concurrency 50. */
export class BullContender {
  readonly name: string;
  readonly best: BullBest = { tasksPerSec: 0, chainMsPerStep: Infinity, executeMs: Infinity, chainNote: '' };
  version = '';
  readonly #persistence: RedisPersistence;
  #mq!: BullMQModule;
  #redis!: Awaited<ReturnType<typeof startRedis>>;
  #queue!: BQueue;
  #worker!: BWorker;
  #events!: BQueueEvents;
  #flows!: BFlowProducer;
  readonly #queueName = 'bench';

  constructor(persistence: RedisPersistence) {
    this.#persistence = persistence;
    this.name =
      persistence === 'off' ? 'BullMQ, Redis without persistence' : `BullMQ, Redis appendfsync ${persistence}`;
  }

  async start(): Promise<void> {
    const specifier = 'bullmq';
    this.#mq = (await import(specifier)) as BullMQModule;
    this.#redis = await startRedis(this.#persistence);
    const connection = this.#redis.connection;
    const bullVersion = (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version;
    this.version = `bullmq ${bullVersion}, redis ${this.#redis.version}`;
    this.#queue = new this.#mq.Queue(this.#queueName, { connection });
    this.#worker = new this.#mq.Worker(this.#queueName, () => Promise.resolve(null), { connection, concurrency: 50 });
    this.#events = new this.#mq.QueueEvents(this.#queueName, { connection });
    this.#flows = new this.#mq.FlowProducer({ connection });
    await Promise.all([this.#worker.waitUntilReady(), this.#events.waitUntilReady()]);
    await this.#run(2000); // warm up
  }

  /** Adds `n` jobs in bulks of 1000 and resolves once all completed; returns the elapsed ms. */
  async #run(n: number): Promise<number> {
    let done = 0;
    let onDone: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (onDone = resolve));
    const completed = (): void => {
      if (++done === n) onDone();
    };
    this.#worker.on('completed', completed);
    const t0 = performance.now();
    for (let i = 0; i < n; i += 1000) {
      await this.#queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'noop', data: {} })));
    }
    await all;
    const dt = performance.now() - t0;
    this.#worker.off('completed', completed);
    return dt;
  }

  async throughputRound(tasks: number): Promise<void> {
    this.best.tasksPerSec = Math.max(this.best.tasksPerSec, (tasks / (await this.#run(tasks))) * 1000);
  }

  /**
   * A chain of dependent jobs as a BullMQ flow: each job is the only child of the next, so they run one after the
   * other, deepest first. Resolves with ms per step.
   */
  async chainRound(length: number): Promise<void> {
    let flow: FlowJob = { name: 'step-0', queueName: this.#queueName, data: {} };
    for (let i = 1; i < length; i++)
      flow = { name: `step-${i}`, queueName: this.#queueName, data: {}, children: [flow] };
    let done = 0;
    let onDone: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (onDone = resolve));
    const completed = (): void => {
      if (++done === length) onDone();
    };
    this.#worker.on('completed', completed);
    const t0 = performance.now();
    try {
      await this.#flows.add(flow);
      await all;
      this.best.chainMsPerStep = Math.min(this.best.chainMsPerStep, (performance.now() - t0) / length);
    } catch (err) {
      this.best.chainNote = `a ${length}-deep flow failed: ${(err as Error).message}`;
    } finally {
      this.#worker.off('completed', completed);
    }
  }

  /** Adds one job and waits for it to finish, `n` times in a row. */
  async executeRound(n: number): Promise<void> {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const job = await this.#queue.add('noop', {});
      await job.waitUntilFinished(this.#events, 30_000);
    }
    this.best.executeMs = Math.min(this.best.executeMs, (performance.now() - t0) / n);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.#worker.close(), this.#queue.close(), this.#events.close(), this.#flows.close()]);
    await this.#redis.stop();
  }
}
