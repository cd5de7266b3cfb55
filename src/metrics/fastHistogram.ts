/**
 * A Prometheus histogram for the per-task hot path. prom-client's `Histogram.observe` (bound children included)
 * converts, validates and hashes its labels on every call; at tens of thousands of tasks a second that, with the
 * counters beside it, was a quarter of the engine's throughput. Here a series is bound once to its label values
 * and an observation is a bucket search and three additions; the exposition is built at scrape time, in prom-client's
 * own format (it registers on a prom-client `Registry` like any family).
 */
import type { Registry } from 'prom-client';

/** One bound series: what the hot path holds. */
export interface HistogramSeries {
  /**
   * Counts `value`. With a `traceId` (a sampled trace the observation belongs to), the bucket it falls in keeps it as
   * its exemplar (the latest one wins), shown only in an OpenMetrics exposition.
   */
  observe(value: number, traceId?: string): void;
}

/** An exemplar as prom-client's samples carry one: its labels, the observed value, when (seconds since the epoch). */
export interface SampleExemplar {
  labelSet: Record<string, string>;
  value: number;
  timestamp: number;
}

/** The latest exemplar of each bucket, made on a series' first exemplar (a series that never gets one costs nothing). */
class Exemplars {
  readonly traceIds: (string | undefined)[];
  readonly values: Float64Array;
  readonly at: Float64Array;
  constructor(buckets: number) {
    this.traceIds = new Array<string | undefined>(buckets).fill(undefined);
    this.values = new Float64Array(buckets);
    this.at = new Float64Array(buckets);
  }
  of(i: number): SampleExemplar | undefined {
    const traceId = this.traceIds[i];
    return traceId === undefined
      ? undefined
      : { labelSet: { trace_id: traceId }, value: this.values[i] ?? 0, timestamp: (this.at[i] ?? 0) / 1000 };
  }
}

class Series implements HistogramSeries {
  readonly labels: Record<string, string>;
  /** Observations per bucket (not cumulative; the last slot is above every bound). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  exemplars: Exemplars | null = null;
  readonly #bounds: readonly number[];

  constructor(labels: Record<string, string>, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number, traceId?: string): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += value;
    this.count++;
    if (traceId === undefined) return;
    const ex = (this.exemplars ??= new Exemplars(this.counts.length));
    ex.traceIds[i] = traceId;
    ex.values[i] = value;
    ex.at[i] = Date.now();
  }
}

/** Series by label values, each made once and handed out to be held (the hot path never builds a key). */
class SeriesMap<L extends string, S> {
  readonly #labelNames: readonly L[];
  readonly #make: (labels: Record<string, string>) => S;
  readonly #series = new Map<string, S>();

  constructor(labelNames: readonly L[], make: (labels: Record<string, string>) => S) {
    this.#labelNames = labelNames;
    this.#make = make;
  }

  get(labels: Record<L, string>): S {
    let key = '';
    for (const n of this.#labelNames) key += `${labels[n]}\u0000`;
    let s = this.#series.get(key);
    if (!s) {
      const own: Record<string, string> = {};
      for (const n of this.#labelNames) own[n] = String(labels[n]);
      this.#series.set(key, (s = this.#make(own)));
    }
    return s;
  }

  values(): IterableIterator<S> {
    return this.#series.values();
  }
}

type Sample = { labels: Record<string, string | number>; value: number; metricName: string; exemplar?: SampleExemplar };

export class FastHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames: readonly L[];
  readonly #bounds: readonly number[];
  readonly #series: SeriesMap<L, Series>;

  constructor(config: {
    name: string;
    help: string;
    labelNames: readonly L[];
    buckets: readonly number[];
    registers: Registry[];
  }) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    const bounds = [...config.buckets].sort((a, b) => a - b);
    this.#bounds = bounds;
    this.#series = new SeriesMap(config.labelNames, (labels) => new Series(labels, bounds));
    for (const r of config.registers) r.registerMetric(this as never);
  }

  /** The series of these label values, created on first use; hold it and call `observe` on it. */
  labels(labels: Record<L, string>): HistogramSeries {
    return this.#series.get(labels);
  }

  observe(labels: Record<L, string>, value: number): void {
    this.labels(labels).observe(value);
  }

  /** Zeroes every series in place (series already handed out keep counting into the same place). */
  reset(): void {
    for (const s of this.#series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
      s.exemplars = null;
    }
  }

  /**
   * The samples, as prom-client's registry formats them: cumulative `_bucket`s with `le`, `_sum`, `_count`. A bucket
   * with an exemplar carries it as `exemplar` (prom-client's shape; only an OpenMetrics exposition shows it).
   */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    const sample = (s: Series, le: number | string, value: number, i: number): Sample => {
      const exemplar = s.exemplars?.of(i);
      return exemplar
        ? { labels: { ...s.labels, le }, value, metricName: bucket, exemplar }
        : { labels: { ...s.labels, le }, value, metricName: bucket };
    };
    for (const s of this.#series.values()) {
      let acc = 0;
      this.#bounds.forEach((le, i) => {
        acc += s.counts[i] ?? 0;
        values.push(sample(s, le, acc, i));
      });
      values.push(sample(s, '+Inf', s.count, this.#bounds.length));
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}

/** One bound counter series. */
export interface CounterSeries {
  inc(by?: number): void;
}

class CountSeries implements CounterSeries {
  readonly labels: Record<string, string>;
  value = 0;
  constructor(labels: Record<string, string>) {
    this.labels = labels;
  }
  inc(by = 1): void {
    if (by > 0 && Number.isFinite(by)) this.value += by;
  }
}

/** A Prometheus counter for the hot path, bound to its label values once (see {@link FastHistogram}). */
export class FastCounter<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly labelNames: readonly L[];
  readonly #series: SeriesMap<L, CountSeries>;

  constructor(config: { name: string; help: string; labelNames: readonly L[]; registers: Registry[] }) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.#series = new SeriesMap(config.labelNames, (labels) => new CountSeries(labels));
    for (const r of config.registers) r.registerMetric(this as never);
  }

  labels(labels: Record<L, string>): CounterSeries {
    return this.#series.get(labels);
  }

  inc(labels: Record<L, string>, by = 1): void {
    this.labels(labels).inc(by);
  }

  reset(): void {
    for (const s of this.#series.values()) s.value = 0;
  }

  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string>; value: number }[];
  }> {
    const values = [...this.#series.values()].map((s) => ({ labels: { ...s.labels }, value: s.value }));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
