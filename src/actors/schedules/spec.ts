/**
 * Turns what a caller gave `createSchedule` / `backfillSchedule` into a complete {@link ScheduleSpec}, or a
 * `ValidationError` listing every problem, each naming its field. Pure: the caller passes the time.
 */
import { ValidationError } from '../../errors.js';
import type { BackfillInput, OverlapPolicy, ScheduleSpec, TimeInput } from '../../model/schedule.js';
import { backfillInputSchema, scheduleInputSchema } from '../../model/schedule.js';
import { checkPayloadLimits, formatZodIssues } from '../../model/validate.js';
import { checkCron, checkTimezone, parseEvery } from './slots.js';

/** The catch-up window when none is given, in seconds. */
export const DEFAULT_CATCHUP_WINDOW_SECONDS = 60;
/** The most slots one backfill may cover. */
export const MAX_BACKFILL_SLOTS = 10_000;

/** Epoch ms of an ISO-8601 string or a number; throws a message naming the fix. */
export function parseTime(value: TimeInput): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`must be a finite number of epoch milliseconds (got ${value})`);
    return Math.round(value);
  }
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new Error(
      `"${value}" is not a time; write an ISO-8601 time such as "2026-01-31T09:00:00Z" or epoch milliseconds`,
    );
  return ms;
}

/** Validates a `createSchedule` argument (snake_case already renamed) and fills the defaults. */
export function compileSchedule(input: unknown, now: number): ScheduleSpec {
  const parsed = scheduleInputSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'schedule'));
  const i = parsed.data;
  const problems: string[] = [];
  const timezone = i.timezone ?? 'UTC';
  try {
    checkTimezone(timezone);
  } catch (err) {
    problems.push(`schedule.timezone: ${(err as Error).message}`);
  }
  if (i.cron !== undefined && i.every !== undefined) problems.push('schedule: give either cron or every, not both');
  if (i.cron === undefined && i.every === undefined)
    problems.push('schedule: give cron (e.g. "*/5 * * * *") or every (e.g. "30s")');
  if (i.cron !== undefined && problems.length === 0) {
    try {
      checkCron(i.cron, timezone);
    } catch (err) {
      problems.push(`schedule.cron: ${(err as Error).message}`);
    }
  }
  let everyMs: number | null = null;
  if (i.every !== undefined) {
    try {
      everyMs = parseEvery(i.every);
      if (everyMs < 1000) problems.push(`schedule.every: must be at least 1 second (got ${everyMs} ms)`);
    } catch (err) {
      problems.push(`schedule.every: ${(err as Error).message}`);
    }
  }
  if (i.overlap === 'buffer_all')
    problems.push(
      'schedule.overlap: buffer_all is for backfills; a schedule takes skip, buffer_one, allow or cancel_previous',
    );
  const time = (field: 'startAt' | 'endAt'): number | null => {
    const v = i[field];
    if (v === undefined) return null;
    try {
      return parseTime(v);
    } catch (err) {
      problems.push(`schedule.${field}: ${(err as Error).message}`);
      return null;
    }
  };
  const startAt = time('startAt');
  const endAt = time('endAt');
  if (startAt !== null && endAt !== null && endAt < startAt)
    problems.push(
      `schedule.endAt: must not be before startAt (${new Date(endAt).toISOString()} < ${new Date(startAt).toISOString()})`,
    );
  const bad = i.parameters === undefined ? null : checkPayloadLimits(i.parameters, 'schedule.parameters');
  if (bad) problems.push(bad);
  if (problems.length) throw new ValidationError(problems);
  return {
    name: i.name,
    workflow: i.workflow,
    cron: i.cron?.trim() ?? null,
    everyMs,
    timezone,
    parameters: i.parameters ?? {},
    overlap: (i.overlap ?? 'skip') as ScheduleSpec['overlap'],
    catchupWindowSeconds: i.catchupWindowSeconds ?? DEFAULT_CATCHUP_WINDOW_SECONDS,
    jitterSeconds: i.jitterSeconds ?? 0,
    startAt,
    endAt,
    createdAt: now,
  };
}

/** Validates a backfill's range: `from <= to <= now`. */
export function compileBackfill(input: unknown, now: number): { from: number; to: number; overlap: OverlapPolicy } {
  const parsed = backfillInputSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'backfill'));
  const problems: string[] = [];
  const time = (field: keyof Pick<BackfillInput, 'from' | 'to'>): number => {
    try {
      return parseTime(parsed.data[field]);
    } catch (err) {
      problems.push(`backfill.${field}: ${(err as Error).message}`);
      return 0;
    }
  };
  const from = time('from');
  const to = time('to');
  if (problems.length === 0 && to < from)
    problems.push(
      `backfill.to: must not be before from (${new Date(to).toISOString()} < ${new Date(from).toISOString()})`,
    );
  if (problems.length === 0 && to > now)
    problems.push(
      `backfill.to: must not be in the future (a backfill runs past slots; ${new Date(to).toISOString()} is after now)`,
    );
  if (problems.length) throw new ValidationError(problems);
  return { from, to, overlap: parsed.data.overlap ?? 'buffer_all' };
}
