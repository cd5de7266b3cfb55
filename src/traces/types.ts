/**
 * What the engine asks of tracing, as interfaces with no OpenTelemetry import: the SDK behind them is loaded only
 * when tracing is on (`loadTracing` in tracing.ts), so an engine that does not trace never loads an OpenTelemetry
 * module. Kept apart from `loadTracing` so the SDK's files can name these types without an import circle.
 */
import type { BusEvent, EventName } from '../model/events.js';
import type { Observable } from 'rxjs';
import type { ThreadSpan } from './transfer.js';

/** One attempt of one task, as the runner sends it. */
export interface AttemptInfo {
  taskId: string;
  name: string;
  module: string;
  action: string;
  attempt: number;
  /** How long the attempt waited in the ready queue, in ms (a `queue` span shows it). */
  queuedMs?: number | undefined;
  /** The context the task was submitted in (W3C `traceparent`); the step's span wins for a workflow step. */
  traceparent?: string | undefined;
}

/** How an attempt ended, as its span records it. */
export type AttemptOutcome =
  { ok: true } | { ok: false; error: { name?: string | undefined; code?: string | undefined; message: string } };

/** An attempt's span while it runs. */
export interface AttemptSpan {
  /** The attempt span's W3C `traceparent`: sent to the thread or worker that runs it, whose spans become its children. */
  readonly traceparent: string;
  /** Who runs it (`local` or a remote worker's id): the `codomyrmex.worker` attribute. */
  setWorker(worker: string): void;
  end(outcome: AttemptOutcome): void;
}

/** A span around work an edge handles (a daemon command, a remote worker's attempt). */
export interface HandlerSpan {
  /** Its W3C `traceparent`, to hand on (a run started by the command is its child). */
  readonly traceparent: string;
  readonly traceId: string;
  readonly spanId: string;
  /** Runs `fn` with this span as the active context (a library call made inside parents to it). */
  with<T>(fn: () => T): T;
  end(error?: { message: string; code?: string | undefined } | null): void;
}

/** Options of a span an edge starts. */
export interface HandlerSpanOptions {
  /** `server` (a command answered), `client` (a command sent), `consumer` (a message taken from a queue), `producer`, `internal` (default). */
  kind?: 'server' | 'client' | 'consumer' | 'producer' | 'internal';
  /** The W3C `traceparent` it continues (a malformed one starts a new trace); absent: the active span's. */
  traceparent?: string | undefined;
  attributes?: Record<string, string | number | boolean | undefined>;
}

/** An engine's (or worker's) tracing, once loaded. */
export interface Tracing {
  /** The active span's W3C `traceparent` (a library call made inside a span), or undefined. */
  activeTraceparent(): string | undefined;
  /** The trace id and span id of the active span (log lines carry them), or undefined. */
  activeIds(): { traceId: string; spanId: string } | undefined;
  /** Starts an attempt's span (a child of its step's span, or of the context the task was submitted in). */
  startAttempt(info: AttemptInfo): AttemptSpan;
  /** Starts a span for an edge's own work (a daemon command, a remote worker's attempt). */
  startSpan(name: string, options?: HandlerSpanOptions): HandlerSpan;
  /** Exports spans that a worker thread (or a remote worker) finished and sent back with an attempt's reply. */
  exportSpans(spans: readonly ThreadSpan[]): void;
  /** The trace id of a run that this engine traced and sampled (while it runs, and for a while after), or null. */
  traceIdOfRun(runId: string): string | null;
  /** The W3C `traceparent` of a run's span that this engine traced and sampled (while it runs, and for a while after), or null. */
  runTraceparent(runId: string): string | null;
  /** The trace id of a task's latest sampled attempt on this engine (a step's is its run's trace), or null. */
  traceIdOfTask(taskId: string): string | null;
  /**
   * What a log line carries: the ids of the step (`taskId`) or run (`runId`) it is about, else the active span's;
   * undefined when none.
   */
  logIds(fields: { runId?: unknown; taskId?: unknown }): { trace_id: string; span_id: string } | undefined;
  /** Ends what is still open (runs left running), exports what is pending, and stops. */
  shutdown(): Promise<void>;
}

/** The events runs, steps, schedules and triggers become spans from. */
export const TRACED_EVENTS: readonly EventName[] = [
  'workflow_started',
  'workflow_completed',
  'step_started',
  'step_completed',
  'step_failed',
  'step_waiting',
  'run_signaled',
];

/**
 * The engine's events of {@link TRACED_EVENTS}, as its bus delivers them. The engine subscribes to them when it is
 * made, before anything else can: an event's span exists when any other listener (a log line) hears of it.
 */
export type TracedEvents = Observable<BusEvent>;

/** Where spans of one process go: the provider, shared by the engine's spans and an edge's. */
export interface TracingDeps {
  /** The engine's events: runs, steps, schedules and triggers become spans from them (absent for a worker). */
  events?: TracedEvents;
  /** Called once with each export failure's spans (counted in `codomyrmex_trace_spans_dropped_total`). */
  onDropped?: (spans: number, error: Error | undefined) => void;
}
