import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { testEngine } from '../helpers.js';
import type { OtlpReceiver } from '../support/otlp.js';
import { startOtlpReceiver } from '../support/otlp.js';
import { dashboardQueries, freePort, hasBinary, pollUntil } from './support.js';

const SHIPPED_CONFIG = fileURLToPath(new URL('../../config/prometheus/prometheus.yml', import.meta.url));

interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

const available = hasBinary('prometheus');

describe.skipIf(!available)('a real Prometheus scraping a running engine', () => {
  let engine: OrchestrationEngine;
  let server: ChildProcess;
  let dir: string;
  let api: string;
  let stderr = '';
  let receiver: OtlpReceiver;

  async function query(expr: string): Promise<QueryResponse> {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()) as QueryResponse;
  }

  beforeAll(async () => {
    // Traced, so the task-duration buckets carry exemplars (Prometheus asks for OpenMetrics, and stores them).
    receiver = await startOtlpReceiver();
    engine = testEngine({ threads: 1, http: { port: 0 }, tracing: { enabled: true, endpoint: receiver.endpoint } });
    await engine.ready();
    for (let i = 0; i < 3; i++)
      await engine.tasks.executeTask({ name: `scraped${i}`, module: 'core', action: 'echo', parameters: { value: i } });

    // The shipped scrape config, pointed at this engine's port and scraping every second.
    dir = mkdtempSync(join(tmpdir(), 'codomyrmex-prom-'));
    const config = parseYaml(readFileSync(SHIPPED_CONFIG, 'utf8')) as {
      global: Record<string, string>;
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    config.global['scrape_interval'] = '1s';
    config.global['evaluation_interval'] = '1s';
    config.scrape_configs[0]!.static_configs[0]!.targets = [`127.0.0.1:${engine.httpAddress!.port}`];
    writeFileSync(join(dir, 'prometheus.yml'), stringifyYaml(config));

    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    server = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--enable-feature=exemplar-storage',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    server.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const exited = new Promise<never>((_, reject) =>
      server.once('exit', (code) => reject(new Error(`prometheus exited (${code}): ${stderr}`))),
    );
    exited.catch(() => {});
    await Promise.race([
      exited,
      pollUntil('prometheus to be ready', async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined), {
        timeoutMs: 30_000,
      }),
    ]);
  }, 60_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const gone = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await gone;
    }
    await engine?.shutdown();
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('answers a PromQL query about the tasks that ran', async () => {
    const expr = 'codomyrmex_tasks_total{job="codomyrmex",module="core",action="echo",status="completed"}';
    // The first scrape lands about 5 s after start, whatever the interval.
    const series = await pollUntil(
      'the first scrape of the engine',
      async () => {
        const r = await query(expr);
        return r.status === 'success' && r.data.result.length > 0 ? r.data.result : undefined;
      },
      { timeoutMs: 45_000, everyMs: 250 },
    );
    expect(series).toHaveLength(1);
    expect(series[0]!.metric).toMatchObject({
      instance: `127.0.0.1:${engine.httpAddress!.port}`,
      service: 'codomyrmex',
    });
    expect(Number(series[0]!.value[1])).toBe(3);

    const up = await query('up{job="codomyrmex"}');
    expect(up.data.result.map((r) => r.value[1])).toEqual(['1']);
    const count = await query('sum(codomyrmex_task_duration_seconds_count{action="echo"})');
    expect(Number(count.data.result[0]!.value[1])).toBe(3);
  }, 60_000);

  it('stores the exemplars of the task-duration histogram, each naming a trace the engine exported', async () => {
    interface Exemplars {
      status: string;
      data: { seriesLabels: Record<string, string>; exemplars: { labels: { trace_id?: string }; value: string }[] }[];
    }
    const now = Date.now() / 1000;
    const url = `${api}/api/v1/query_exemplars?query=${encodeURIComponent('codomyrmex_task_duration_seconds_bucket{action="echo"}')}&start=${now - 600}&end=${now + 600}`;
    const found = await pollUntil(
      'exemplars in Prometheus',
      async () => {
        const r = (await (await fetch(url)).json()) as Exemplars;
        const ids = r.data.flatMap((d) => d.exemplars.map((e) => e.labels.trace_id ?? ''));
        return r.status === 'success' && ids.length > 0 ? ids : undefined;
      },
      { timeoutMs: 45_000, everyMs: 250 },
    );
    for (const id of found) expect(id).toMatch(/^[0-9a-f]{32}$/);
    await receiver.waitFor(
      (spans) => spans.some((s) => s.name === 'attempt core.echo' && found.includes(s.traceId)),
      'the attempt span of an exemplar',
    );
  }, 60_000);

  it('accepts every query of the Grafana dashboard', async () => {
    const failures: string[] = [];
    for (const { title, expr } of dashboardQueries()) {
      const r = await query(expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*'));
      if (r.status !== 'success') failures.push(`${title}: ${r.error ?? 'error'}`);
    }
    expect(failures).toEqual([]);
  }, 30_000);
});

if (!available) {
  describe('a real Prometheus scraping a running engine', () => {
    it.skip('skipped: the prometheus binary is not on PATH (apt-get install prometheus; .ci/run does)', () => {});
  });
}
