import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from '../../src/metrics/fastHistogram.js';
import { openMetricsText } from '../../src/metrics/openMetrics.js';

describe('FastHistogram and FastCounter', () => {
  it('expose cumulative buckets, +Inf, sum and count per bound series, as prom-client would', async () => {
    const registry = new Registry();
    const h = new FastHistogram({
      name: 't_seconds',
      help: 'h',
      labelNames: ['k'] as const,
      buckets: [0.1, 1],
      registers: [registry],
    });
    const a = h.labels({ k: 'a' });
    for (const v of [0.05, 0.1, 0.5, 2, Number.NaN]) a.observe(v);
    h.observe({ k: 'b' }, 0.2);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE t_seconds histogram');
    expect(text).toContain('t_seconds_bucket{k="a",le="0.1"} 2');
    expect(text).toContain('t_seconds_bucket{k="a",le="1"} 3');
    expect(text).toContain('t_seconds_bucket{k="a",le="+Inf"} 4');
    expect(text).toContain('t_seconds_sum{k="a"} 2.65');
    expect(text).toContain('t_seconds_count{k="a"} 4');
    expect(text).toContain('t_seconds_bucket{k="b",le="1"} 1');
    // A reset zeroes in place: a series already handed out keeps counting where the exposition reads.
    h.reset();
    a.observe(0.01);
    expect(await registry.metrics()).toContain('t_seconds_count{k="a"} 1');
  });

  it('keeps the latest exemplar of each bucket, shown in OpenMetrics only; a reset drops them', async () => {
    const registry = new Registry();
    const h = new FastHistogram({
      name: 't_seconds',
      help: 'h "quoted" \\ help',
      labelNames: ['k'] as const,
      buckets: [0.1, 1],
      registers: [registry],
    });
    const a = h.labels({ k: 'a' });
    a.observe(0.05, 'a'.repeat(32));
    a.observe(0.07, 'b'.repeat(32));
    a.observe(0.5);
    a.observe(7, 'c'.repeat(32));
    const om = await openMetricsText(registry);
    const lines = om.split('\n');
    expect(lines[0]).toBe('# HELP t_seconds h \\"quoted\\" \\\\ help');
    expect(lines.find((l) => l.includes('le="0.1"'))).toMatch(
      new RegExp(`^t_seconds_bucket\\{k="a",le="0.1"\\} 2 # \\{trace_id="${'b'.repeat(32)}"\\} 0.07 \\d+\\.\\d{3}$`),
    );
    expect(lines.find((l) => l.includes('le="1"'))).toBe('t_seconds_bucket{k="a",le="1"} 3');
    expect(lines.find((l) => l.includes('le="+Inf"'))).toMatch(/ # \{trace_id="c{32}"\} 7 /);
    expect(om.endsWith('t_seconds_count{k="a"} 4\n# EOF\n')).toBe(true);
    expect(await registry.metrics()).not.toContain('trace_id');
    h.reset();
    expect(await openMetricsText(registry)).not.toContain('trace_id');
  });

  it('counts by bound series and refuses to go down', async () => {
    const registry = new Registry();
    const c = new FastCounter({ name: 'c_total', help: 'c', labelNames: ['s'] as const, registers: [registry] });
    const ok = c.labels({ s: 'ok' });
    ok.inc();
    ok.inc(2);
    ok.inc(-5);
    c.inc({ s: 'bad' });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE c_total counter');
    expect(text).toContain('c_total{s="ok"} 3');
    expect(text).toContain('c_total{s="bad"} 1');
  });
});
