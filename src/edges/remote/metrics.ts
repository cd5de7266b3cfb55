/**
 * The remote-worker families a daemon adds to its engine's registry when it dispatches to workers over JetStream,
 * read at scrape time from what the runner knows. One function so the metrics reference lists them too.
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { WorkerView } from './protocol.js';
import type { RemoteCounters } from './runner.js';

/** What the families read at each scrape. */
export interface RemoteWorkerSource {
  workers(): Pick<WorkerView, 'name' | 'state' | 'inFlight'>[];
  counters(): Omit<RemoteCounters, 'dispatched'>;
}

/** Registers `codomyrmex_workers`, `codomyrmex_worker_in_flight` and the workers' counters on `registry`. */
export function registerRemoteWorkerFamilies(registry: Registry, source: RemoteWorkerSource): void {
  new Gauge({
    name: 'codomyrmex_workers',
    help: 'Remote workers the daemon knows, by state (live, lost).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const all = source.workers();
      this.set({ state: 'live' }, all.filter((w) => w.state === 'live').length);
      this.set({ state: 'lost' }, all.filter((w) => w.state === 'lost').length);
    },
  });
  new Gauge({
    name: 'codomyrmex_worker_in_flight',
    help: 'Attempts the daemon has in flight on each remote worker (never above its threads).',
    labelNames: ['worker'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const w of source.workers()) this.set({ worker: w.name }, w.inFlight);
    },
  });
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };
  counter('codomyrmex_worker_redeliveries_total', 'Attempts JetStream redelivered to another worker (the first one took it and stopped).', () => source.counters().redeliveries);
  counter('codomyrmex_worker_late_results_total', 'Results that came after the daemon had ended the attempt (timeout, cancel, lost worker): discarded.', () => source.counters().lateResults);
  counter('codomyrmex_worker_unknown_results_total', 'Results for a task the daemon does not know: refused.', () => source.counters().unknownResults);
  counter('codomyrmex_workers_lost_total', 'Workers marked lost because they stopped heartbeating.', () => source.counters().lostWorkers);
}
