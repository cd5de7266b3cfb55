/**
 * The protocol between the main thread and a worker thread. One request per Piscina task; the reply is a value,
 * never a thrown error, so codes survive the thread boundary. A task that asked for a channel gets a MessagePort
 * (transferred) over which the worker reports progress and logs (comlink) and the main thread sends `abort`.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../errors.js';
import type { ThreadSpan } from '../traces/transfer.js';
import type { ArtifactRef, ProducedFile, UpstreamArtifacts } from '../model/artifacts.js';

export interface RunRequest {
  type: 'run';
  /** Number of this dispatch; the worker marks it in the shared running table while the action runs. */
  seq: number;
  taskId: string;
  module: string;
  action: string;
  params: unknown;
  attempt: number;
  idempotencyKey?: string | undefined;
  /** The folder the action's file paths resolve against (a project's folder); the process's cwd when absent. */
  workingDir?: string | undefined;
  /** Outputs of the workflow steps this task depends on, by step name (see `ActionContext.upstream`). */
  upstream?: Record<string, unknown> | undefined;
  /** The attempt span's W3C trace context (tracing on): the thread makes it the action's `ctx.span` and active context. */
  traceparent?: string | undefined;
  /** The upstream steps' artifacts, already in the working folder (see `ctx.artifacts.upstream`). */
  artifacts?: UpstreamArtifacts | undefined;
  /** The run (or task) whose artifact folder holds them: the `<run>` of `.codomyrmex/artifacts/<run>/<step>/…`. */
  artifactScope?: string | undefined;
  port?: MessagePort | undefined;
}

/** Asks a worker to prove it is alive (health checks). */
export interface ProbeRequest {
  type: 'probe';
}

/** One attempt inside a batch: a run request without a channel (batched actions never get one). */
export type BatchItem = Omit<RunRequest, 'type' | 'port'>;

/**
 * Several short attempts in one Piscina task: run one after another on one thread, one message each way. The
 * worker starts no further item once `budgetMs` have passed since the batch began; those come back as `null`.
 */
export interface BatchRequest {
  type: 'batch';
  items: BatchItem[];
  budgetMs: number;
}

export type WorkerRequest = RunRequest | BatchRequest | ProbeRequest;

export type WorkerReply =
  /**
   * `bytes`: the result's estimated stored size; `binary`: it holds binary data (see `inspectResult`); `ms`: how
   * long the action ran on its thread (what batching decides on).
   */
  | {
      type: 'ok';
      output: unknown;
      bytes?: number;
      binary?: boolean;
      ms?: number;
      /** Files the action registered with `ctx.artifacts.put` (the thread's answer; stored by its runner). */
      produced?: ProducedFile[];
      /** The stored artifacts (the runner's answer, once `produced` is stored). */
      artifacts?: ArtifactRef[];
      /** The spans the thread ended (tracing on), exported by its runner. */
      spans?: ThreadSpan[];
    }
  | { type: 'error'; error: SerializedError; ms?: number; spans?: ThreadSpan[] };

/** A batch's answer: one reply per item, in order; `null` for an item the worker handed back without starting. */
export interface BatchReply {
  type: 'batch';
  replies: (WorkerReply | null)[];
}

/** What the main thread exposes over a task's channel (comlink). */
export interface ChannelHost {
  progress(value: unknown): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

/** Sent raw (not through comlink) from main to worker over the channel. */
export interface AbortMessage {
  type: 'codomyrmex.abort';
  reason: string;
}

export function isAbortMessage(value: unknown): value is AbortMessage {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'codomyrmex.abort';
}

/** Data the pool hands every worker at start. */
export interface WorkerBootData {
  moduleDirs: string[];
  /**
   * The running table, shared by all threads: one block per worker, `[ownerThreadId, seq...]` with one slot per
   * concurrent task. A worker claims a free block at boot and writes the `seq` of each task while it runs, so the
   * main thread can find (and terminate) the thread running a task without a per-task AbortSignal.
   */
  running: SharedArrayBuffer;
  slotsPerWorker: number;
  /**
   * Dispatches cancelled before a thread started them: slot `seq % length` holds `seq`. A worker marks a dispatch
   * in the running table first and then looks here, so a cancel either finds the thread (and terminates it) or
   * the worker sees the cancel and never runs the action.
   */
  cancelled: SharedArrayBuffer;
  /**
   * Dispatches a thread has taken, Int32 `seq` at slot `seq % STARTED_SLOTS` from the moment a thread begins one,
   * and when (Float64 epoch ms, in `startedAt`). Until then the dispatch waits for a thread (in Piscina's queue, say
   * while a terminated thread is replaced): queue time, which a task's timeout does not count.
   */
  started: SharedArrayBuffer;
  startedAt: SharedArrayBuffer;
  /**
   * Set when the engine traces: the thread loads a tracer provider, gives each traced attempt its span as `ctx.span`
   * and sends the spans its actions make back with the reply (`spans`). Absent: no OpenTelemetry module is loaded.
   */
  tracing?: { maxAttributeLength: number } | undefined;
}

/** Slots of the cancelled ring. */
export const CANCELLED_SLOTS = 4096;
/** Slots of the started ring. */
export const STARTED_SLOTS = 16_384;
