/**
 * The remote workers' metric families, read from the {@link JetStreamRunner} at scrape time: workers by state,
 * attempts in flight and ended per worker, and the runner's counters (redeliveries, late and unknown results, lost
 * workers).
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { WORKER_OUTCOMES } from './directory.js';
import type { JetStreamRunner } from './runner.js';

/** Registers the workers' families on a registry (the engine's). */
export function registerWorkerMetrics(registry: Registry, runner: JetStreamRunner): void {
  new Gauge({
    name: 'codomyrmex_workers',
    help: 'Remote workers the daemon knows, by state (live, lost).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const all = runner.directory.views(Date.now());
      this.set({ state: 'live' }, all.filter((w) => w.state === 'live').length);
      this.set({ state: 'lost' }, all.filter((w) => w.state === 'lost').length);
    },
  });
  new Gauge({
    name: 'codomyrmex_worker_in_flight',
    help: 'Attempts the daemon has in flight on each remote worker (never above its capacity).',
    labelNames: ['worker'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const w of runner.directory.views(Date.now())) this.set({ worker: w.name }, w.inFlight);
    },
  });
  new Gauge({
    name: 'codomyrmex_worker_capacity',
    help: 'Attempts each live remote worker runs at once (threads × tasks per thread).',
    labelNames: ['worker'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const w of runner.directory.live()) this.set({ worker: w.info.name }, w.info.capacity);
    },
  });
  new Counter({
    name: 'codomyrmex_worker_tasks_total',
    help: "Attempts ended per worker (`local`: the daemon's own threads) and outcome (completed, failed, crashed, stopped, lost).",
    labelNames: ['worker', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [worker, counts] of runner.directory.tally.entries()) {
        for (const outcome of WORKER_OUTCOMES) if (counts[outcome] > 0) this.inc({ worker, outcome }, counts[outcome]);
      }
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
  counter(
    'codomyrmex_worker_dispatched_total',
    'Attempts the daemon published to remote workers.',
    () => runner.counters.dispatched,
  );
  counter(
    'codomyrmex_worker_messages_total',
    'Work messages the daemon published (an attempt each, or several sent together): dispatched ÷ messages is the batching.',
    () => runner.counters.messages,
  );
  counter(
    'codomyrmex_worker_redeliveries_total',
    'Attempts JetStream redelivered to another worker (the first one took it and stopped).',
    () => runner.counters.redeliveries,
  );
  counter(
    'codomyrmex_worker_late_results_total',
    'Results that came after the daemon had ended the attempt (timeout, cancel, lost worker): discarded.',
    () => runner.counters.lateResults,
  );
  counter(
    'codomyrmex_worker_unknown_results_total',
    'Results for a task the daemon does not know: refused.',
    () => runner.counters.unknownResults,
  );
  counter(
    'codomyrmex_workers_lost_total',
    'Workers marked lost because they stopped heartbeating.',
    () => runner.counters.lostWorkers,
  );
}
