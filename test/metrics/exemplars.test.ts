/**
 * Exemplars: with tracing on, a scrape that asks for OpenMetrics (as Prometheus does) gets the task-duration
 * histogram's buckets with the trace id of a sampled task, in text Prometheus's own parser takes
 * (`promtool tsdb create-blocks-from openmetrics`; `promtool check metrics` knows no exemplars); the trace id is one
 * the engine exported to a real OTLP/HTTP receiver. A scrape that does not ask gets the Prometheus text format, unchanged.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { negotiateFormat } from '../../src/metrics/openMetrics.js';
import { testEngine } from '../helpers.js';
import { tempDirs } from '../store/helpers.js';
import type { OtlpReceiver } from '../support/otlp.js';
import { startOtlpReceiver } from '../support/otlp.js';
import { hasBinary, parseExposition, sample } from './support.js';

/** What Prometheus 2 sends when it scrapes. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const EXEMPLAR =
  /^codomyrmex_task_duration_seconds_bucket\{([^}]*)\} (\S+) # \{trace_id="([0-9a-f]{32})"\} (\S+) (\d+\.\d{3})$/;

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

async function scrape(engine: OrchestrationEngine, accept?: string): Promise<{ type: string | null; body: string }> {
  const res = await fetch(`${engine.httpAddress!.url}/metrics`, accept === undefined ? {} : { headers: { accept } });
  expect(res.status).toBe(200);
  return { type: res.headers.get('content-type'), body: await res.text() };
}

/** The exposition as a backfill file: each sample stamped with the scrape time (promtool's backfill wants one). */
function withTimestamps(body: string, seconds: number): string {
  return body
    .split('\n')
    .map((line) => {
      if (line === '' || line.startsWith('#')) return line;
      const at = line.indexOf(' # {');
      return at < 0 ? `${line} ${seconds}` : `${line.slice(0, at)} ${seconds}${line.slice(at)}`;
    })
    .join('\n');
}

describe('exemplars on the task-duration histogram', () => {
  let receiver: OtlpReceiver;
  let engine: OrchestrationEngine;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    engine = testEngine({ threads: 1, http: { port: 0 }, tracing: { enabled: true, endpoint: receiver.endpoint } });
    await engine.ready();
    for (let i = 0; i < 3; i++)
      expect(
        (await engine.tasks.executeTask({ module: 'core', action: 'echo', parameters: { value: i } })).success,
      ).toBe(true);
  });
  afterAll(async () => {
    await engine?.shutdown();
    await receiver?.close();
  });

  it('serves OpenMetrics with trace-id exemplars to a scrape that asks for it, which promtool backfills', async () => {
    const { type, body } = await scrape(engine, PROMETHEUS_ACCEPT);
    expect(type).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(body.endsWith('\n# EOF\n')).toBe(true);
    // Counter families are named without `_total`; their samples keep it.
    expect(body).toContain('# TYPE codomyrmex_tasks counter\n');
    expect(body).toContain('codomyrmex_tasks_total{module="core",action="echo",status="completed"} 3');
    const exemplars = body.split('\n').flatMap((l) => {
      const m = EXEMPLAR.exec(l);
      return m ? [{ labels: m[1]!, traceId: m[3]!, value: Number(m[4]), at: Number(m[5]) }] : [];
    });
    expect(exemplars.length).toBeGreaterThan(0);
    for (const e of exemplars) {
      expect(e.labels).toContain('module="core",action="echo",status="completed"');
      expect(e.value).toBeGreaterThanOrEqual(0);
      expect(Math.abs(e.at - Date.now() / 1000)).toBeLessThan(120);
    }

    if (hasBinary('promtool')) {
      const dir = dirs.make('openmetrics');
      const file = join(dir, 'scrape.om');
      writeFileSync(file, withTimestamps(body, Math.floor(Date.now() / 1000)));
      const out = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', file, join(dir, 'blocks')], {
        encoding: 'utf8',
      });
      expect(out.status, `${out.stdout}${out.stderr}`).toBe(0);
    }

    // The exemplar names a trace the engine exported: an attempt of one of those tasks.
    const traceIds = new Set(exemplars.map((e) => e.traceId));
    await engine.shutdown();
    const spans = await receiver.waitFor(
      (all) => all.some((s) => traceIds.has(s.traceId) && s.name === 'attempt core.echo'),
      "the exemplar's attempt span",
    );
    expect(
      spans.find((s) => traceIds.has(s.traceId) && s.name === 'attempt core.echo')!.attributes['codomyrmex.module'],
    ).toBe('core');
  }, 60_000);

  if (!hasBinary('promtool'))
    it.skip('promtool not on PATH: the backfill check above was skipped (apt-get install prometheus)', () => {});
});

describe('a scrape that does not ask for OpenMetrics', () => {
  it('gets the Prometheus text format, without exemplars or # EOF, even from a traced engine', async () => {
    const receiver = await startOtlpReceiver();
    const engine = testEngine({
      threads: 1,
      http: { port: 0 },
      tracing: { enabled: true, endpoint: receiver.endpoint },
    });
    try {
      await engine.ready();
      await engine.tasks.executeTask({ module: 'core', action: 'echo', parameters: { value: 1 } });
      // An OpenMetrics scrape first: the counters keep their `_total` in the text format afterwards.
      expect((await scrape(engine, PROMETHEUS_ACCEPT)).body).toContain('# {trace_id="');
      for (const accept of [
        undefined,
        'text/plain;version=0.0.4',
        'application/openmetrics-text;q=0.2,text/plain;q=0.5',
      ]) {
        const { type, body } = await scrape(engine, accept);
        expect(type).toBe('text/plain; version=0.0.4; charset=utf-8');
        expect(body).not.toContain('# {');
        expect(body).not.toContain('# EOF');
        expect(body).toContain('# TYPE codomyrmex_tasks_total counter');
        expect(
          sample(parseExposition(body), 'codomyrmex_tasks_total', {
            module: 'core',
            action: 'echo',
            status: 'completed',
          }),
        ).toBe(1);
        if (hasBinary('promtool')) {
          const out = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
          expect(out.status === 0 || out.status === 3, out.stderr).toBe(true); // 3: lints on prom-client's own gauges
        }
      }
    } finally {
      await engine.shutdown();
      await receiver.close();
    }
  }, 60_000);

  it('gets no exemplar from an engine that does not trace, in either format', async () => {
    const engine = testEngine({ threads: 1, http: { port: 0 } });
    try {
      await engine.ready();
      await engine.tasks.executeTask({ module: 'core', action: 'echo', parameters: { value: 1 } });
      const { body } = await scrape(engine, PROMETHEUS_ACCEPT);
      expect(body).toContain(
        'codomyrmex_task_duration_seconds_count{module="core",action="echo",status="completed"} 1',
      );
      expect(body).not.toContain('# {');
      expect(body.endsWith('# EOF\n')).toBe(true);
    } finally {
      await engine.shutdown();
    }
  });
});

describe('negotiateFormat', () => {
  it('picks OpenMetrics only when the Accept header ranks it at least as high as text/plain', () => {
    expect(negotiateFormat(PROMETHEUS_ACCEPT)).toBe('openmetrics');
    expect(negotiateFormat('application/openmetrics-text')).toBe('openmetrics');
    expect(negotiateFormat(undefined)).toBe('prometheus');
    expect(negotiateFormat('*/*')).toBe('prometheus');
    expect(negotiateFormat('text/plain;version=0.0.4')).toBe('prometheus');
    expect(negotiateFormat('application/openmetrics-text;q=0,text/plain')).toBe('prometheus');
    expect(negotiateFormat('text/plain;q=0.9, application/openmetrics-text;q=0.5')).toBe('prometheus');
  });
});
