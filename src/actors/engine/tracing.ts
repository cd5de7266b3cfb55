/**
 * One engine's tracing, when `tracing.enabled`: relays the events spans are built from in the order the bus delivers
 * them (subscribed before any component runs), loads the OpenTelemetry module at start, reports spans an export
 * dropped (counted, and a `component_error` at most once a minute), and shuts the exporter down at the end. It also
 * wraps what tracing changes: the task runner (a span per attempt) and the library's client bus (trace context).
 */
import { Subject } from 'rxjs';
import type { MessageBus } from '../../bus/bus.js';
import { tracingClientBus } from '../../bus/traceparent.js';
import type { BusEvent } from '../../bus/protocol.js';
import type { CompiledTracing } from '../../config/tracing.js';
import { serializeError } from '../../errors.js';
import type { EngineMetrics } from '../../metrics/engineMetrics.js';
import type { Tracing } from '../../traces/tracing.js';
import { loadTracing, TRACED_EVENTS } from '../../traces/tracing.js';
import type { Clock } from '../../model/clock.js';
import type { TaskRunner } from '../../workers/runner.js';
import { tracedRunner } from '../../workers/traced.js';

export class EngineTracing {
  readonly #bus: MessageBus;
  readonly #metrics: EngineMetrics | null;
  readonly #options: CompiledTracing;
  /** The events spans are built from, relayed in the order the bus delivers them. */
  readonly #events = new Subject<BusEvent>();
  #tracing: Tracing | null = null;
  #dropWarnedAt = 0;

  constructor(bus: MessageBus, metrics: EngineMetrics | null, options: CompiledTracing) {
    this.#bus = bus;
    this.#metrics = metrics;
    this.#options = options;
    if (!options.enabled) return;
    // The task-duration histogram's exemplars: the trace of a task's latest sampled attempt.
    metrics?.enableTraceMetrics((taskId) => this.#tracing?.traceIdOfTask(taskId) ?? null);
    // Subscribed first, so a run's span exists before any other listener (a log line) hears of the run.
    for (const type of TRACED_EVENTS) bus.events$(type).subscribe((e) => this.#events.next(e));
  }

  /** Loads the tracing module (tracing on); no module is loaded with tracing off. */
  async load(): Promise<void> {
    if (!this.#options.enabled) return;
    this.#tracing = await loadTracing(this.#options, {
      events: this.#events.asObservable(),
      onDropped: (n, err) => this.#spansDropped(n, err),
    });
  }

  /** The loaded tracing; null with tracing off or before the engine started. */
  get current(): Tracing | null {
    return this.#tracing;
  }

  /** The runner as the engine uses it: with tracing on, each attempt runs in a span of its task's trace. */
  runner(runner: TaskRunner, clock: Clock): TaskRunner {
    return this.#options.enabled ? tracedRunner(runner, () => this.#tracing, clock) : runner;
  }

  /** The bus as the library's clients use it: with tracing on, it stamps the active trace context on what they start. */
  clientBus(bus: MessageBus): MessageBus {
    return this.#options.enabled ? tracingClientBus(bus, () => this.#tracing?.activeTraceparent()) : bus;
  }

  /** How a workflow run's steps find the run's trace context (tracing on); undefined with tracing off. */
  runTraceparent(): ((runId: string) => string | null) | undefined {
    return this.#options.enabled ? (runId: string) => this.#tracing?.runTraceparent(runId) ?? null : undefined;
  }

  /** Ends what is open and exports what is pending (an unreachable endpoint gives up after the exporter's timeout). */
  async shutdown(): Promise<void> {
    await this.#tracing?.shutdown().catch(() => undefined);
  }

  /** Counts spans an export dropped, with a `component_error` event at most once a minute. */
  #spansDropped(spans: number, error: Error | undefined): void {
    this.#metrics?.traceSpansDropped(spans);
    const now = Date.now();
    if (now - this.#dropWarnedAt < 60_000) return;
    this.#dropWarnedAt = now;
    const cause = error ?? new Error('the exporter reported a failure');
    this.#bus.publish('component_error', {
      component: 'tracing',
      operation: `export spans (${spans} dropped; see codomyrmex_trace_spans_dropped_total)`,
      error: serializeError(cause),
    });
  }
}
