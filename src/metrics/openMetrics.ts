/**
 * The OpenMetrics exposition of a prom-client {@link Registry}, for scrapes that ask for it (`Accept:
 * application/openmetrics-text`, as Prometheus does): the same families as the Prometheus text format, with counter
 * families named without `_total`, exemplars on the bucket lines that have one (`# {trace_id="..."} value
 * timestamp`), and the closing `# EOF`.
 *
 * Rendered here rather than by switching the registry's content type: prom-client's OpenMetrics mode renames every
 * counter in place (it strips `_total` from the metric object's name), so a Prometheus-format scrape after an
 * OpenMetrics one would lose the suffix. This reads the same samples (`metric.get()`) and leaves the metrics alone.
 */
import type { Registry } from 'prom-client';

/** The content type of the Prometheus text format (what a scrape that does not ask for OpenMetrics gets). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** The content type of an OpenMetrics exposition. */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** An exposition format: `prometheus` (text 0.0.4) or `openmetrics` (1.0.0, with exemplars). */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/**
 * The format a scrape's `Accept` header prefers: OpenMetrics when it names `application/openmetrics-text` with a
 * quality above zero and at least that of `text/plain` (Prometheus 2 sends `application/openmetrics-text;
 * version=1.0.0` first, then `text/plain;version=0.0.4;q=0.5` and a wildcard); the Prometheus text format otherwise.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || !accept.includes('openmetrics')) return 'prometheus';
  let open = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === 'application/openmetrics-text') open = Math.max(open, q);
    else if (type === 'text/plain') text = Math.max(text, q);
  }
  return open > 0 && open >= text ? 'openmetrics' : 'prometheus';
}

interface Sample {
  metricName?: string;
  labels?: Record<string, string | number>;
  value: number;
  exemplar?: { labelSet: Record<string, string | number>; value: number; timestamp: number } | null;
}

function number(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}

const escapeText = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labelText(labels: Record<string, string | number> | undefined): string {
  if (!labels) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels))
    if (v !== undefined) parts.push(`${k}="${escapeText(typeof v === 'number' ? number(v) : String(v))}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** The registry's families as OpenMetrics 1.0.0 text, ending in `# EOF`. */
export async function openMetricsText(registry: Registry): Promise<string> {
  const metrics = registry.getMetricsAsArray() as unknown as {
    get(): Promise<{ name: string; help: string; type: string; values?: Sample[] }>;
  }[];
  // Every family's `collect` starts in the same tick, as in prom-client's own exposition (they share one snapshot).
  const families = await Promise.all(metrics.map((m) => m.get()));
  const lines: string[] = [];
  for (const f of families) {
    const counter = f.type === 'counter';
    const family = counter ? f.name.replace(/_total$/, '') : f.name;
    lines.push(`# HELP ${family} ${escapeText(f.help)}`, `# TYPE ${family} ${f.type}`);
    for (const s of f.values ?? []) {
      const name = counter ? `${family}_total` : (s.metricName ?? f.name);
      let line = `${name}${labelText(s.labels)} ${number(s.value)}`;
      if (s.exemplar)
        line += ` # ${labelText(s.exemplar.labelSet) || '{}'} ${number(s.exemplar.value)} ${s.exemplar.timestamp.toFixed(3)}`;
      lines.push(line);
    }
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}
