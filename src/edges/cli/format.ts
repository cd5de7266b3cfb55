import type { TaskResult } from '../../index.js';

/** Prints rows as an aligned text table. */
export function printTable(rows: Record<string, unknown>[]): void {
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  const cols = Object.keys(rows[0] ?? {});
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c]))));
}

/** Prints task results: name, status, attempts, duration, and the result or the error. */
export function printResults(results: TaskResult[]): void {
  printTable(
    results.map((r) => ({
      task: r.name,
      status: r.status,
      attempts: r.attempts,
      ms: r.durationMs,
      'result / error': r.error ? `${r.error.code}: ${r.error.message}` : truncate(JSON.stringify(r.result) ?? ''),
    })),
  );
}

function truncate(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
