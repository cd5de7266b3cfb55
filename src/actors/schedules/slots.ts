/**
 * Slot arithmetic, pure: when a schedule's slots fall, which are due, which are missed, the jitter of a slot and
 * the run id it gets. No clock and no I/O: every function takes the times it needs, so tests run on any time.
 *
 * Cron expressions are evaluated by croner in the schedule's IANA zone. Daylight saving: a slot that a
 * spring-forward skips runs once, at the first instant after the gap (croner's rule); in a fall-back hour, a slot
 * whose wall-clock time has already fired is not fired again (`nextSlot` skips any candidate whose local time is
 * not after the previous slot's), so the repeated hour fires once.
 */
import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import type { ScheduleSpec } from '../../model/schedule.js';

/** The fields of a schedule that decide its slots. */
export type SlotSpec = Pick<ScheduleSpec, 'cron' | 'everyMs' | 'timezone' | 'startAt' | 'endAt'>;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `"30s"`, `"5m"`, `"1h30m"`, `"2d"` or a number of seconds, in ms. Throws a message naming the fix.
 *
 * @example
 * parseEvery('5m'); // 300000
 */
export function parseEvery(every: string | number): number {
  if (typeof every === 'number') {
    if (!Number.isFinite(every) || every <= 0) throw new Error(`must be a positive number of seconds (got ${every})`);
    return Math.round(every * 1000);
  }
  const text = every.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return parseEvery(Number(text));
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m)
      throw new Error(`"${every}" is not a duration; write e.g. "30s", "5m", "1h30m", "2d" or a number of seconds`);
    total += Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000);
    pos = re.lastIndex;
  }
  if (total <= 0)
    throw new Error(`"${every}" is not a duration; write e.g. "30s", "5m", "1h30m", "2d" or a number of seconds`);
  return Math.round(total);
}

/** Throws croner's message when the zone is unknown. */
export function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new Error(`"${timezone}" is not an IANA time zone; write e.g. "UTC", "Europe/Paris", "America/New_York"`);
  }
}

/** Throws a message naming the problem when croner refuses the expression. */
export function checkCron(cron: string, timezone: string): void {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6)
    throw new Error(`"${cron}" has ${fields} fields; write 5 (minute hour day month weekday) or 6 (second first)`);
  try {
    new Cron(cron, { timezone, paused: true });
  } catch (err) {
    throw new Error(`"${cron}" is not a valid cron expression: ${(err as Error).message}`);
  }
}

const crons = new Map<string, Cron>();
function cronOf(expr: string, timezone: string): Cron {
  const key = `${timezone}\u0000${expr}`;
  let c = crons.get(key);
  if (!c) {
    // A bounded cache: schedules share expressions (most are a handful of patterns).
    if (crons.size > 10_000) crons.clear();
    // croner is ~5x faster with a fixed offset than with a zone it must convert through Intl.
    c = isUtc(timezone) ? new Cron(expr, { utcOffset: 0, paused: true }) : new Cron(expr, { timezone, paused: true });
    crons.set(key, c);
  }
  return c;
}

/** Zones without daylight saving whose wall clock is UTC. */
function isUtc(timezone: string): boolean {
  return timezone === 'UTC' || timezone === 'Etc/UTC' || timezone === 'Etc/GMT' || timezone === 'GMT';
}

const formats = new Map<string, Intl.DateTimeFormat>();
let lastWall: { ms: number; timezone: string; wall: number } | null = null;
/** The wall-clock time of `ms` in `timezone`, as if it were UTC (comparable across one zone). */
export function wallTime(ms: number, timezone: string): number {
  if (isUtc(timezone)) return ms;
  // Walking slots asks for each one twice (as a candidate, then as the next floor).
  if (lastWall && lastWall.ms === ms && lastWall.timezone === timezone) return lastWall.wall;
  let f = formats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(timezone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const wall =
    Date.UTC(
      p['year'] ?? 1970,
      (p['month'] ?? 1) - 1,
      p['day'] ?? 1,
      p['hour'] ?? 0,
      p['minute'] ?? 0,
      p['second'] ?? 0,
    ) +
    (((ms % 1000) + 1000) % 1000);
  lastWall = { ms, timezone, wall };
  return wall;
}

/** The first slot strictly after `after` (epoch ms), or null when there is none (past `endAt`). */
export function nextSlot(spec: SlotSpec, after: number): number | null {
  const floor = spec.startAt !== null ? Math.max(after, spec.startAt - 1) : after;
  let next: number | null;
  if (spec.everyMs !== null) {
    const anchor = spec.startAt ?? 0;
    const k = Math.floor((floor - anchor) / spec.everyMs) + 1;
    next = anchor + k * spec.everyMs;
  } else if (spec.cron !== null) {
    const cron = cronOf(spec.cron, spec.timezone);
    // A fall-back hour repeats wall-clock times: skip a candidate that is not later, in local time, than `after`.
    const floorWall = wallTime(floor, spec.timezone);
    let from = floor;
    next = null;
    for (let guard = 0; guard < 1000; guard++) {
      const d = cron.nextRun(new Date(from));
      if (!d) break;
      const t = d.getTime();
      if (wallTime(t, spec.timezone) > floorWall || t - floor > 3 * 3_600_000) {
        next = t;
        break;
      }
      from = t;
    }
  } else {
    return null;
  }
  if (next === null || (spec.endAt !== null && next > spec.endAt)) return null;
  return next;
}

/** Up to `n` slots strictly after `after`. */
export function nextSlots(spec: SlotSpec, after: number, n: number): number[] {
  const out: number[] = [];
  let t = after;
  while (out.length < n) {
    const s = nextSlot(spec, t);
    if (s === null) break;
    out.push(s);
    t = s;
  }
  return out;
}

/**
 * The slots in `(after, until]`, oldest first. Stops after `max` and says so (`more: true`), so a long downtime
 * or a wide backfill never builds a huge list.
 */
export function slotsBetween(
  spec: SlotSpec,
  after: number,
  until: number,
  max: number,
): { slots: number[]; more: boolean } {
  const slots: number[] = [];
  let t = after;
  for (;;) {
    const s = nextSlot(spec, t);
    if (s === null || s > until) return { slots, more: false };
    if (slots.length >= max) return { slots, more: true };
    slots.push(s);
    t = s;
  }
}

/**
 * What falls due at `now` for a schedule whose slots up to `cursor` were handled: the slots inside the catch-up
 * window (after `now - windowMs`, oldest first) run; older ones are missed, counted without being listed. A slot's
 * own time is its due time (the caller adds jitter). At most `max` due slots are listed.
 */
export function dueSlots(
  spec: SlotSpec,
  cursor: number,
  now: number,
  windowMs: number,
  max = 1000,
): { due: number[]; missed: SlotRange | null } {
  const windowStart = now - windowMs;
  const missed = windowStart > cursor ? slotRange(spec, cursor, windowStart) : null;
  const { slots } = slotsBetween(spec, missed ? missed.last : cursor, now, max);
  return { due: slots, missed };
}

/** How many slots fall in a range, and the first and last of them. */
export interface SlotRange {
  count: number;
  first: number;
  last: number;
}

/** The slots in `(after, before)`: their count, first and last (null when none). */
export function slotRange(spec: SlotSpec, after: number, before: number): SlotRange | null {
  const first = nextSlot(spec, after);
  if (first === null || first >= before) return null;
  if (spec.everyMs !== null) {
    const anchor = spec.startAt ?? 0;
    let last = anchor + (Math.ceil((before - anchor) / spec.everyMs) - 1) * spec.everyMs;
    if (spec.endAt !== null && last > spec.endAt)
      last = anchor + Math.floor((spec.endAt - anchor) / spec.everyMs) * spec.everyMs;
    return { count: Math.round((last - first) / spec.everyMs) + 1, first, last };
  }
  // Cron: walk forward (croner has no previous run), bounded by the range itself.
  let count = 1;
  let last = first;
  for (;;) {
    const s = nextSlot(spec, last);
    if (s === null || s >= before) return { count, first, last };
    count++;
    last = s;
  }
}

/** A number in [0, 1) fixed by `key`: the same slot gets the same jitter after a restart. */
function unitHash(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32;
}

/** How long after its slot time a slot fires: in [0, jitterSeconds) seconds, fixed per schedule and slot. */
export function jitterMs(name: string, slot: number, jitterSeconds: number): number {
  if (jitterSeconds <= 0) return 0;
  return Math.floor(unitHash(`${name}\u0000${slot}`) * jitterSeconds * 1000);
}

/** A uuid-shaped id fixed by `key` (sha-256, version nibble 8 for "custom"): the same slot always gets the same run id. */
export function derivedId(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

/** The run id of a schedule's slot: the same on every engine and after every restart. */
export function slotRunId(schedule: string, slot: number): string {
  return derivedId(`schedule\u0000${schedule}\u0000${slot}`);
}
