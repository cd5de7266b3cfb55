/**
 * The local runner: attempts on the engine's worker-thread pool (`pool.ts`), alone or, for short actions, several
 * per dispatch (`batching.ts`), with their artifacts fetched before and stored after.
 */
import type { Clock, ClockTimer } from '../model/clock.js';
import { DispatchStop, epochNow } from './pool.js';
import type { WorkerPool } from './pool.js';
import type { BatchItem, BatchReply, BatchRequest, RunRequest, WorkerReply } from './protocol.js';
import type { ArtifactExchange } from './artifacts.js';
import { serializeError } from '../errors.js';
import { ActionTimes, BATCH_BUDGET_MS } from './batching.js';
import type { AttemptHooks, AttemptRequest, RunningAttempt, RunningBatch, TaskRunner } from './runner.js';
import { attemptFields } from './runner.js';

/** How often a kill looks again for a thread that has not marked the attempt yet: 2 ms, doubling, up to 250 ms. */
const KILL_RETRY_MS = [2, 4, 8, 16, 32, 64, 128, 250] as const;
/**
 * Looks after which a kill that still finds no thread running the attempt (nor, in a batch, any of its batch-mates)
 * stops the dispatch through Piscina (~500 ms): its reply was lost, and the thread Piscina counts busy is replaced.
 */
const KILL_LOOKS_BEFORE_STOP = 9;

/** Runs attempts on the engine's worker-thread pool. */
export class LocalPoolRunner implements TaskRunner {
  readonly #pool: WorkerPool;
  readonly #clock: Clock;
  readonly #times = new ActionTimes();
  readonly #batching: boolean;

  /**
   * `batching: false`: every attempt goes alone (the reference the benchmarks compare batches with). `artifacts`:
   * where attempts' artifacts are fetched from and stored (without it, `ctx.artifacts.put` registers files that
   * are not kept).
   */
  constructor(pool: WorkerPool, clock: Clock, options: { batching?: boolean; artifacts?: ArtifactExchange } = {}) {
    this.#pool = pool;
    this.#clock = clock;
    this.#batching = options.batching !== false;
    this.artifacts = options.artifacts ?? null;
  }

  /** Where artifacts go (replaceable: the daemon moves to the Object Store once it reaches NATS). */
  artifacts: ArtifactExchange | null;

  /** The reply of an attempt, its upstream artifacts fetched first and the ones it produced stored after. */
  #withArtifacts(req: AttemptRequest, run: () => Promise<WorkerReply>): Promise<WorkerReply> {
    const ex = this.artifacts;
    if (!ex) return run();
    const started =
      req.artifacts === undefined
        ? run()
        : ex.fetch(req).then(run, (err: unknown) => ({ type: 'error' as const, error: serializeError(err) }));
    return started.then((r) => (r.type === 'ok' && r.produced ? ex.keep(req, r) : r));
  }

  get capacity(): number {
    return this.#pool.capacity;
  }

  get batchLanes(): number {
    return this.#pool.options.threads;
  }

  batchLimit(module: string, action: string): number {
    return this.#batching ? this.#times.batchLimit(module, action) : 1;
  }

  learn(module: string, action: string, reply: WorkerReply): void {
    this.#times.learn(module, action, reply);
  }

  startBatch(reqs: readonly AttemptRequest[]): RunningBatch {
    const pool = this.#pool;
    const items: BatchItem[] = new Array<BatchItem>(reqs.length);
    for (let i = 0; i < reqs.length; i++) {
      items[i] = attemptFields({ seq: pool.nextSeq() }, reqs[i] as AttemptRequest);
    }
    let replies: Promise<(WorkerReply | null)[]>;
    const stop = new DispatchStop();
    try {
      const ex = this.artifacts;
      const batch: BatchRequest = { type: 'batch', items, budgetMs: BATCH_BUDGET_MS };
      if (ex && reqs.some((r) => r.artifacts !== undefined)) {
        for (let i = 0; i < reqs.length; i++)
          if (reqs[i]?.artifacts !== undefined) (items[i] as BatchItem).artifacts = reqs[i]?.artifacts;
        replies = Promise.all(reqs.map((r) => ex.fetch(r))).then(() =>
          pool.runBatch(batch, stop).then((r: BatchReply) => r.replies),
        );
      } else replies = pool.runBatch(batch, stop).then((r: BatchReply) => r.replies);
      // Artifacts of batched attempts (short actions rarely have them): stored before the batch's replies count.
      if (ex)
        replies = replies.then((rs) =>
          rs.some((r) => r?.type === 'ok' && r.produced)
            ? Promise.all(
                rs.map((r, i) =>
                  r && r.type === 'ok' && r.produced ? ex.keep(reqs[i] as AttemptRequest, r) : Promise.resolve(r),
                ),
              )
            : rs,
        );
    } catch (err) {
      replies = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const seqs = items.map((item) => item.seq);
    const attempts = items.map(
      (item, i) => new PoolAttempt(pool, this.#clock, item.seq, { batch: replies, index: i }, null, stop, seqs),
    );
    return { attempts, replies };
  }

  start(req: AttemptRequest, hooks: AttemptHooks): RunningAttempt {
    const pool = this.#pool;
    const seq = pool.nextSeq();
    const request: RunRequest = attemptFields({ type: 'run' as const, seq }, req);
    if (req.artifacts !== undefined) request.artifacts = req.artifacts;
    const stop = new DispatchStop();
    try {
      if (req.channel) {
        let channel: { abort(reason: string): void; close(): void } | null = null;
        const reply = this.#withArtifacts(req, () => {
          const run = pool.runWithChannel(request, hooks, stop);
          channel = run.channel;
          return run.reply;
        });
        // The channel exists once the attempt is sent (after its artifacts are fetched); an abort before that stops nothing (the kill after the grace does).
        return new PoolAttempt(
          pool,
          this.#clock,
          seq,
          reply,
          { abort: (reason) => channel?.abort(reason), close: () => channel?.close() },
          stop,
          null,
        );
      }
      return new PoolAttempt(
        pool,
        this.#clock,
        seq,
        this.artifacts ? this.#withArtifacts(req, () => pool.run(request, stop)) : pool.run(request, stop),
        null,
        stop,
        null,
      );
    } catch (err) {
      return new PoolAttempt(
        pool,
        this.#clock,
        seq,
        Promise.reject(err instanceof Error ? err : new Error(String(err))),
        null,
        stop,
        null,
      );
    }
  }
}

/** One attempt on the pool (a class, not closures: one small object per attempt on the hot path). */
class PoolAttempt implements RunningAttempt {
  #reply: Promise<WorkerReply> | { batch: Promise<(WorkerReply | null)[]>; index: number };
  readonly #pool: WorkerPool;
  readonly #clock: Clock;
  readonly #seq: number;
  #channel: { abort(reason: string): void; close(): void } | null;
  /** Its outcome is known (the scheduler closed it): kills stop looking. */
  #closed = false;
  #killing: ClockTimer | null = null;
  /** Piscina's stop for the dispatch carrying this attempt. */
  readonly #stop: DispatchStop;
  /** In a batch: every attempt of the dispatch (null: the attempt went alone). */
  readonly #batchSeqs: readonly number[] | null;
  /** When it was sent to the pool (epoch ms): {@link queuedMs} counts from here. */
  readonly #sentAt = epochNow();

  /** `reply`: the attempt's own, or (in a batch) where its reply is found in the batch's. */
  constructor(
    pool: WorkerPool,
    clock: Clock,
    seq: number,
    reply: Promise<WorkerReply> | { batch: Promise<(WorkerReply | null)[]>; index: number },
    channel: { abort(reason: string): void; close(): void } | null,
    stop: DispatchStop,
    batchSeqs: readonly number[] | null,
  ) {
    this.#pool = pool;
    this.#clock = clock;
    this.#seq = seq;
    this.#reply = reply;
    this.#channel = channel;
    this.#stop = stop;
    this.#batchSeqs = batchSeqs;
  }

  /** The attempt's reply (in a batch, made on first use: the scheduler reads the batch's replies instead). */
  get reply(): Promise<WorkerReply> {
    const r = this.#reply;
    if (r instanceof Promise) return r;
    const own = r.batch.then(
      (rs) => rs[r.index] ?? Promise.reject(new Error('the batch handed this attempt back unstarted')),
    );
    this.#reply = own;
    return own;
  }

  queuedMs(): number | null {
    const taken = this.#pool.takenAt(this.#seq);
    return taken === null ? null : Math.max(0, taken - this.#sentAt);
  }

  abort(reason: string): boolean {
    if (!this.#channel) return false;
    this.#channel.abort(reason);
    return true;
  }

  kill(): void {
    if (this.#killing === null) this.#kill(0);
  }

  #kill(tries: number): void {
    this.#killing = null;
    if (this.#closed) return;
    // Found and terminated, or marked so that a thread never runs it; until it settles, look again (the worker may
    // hold it between Piscina's queue and its mark, and the cancelled ring can be overwritten).
    if (this.#pool.cancel(this.#seq)) return;
    if (
      tries >= KILL_LOOKS_BEFORE_STOP &&
      !this.#stop.aborted &&
      !this.#pool.runningAny(this.#batchSeqs ?? [this.#seq])
    ) {
      // Nothing runs it, yet its dispatch has not answered: Piscina ends the dispatch (and the thread holding it).
      this.#stop.abort();
      return;
    }
    const wait = KILL_RETRY_MS[Math.min(tries, KILL_RETRY_MS.length - 1)] ?? 250;
    this.#killing = this.#clock.setTimeout(() => this.#kill(tries + 1), wait, { unref: true });
  }

  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#killing);
    this.#killing = null;
    this.#channel?.close();
    this.#channel = null;
  }
}
