/**
 * The daemon's structured logs, on pino: one JSON object per line on stdout (`--log-format json`, the default,
 * for a log shipper), or a short human line (`--log-format pretty`): `12:00:01.234 INFO  daemon running
 * http=127.0.0.1:9464 nats=connected`. Writes are synchronous, so the last lines before an exit are not lost.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';

/** How the daemon logs: `json` lines or `pretty` text. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
/** The lowest level logged, from most to least severe. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export type { Logger };

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/** One pretty line from one pino JSON line. */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = new Date(typeof o['time'] === 'number' ? o['time'] : Date.now()).toISOString().slice(11, 23);
  const level = (LEVEL_NAMES[Number(o['level'])] ?? String(o['level'])).padEnd(5);
  const rest = Object.entries(o)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level} ${typeof o['msg'] === 'string' ? o['msg'] : ''}${rest ? ` ${rest}` : ''}\n`;
}

/** The trace a log line belongs to (`trace_id`, `span_id`), from the line's fields (`runId`, `taskId`) or the active span. */
export type TraceIdsOf = (fields: object) => { trace_id: string; span_id: string } | undefined;

/**
 * A logger writing to `out` (default stdout) in the format asked for. With `traceIds` (tracing on), a line written
 * inside a span, or about a traced run or step, carries `trace_id` and `span_id`.
 */
export function createLogger(
  format: LogFormat,
  level: LogLevel,
  out: NodeJS.WritableStream = process.stdout,
  traceIds?: () => TraceIdsOf | null,
): Logger {
  const fd = out === process.stdout ? 1 : out === process.stderr ? 2 : null;
  const sink = fd !== null ? pino.destination({ fd, sync: true }) : out;
  const stream = format === 'pretty' ? { write: (line: string) => void sink.write(prettyLine(line)) } : sink;
  const mixin = traceIds ? (fields: object): object => traceIds()?.(fields) ?? {} : undefined;
  return pino(
    { level, base: { name: 'codomyrmex' }, timestamp: pino.stdTimeFunctions.epochTime, ...(mixin ? { mixin } : {}) },
    stream,
  );
}
