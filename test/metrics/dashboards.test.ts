import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { DEFAULT_HTTP } from '../../src/config/options.js';
import { createLogger } from '../../src/edges/daemon/logger.js';
import { registerWorkerMetrics } from '../../src/workers/jetstream/metrics.js';
import { JetStreamRunner } from '../../src/workers/jetstream/runner.js';
import { testEngine } from '../helpers.js';
import { dashboardQueries, declaredFamilies, hasBinary } from './support.js';

const PROMETHEUS = fileURLToPath(new URL('../../config/prometheus/prometheus.yml', import.meta.url));

/** The family a series name in a query belongs to, and the type that suffix implies. */
function familyOf(series: string): { family: string; type: string | null } {
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  if (m) return { family: m[1]!, type: m[2] === 'bucket' ? 'histogram' : null };
  return { family: series, type: null };
}

describe('dashboards', () => {
  let engine: OrchestrationEngine;
  let declared: Map<string, string>;
  beforeAll(async () => {
    engine = testEngine({ threads: 1, metrics: { processMetrics: false } });
    // The remote workers' families, as a daemon with --remote-workers registers them.
    const runner = new JetStreamRunner({
      subjectPrefix: 'dash',
      run: engine.id,
      lostAfterMs: 1000,
      afterCommit: async () => undefined,
      taskStatus: () => null,
      log: createLogger('json', 'silent'),
    });
    registerWorkerMetrics(engine.metrics!.registry, runner);
    declared = declaredFamilies(await engine.metrics!.expose());
    // Served beside the engine's families by a daemon on a PostgreSQL store (its own HTTP edge: daemon.ts).
    declared.set('codomyrmex_daemon_role', 'gauge');
  });
  afterAll(() => engine.shutdown());

  it('config/grafana/codomyrmex.json parses and covers throughput, latency, queue, pool, failures and resources', () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    const all = queries.map((q) => q.expr).join('\n');
    for (const family of [
      'codomyrmex_tasks_total',
      'codomyrmex_task_duration_seconds_bucket',
      'codomyrmex_task_queue_depth',
      'codomyrmex_pool_utilization_ratio',
      'codomyrmex_task_failures_total',
      'codomyrmex_resource_utilization_ratio',
      'codomyrmex_worker_tasks_total',
      'codomyrmex_task_batched_total',
    ]) {
      expect(all).toContain(family);
    }
  });

  it('queries only metrics the engine exposes, with the type their suffix implies', () => {
    const missing: string[] = [];
    for (const { title, expr } of dashboardQueries()) {
      const names = expr.match(/\bcodomyrmex_[a-z0-9_]+/g) ?? [];
      expect(names.length, `panel "${title}" queries no codomyrmex_ metric`).toBeGreaterThan(0);
      for (const series of names) {
        const { family, type } = familyOf(series);
        const found = declared.get(family);
        if (!found || (type && found !== type)) missing.push(`${title}: ${series}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('config/prometheus/prometheus.yml scrapes the daemon where the HTTP edge listens by default', () => {
    const config = parseYaml(readFileSync(PROMETHEUS, 'utf8')) as {
      scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
    };
    const job = config.scrape_configs.find((j) => j.job_name === 'codomyrmex');
    expect(job?.metrics_path).toBe('/metrics');
    expect(job?.static_configs[0]?.targets).toEqual([`${DEFAULT_HTTP.host}:${DEFAULT_HTTP.port}`]);
  });

  it.skipIf(!hasBinary('promtool'))('config/prometheus/prometheus.yml passes promtool check config', () => {
    const out = spawnSync('promtool', ['check', 'config', PROMETHEUS], { encoding: 'utf8' });
    expect(out.status, out.stdout + out.stderr).toBe(0);
  });
});
