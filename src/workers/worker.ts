/**
 * The worker-thread entry Piscina loads. It builds the module registry once (built-ins plus configured folders),
 * then runs one `module.action` per request and answers with a {@link WorkerReply}.
 */
import { threadId, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { CancelledError, NonRetryableError, serializeError } from '../errors.js';
import { inspectResult } from '../model/results.js';
import type { ActionContext } from '../modules/contract.js';
import type { ThreadTracing } from '../traces/thread.js';
import { workingDirContext } from '../modules/paths.js';
import { AttemptArtifacts } from './threadArtifacts.js';
import { ModuleRegistry } from '../modules/registry.js';
import type {
  BatchItem,
  BatchReply,
  BatchRequest,
  ChannelHost,
  RunRequest,
  WorkerBootData,
  WorkerReply,
  WorkerRequest,
} from './protocol.js';
import { CANCELLED_SLOTS, isAbortMessage, STARTED_SLOTS } from './protocol.js';

const noop = (): Promise<void> => Promise.resolve();
const neverAborted = new AbortController().signal;
const noUpstream: Readonly<Record<string, unknown>> = Object.freeze({});
/** Results a batch carries back at most (the rest of its items go back unstarted): one reply stays one message. */
const BATCH_REPLY_BYTES = 4 * 1024 * 1024;

async function boot(): Promise<(req: WorkerRequest) => Promise<WorkerReply | BatchReply>> {
  const data = workerData as WorkerBootData;
  const registry = await ModuleRegistry.load(data.moduleDirs);
  // Loaded only when the engine traces: otherwise no OpenTelemetry module enters the thread.
  const tracing: ThreadTracing | null = data.tracing
    ? (await import('../traces/thread.js')).startThreadTracing(data.tracing.maxAttributeLength)
    : null;
  const table = new Int32Array(data.running);
  const cancelled = new Int32Array(data.cancelled);
  const started = new Int32Array(data.started);
  const startedAt = new Float64Array(data.startedAt);
  const block = data.slotsPerWorker + 1;
  let base = -1;
  /** Claims a free block of the running table (again later if none was free at boot). */
  function claim(): void {
    for (let b = 0; b + block <= table.length; b += block) {
      if (Atomics.compareExchange(table, b, 0, threadId) === 0) {
        base = b;
        return;
      }
    }
  }
  claim();

  /** Marks `seq` as running on this thread; returns the slot to clear, or -1. */
  function mark(seq: number): number {
    if (base < 0) claim();
    if (base < 0) return -1;
    for (let i = base + 1; i < base + block; i++) {
      if (Atomics.compareExchange(table, i, 0, seq) === 0) return i;
    }
    return -1;
  }

  /** Runs one attempt; with tracing, the spans its action finished go back with the reply. */
  async function run(req: RunRequest | BatchItem, port: RunRequest['port']): Promise<WorkerReply> {
    if (!tracing) return runAction(req, port);
    const reply = await runAction(req, port);
    const spans = tracing.take();
    if (spans) reply.spans = spans;
    return reply;
  }

  async function runAction(req: RunRequest | BatchItem, port: RunRequest['port']): Promise<WorkerReply> {
    // When first, then the seq with a fence: the main thread reads the seq, then the time.
    startedAt[req.seq % STARTED_SLOTS] = performance.timeOrigin + performance.now();
    Atomics.store(started, req.seq % STARTED_SLOTS, req.seq);
    let action;
    let params;
    try {
      action = registry.resolve(req.module, req.action);
      params = registry.parseParams(req.module, req.action, req.params) as never;
    } catch (err) {
      const e = serializeError(err);
      return { type: 'error', error: { ...e, retryable: false } };
    }
    const slot = mark(req.seq);
    // Marked first, then checked: a cancel that missed the mark is seen here (see WorkerBootData.cancelled).
    if (Atomics.load(cancelled, req.seq % CANCELLED_SLOTS) === req.seq) {
      if (slot >= 0) Atomics.store(table, slot, 0);
      port?.close();
      return {
        type: 'error',
        error: new CancelledError(`task ${req.taskId} was cancelled before a thread started it`).toJSON(),
      };
    }
    let ctx: ActionContext;
    const files = new AttemptArtifacts(req.artifactScope, req.artifacts);
    if (port) {
      const controller = new AbortController();
      port.on('message', (msg: unknown) => {
        if (isAbortMessage(msg)) controller.abort(new NonRetryableError(msg.reason));
      });
      const host = Comlink.wrap<ChannelHost>(port);
      ctx = {
        signal: controller.signal,
        taskId: req.taskId,
        attempt: req.attempt,
        idempotencyKey: req.idempotencyKey,
        workingDir: req.workingDir ?? process.cwd(),
        upstream: req.upstream ?? noUpstream,
        artifacts: files,
        progress: (value) => host.progress(value),
        log: (level, message) => host.log(level, message),
      };
    } else {
      ctx = {
        signal: neverAborted,
        taskId: req.taskId,
        attempt: req.attempt,
        idempotencyKey: req.idempotencyKey,
        workingDir: req.workingDir ?? process.cwd(),
        upstream: req.upstream ?? noUpstream,
        artifacts: files,
        progress: noop,
        log: noop,
      };
    }
    const span = tracing && req.traceparent !== undefined ? tracing.spanOf(req.traceparent) : undefined;
    if (span) ctx = { ...ctx, span };
    const t0 = performance.now();
    try {
      const output: unknown =
        tracing && span
          ? await tracing.within(span, () =>
              req.workingDir === undefined
                ? action.run(params, ctx)
                : workingDirContext.run(req.workingDir, () => action.run(params, ctx)),
            )
          : req.workingDir === undefined
            ? await action.run(params, ctx)
            : await workingDirContext.run(req.workingDir, () => action.run(params, ctx));
      const ms = performance.now() - t0;
      const kind = typeof output;
      let reply: WorkerReply;
      if (
        kind !== 'object' &&
        kind !== 'function' &&
        kind !== 'symbol' &&
        !(kind === 'string' && (output as string).length > 65_536)
      )
        reply = { type: 'ok', output, bytes: kind === 'string' ? (output as string).length + 2 : 8, ms };
      else {
        // A value that cannot be cloned back would kill this thread while the reply is posted: report it instead.
        const report = inspectResult(output);
        if (report.problem)
          return {
            type: 'error',
            error: new NonRetryableError(
              `${req.module}.${req.action} returned a value it cannot: ${report.problem}`,
            ).toJSON(),
            ms,
          };
        reply = report.binary
          ? { type: 'ok', output, bytes: report.bytes, binary: true, ms }
          : { type: 'ok', output, bytes: report.bytes, ms };
      }
      if (files.produced) reply.produced = files.produced;
      return reply;
    } catch (err) {
      return { type: 'error', error: serializeError(err), ms: performance.now() - t0 };
    } finally {
      if (slot >= 0) Atomics.store(table, slot, 0);
      port?.close();
    }
  }

  /** Runs a batch's items in order; once its budget is spent, the items not started go back as `null`. */
  async function runBatch(req: BatchRequest): Promise<BatchReply> {
    const items = req.items;
    const replies: (WorkerReply | null)[] = new Array<WorkerReply | null>(items.length).fill(null);
    const t0 = performance.now();
    let bytes = 0;
    for (let i = 0; i < items.length; i++) {
      if (i > 0 && (performance.now() - t0 > req.budgetMs || bytes > BATCH_REPLY_BYTES)) break;
      const reply = await run(items[i] as BatchItem, undefined);
      replies[i] = reply;
      if (reply.type === 'ok') bytes += reply.bytes ?? 0;
    }
    return { type: 'batch', replies };
  }

  return (req: WorkerRequest): Promise<WorkerReply | BatchReply> => {
    if (req.type === 'probe') return Promise.resolve({ type: 'ok', output: { threadId } });
    if (req.type === 'batch') return runBatch(req);
    return run(req, req.port);
  };
}

export default boot();
