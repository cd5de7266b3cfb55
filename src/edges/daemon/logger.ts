/**
 * The daemon's structured logs, on pino: one JSON object per line on stdout (`--log-format json`, the default,
 * for a log shipper), or a short human line (`--log-format pretty`): `12:00:01.234 INFO  daemon running
 * http=127.0.0.1:9464 nats=connected`. Writes are synchronous, so the last lines before an exit are not lost.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { LogFormat, LogLevel } from './options.js';

export type { Logger };

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
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

/** A logger writing to `out` (default stdout) in the format asked for. */
export function createLogger(format: LogFormat, level: LogLevel, out: NodeJS.WritableStream = process.stdout): Logger {
  const fd = out === process.stdout ? 1 : out === process.stderr ? 2 : null;
  const sink = fd !== null ? pino.destination({ fd, sync: true }) : out;
  const stream = format === 'pretty' ? { write: (line: string) => void sink.write(prettyLine(line)) } : sink;
  return pino({ level, base: { name: 'codomyrmex' }, timestamp: pino.stdTimeFunctions.epochTime }, stream);
}
