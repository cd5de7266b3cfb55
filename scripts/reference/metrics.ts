/**
 * The metrics reference (docs/reference/metrics.md): every family in a real engine's prom-client registry (plus the
 * remote-worker families a daemon with workers adds), with its type, help text and labels.
 */
import { createOrchestrationEngine } from '../../src/edges/library.js';
import { createLogger } from '../../src/edges/daemon/logger.js';
import { registerWorkerMetrics } from '../../src/workers/jetstream/metrics.js';
import { JetStreamRunner } from '../../src/workers/jetstream/runner.js';
import { generatedBanner, table } from './markdown.js';

interface Family {
  name: string;
  help: string;
  type: string;
  labelNames?: readonly string[];
}

/** The page. Builds an engine (memory store, one thread, never started) to read its registry, then shuts it down. */
export async function metricsReference(): Promise<string> {
  const engine = createOrchestrationEngine({ store: 'memory', threads: 1, metrics: { processMetrics: false } });
  try {
    const registry = engine.metrics!.registry;
    // The remote workers' families, as a daemon with remote workers registers them (the runner is never started).
    const runner = new JetStreamRunner({
      subjectPrefix: 'reference',
      run: engine.id,
      lostAfterMs: 1000,
      afterCommit: () => Promise.resolve(),
      taskStatus: () => null,
      log: createLogger('json', 'silent'),
    });
    registerWorkerMetrics(registry, runner);
    // The tracing family, as an engine that traces adds it.
    engine.metrics!.enableTraceMetrics();
    const families = (registry.getMetricsAsArray() as unknown as Family[])
      .slice()
      .sort((a, b) => a.name.localeCompare(b.name));
    return [
      generatedBanner("a real engine's prom-client registry (src/metrics/, src/workers/jetstream/metrics.ts)"),
      '',
      '# Metrics reference',
      '',
      'Every Prometheus family an engine serves on `/metrics` (`codomyrmex_*`, base units; label values are bounded',
      'sets, never task or run ids). The `codomyrmex_worker*` families appear on a daemon that dispatches to remote',
      "workers, and `codomyrmex_trace_spans_dropped_total` on one that traces; a daemon also serves `codomyrmex_daemon_role` (gauge, label role: active or standby). prom-client's",
      'default `process_*` and `nodejs_*` families come on top unless `metrics: { processMetrics: false }`. Dashboards,',
      'alerts and health: [operations](../operations.md#metrics-health-and-grafana).',
      '',
      table(
        ['family', 'type', 'labels', 'help'],
        families.map((f) => [`\`${f.name}\``, f.type, (f.labelNames ?? []).join(', '), f.help]),
      ),
      '',
    ].join('\n');
  } finally {
    await engine.shutdown();
  }
}
