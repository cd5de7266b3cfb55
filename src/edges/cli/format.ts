/**
 * Output for people: aligned tables that fit the terminal (cells are cut with "…" when a row would wrap), and
 * numbers with their units.
 */
import type { TaskResult } from '../../model/task.js';

/** Milliseconds for people: `350 ms`, `4.2 s`, `3 min 5 s`. */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '';
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)} s`;
  return `${Math.floor(value / 60_000)} min ${Math.round((value % 60_000) / 1000)} s`;
}

/** Bytes as MB with one decimal. */
export function mb(bytes: number | null | undefined): string {
  return typeof bytes === 'number' && Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : '';
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.replace(/\s+/g, ' ');
}

function cut(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, Math.max(0, width - 1))}…` : s;
}

/** Piped tables are cut here unless `COLUMNS` says otherwise (a whole analysis result is megabytes: `--json` has it). */
const PIPED_WIDTH = 200;

/** The width tables must fit: the terminal's (100 when it does not say), `COLUMNS`, or 200 when stdout is not a terminal. */
export function outputWidth(): number {
  if (process.stdout.isTTY) return process.stdout.columns || Number(process.env['COLUMNS']) || 100;
  const env = Number(process.env['COLUMNS']);
  return Number.isInteger(env) && env > 0 ? env : PIPED_WIDTH;
}

/** Rows as an aligned table no wider than `width`: the widest columns give way first, down to 8 characters. */
export function formatTable(rows: Record<string, unknown>[], width = outputWidth()): string {
  if (rows.length === 0) return '(none)';
  const cols = Object.keys(rows[0] ?? {});
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (cols.length - 1);
  while (total() > width) {
    const widest = widths.indexOf(Math.max(...widths));
    if ((widths[widest] ?? 0) <= 8) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => cut(v, widths[i] ?? 0).padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Prints rows as a table that fits the terminal. */
export function printTable(rows: Record<string, unknown>[]): void {
  console.log(formatTable(rows));
}

/** Prints task results: name, status, attempts, duration, and the result or the error (cut to fit the terminal). */
export function printResults(results: readonly (Omit<TaskResult, 'status'> & { status: string })[]): void {
  // The worker column only when something ran on a remote worker (on the engine's own threads every row says `local`).
  const remote = results.some((r) => r.worker !== undefined && r.worker !== 'local');
  printTable(
    results.map((r) => ({
      task: r.name,
      status: r.status,
      attempts: r.attempts,
      ...(remote && { worker: r.worker ?? '-' }),
      time: ms(r.durationMs),
      'result / error': r.error ? `${r.error.code}: ${r.error.message}` : (JSON.stringify(r.result) ?? ''),
    })),
  );
}
