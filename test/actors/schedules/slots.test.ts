import { describe, expect, it } from 'vitest';
import { decideOverlap } from '../../../src/actors/schedules/overlap.js';
import type { SlotSpec } from '../../../src/actors/schedules/slots.js';
import {
  derivedId,
  dueSlots,
  jitterMs,
  nextSlot,
  nextSlots,
  parseEvery,
  slotRange,
  slotRunId,
  slotsBetween,
  wallTime,
} from '../../../src/actors/schedules/slots.js';
import { compileBackfill, compileSchedule } from '../../../src/actors/schedules/spec.js';
import { ValidationError } from '../../../src/errors.js';

const cron = (expr: string, timezone = 'UTC', extra: Partial<SlotSpec> = {}): SlotSpec => ({
  cron: expr,
  everyMs: null,
  timezone,
  startAt: null,
  endAt: null,
  ...extra,
});
const every = (ms: number, extra: Partial<SlotSpec> = {}): SlotSpec => ({
  cron: null,
  everyMs: ms,
  timezone: 'UTC',
  startAt: null,
  endAt: null,
  ...extra,
});
const iso = (ms: number[]): string[] => ms.map((t) => new Date(t).toISOString());
const at = (s: string): number => Date.parse(s);
/** Local wall-clock times of slots, `HH:MM` (the date left out). */
const local = (ms: number[], tz: string): string[] =>
  ms.map((t) => new Date(wallTime(t, tz)).toISOString().slice(11, 16));

describe('cron slots across daylight saving', () => {
  it('Europe/Paris spring forward: a daily 02:30 that does not exist that day runs once, at 03:00, and never twice', () => {
    const slots = nextSlots(cron('30 2 * * *', 'Europe/Paris'), at('2026-03-27T00:00:00Z'), 4);
    expect(iso(slots)).toEqual([
      '2026-03-27T01:30:00.000Z',
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    expect(new Set(slots.map((s) => new Date(s).toISOString().slice(0, 10))).size).toBe(4);
  });

  it('Europe/Paris fall back: a daily 02:30 fires once in the repeated hour', () => {
    const slots = nextSlots(cron('30 2 * * *', 'Europe/Paris'), at('2026-10-24T12:00:00Z'), 2);
    expect(iso(slots)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('Europe/Paris fall back: a half-hourly expression does not fire the repeated wall-clock times again', () => {
    const slots = slotsBetween(
      cron('*/30 * * * *', 'Europe/Paris'),
      at('2026-10-24T23:59:00Z'),
      at('2026-10-25T03:00:00Z'),
      100,
    ).slots;
    expect(local(slots, 'Europe/Paris')).toEqual(['02:00', '02:30', '03:00', '03:30', '04:00']);
    // 02:00 and 02:30 CET (01:00Z, 01:30Z) are skipped: they already fired as CEST.
    expect(iso(slots)).not.toContain('2026-10-25T01:00:00.000Z');
  });

  it('America/New_York: spring forward runs the missing 02:30 once; fall back runs 01:30 once', () => {
    expect(iso(nextSlots(cron('30 2 * * *', 'America/New_York'), at('2026-03-07T12:00:00Z'), 2))).toEqual([
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
    ]);
    const fall = nextSlots(cron('30 1 * * *', 'America/New_York'), at('2026-10-31T12:00:00Z'), 3);
    expect(iso(fall)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z', '2026-11-03T06:30:00.000Z']);
    const hourly = slotsBetween(
      cron('0 * * * *', 'America/New_York'),
      at('2026-11-01T04:30:00Z'),
      at('2026-11-01T08:00:00Z'),
      100,
    ).slots;
    expect(local(hourly, 'America/New_York')).toEqual(['01:00', '02:00', '03:00']);
  });

  it('reads 6-field expressions (seconds first) and honours startAt and endAt', () => {
    expect(iso(nextSlots(cron('*/20 * * * * *'), at('2026-01-01T00:00:00Z'), 3))).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:40.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
    const bounded = cron('0 * * * *', 'UTC', {
      startAt: at('2026-01-01T05:00:00Z'),
      endAt: at('2026-01-01T07:00:00Z'),
    });
    expect(iso(nextSlots(bounded, at('2026-01-01T00:00:00Z'), 10))).toEqual([
      '2026-01-01T05:00:00.000Z',
      '2026-01-01T06:00:00.000Z',
      '2026-01-01T07:00:00.000Z',
    ]);
    expect(nextSlot(bounded, at('2026-01-01T07:00:00Z'))).toBeNull();
  });
});

describe('every', () => {
  it('parses durations and refuses nonsense', () => {
    expect(parseEvery('30s')).toBe(30_000);
    expect(parseEvery('5m')).toBe(300_000);
    expect(parseEvery('1h30m')).toBe(5_400_000);
    expect(parseEvery(3600)).toBe(3_600_000);
    expect(() => parseEvery('soon')).toThrow(/not a duration/);
    expect(() => parseEvery(-1)).toThrow(/positive/);
  });

  it('aligns slots to startAt (or the epoch)', () => {
    expect(nextSlot(every(60_000), 90_000)).toBe(120_000);
    expect(nextSlots(every(60_000, { startAt: 10_000 }), 0, 3)).toEqual([10_000, 70_000, 130_000]);
  });
});

describe('dueSlots (catch-up)', () => {
  it('runs slots inside the window, oldest first, and counts older ones as missed', () => {
    const spec = every(10_000);
    const { due, missed } = dueSlots(spec, 0, 1_000_000, 35_000);
    expect(due).toEqual([970_000, 980_000, 990_000, 1_000_000]);
    expect(missed).toEqual({ count: 96, first: 10_000, last: 960_000 });
  });

  it('misses nothing when the downtime fits the window', () => {
    expect(dueSlots(every(10_000), 0, 30_000, 60_000)).toEqual({ due: [10_000, 20_000, 30_000], missed: null });
  });

  it('counts missed cron slots without listing them', () => {
    const r = slotRange(cron('0 * * * *'), at('2026-01-01T00:00:00Z'), at('2026-01-03T00:00:00Z'));
    expect(r).toEqual({ count: 47, first: at('2026-01-01T01:00:00Z'), last: at('2026-01-02T23:00:00Z') });
  });
});

describe('jitter and run ids', () => {
  it('keeps jitter inside [0, jitterSeconds) and fixed per slot', () => {
    const values = Array.from({ length: 2000 }, (_, i) => jitterMs('s', i * 1000, 7));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(7000);
    expect(new Set(values).size).toBeGreaterThan(1000);
    expect(jitterMs('s', 5000, 7)).toBe(jitterMs('s', 5000, 7));
    expect(jitterMs('s', 5000, 0)).toBe(0);
  });

  it('derives one uuid-shaped run id per schedule and slot', () => {
    expect(slotRunId('a', 1000)).toBe(slotRunId('a', 1000));
    expect(slotRunId('a', 1000)).not.toBe(slotRunId('a', 2000));
    expect(slotRunId('a', 1000)).not.toBe(slotRunId('b', 1000));
    expect(derivedId('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('decideOverlap', () => {
  it('starts when nothing runs, whatever the policy', () => {
    for (const p of ['skip', 'buffer_one', 'buffer_all', 'allow', 'cancel_previous'] as const)
      expect(decideOverlap(p, 0, 0)).toBe('start');
  });
  it('applies each policy to a running slot', () => {
    expect(decideOverlap('skip', 1, 0)).toBe('skip');
    expect(decideOverlap('buffer_one', 1, 0)).toBe('buffer');
    expect(decideOverlap('buffer_one', 1, 1)).toBe('skip');
    expect(decideOverlap('buffer_all', 1, 5)).toBe('buffer');
    expect(decideOverlap('allow', 3, 0)).toBe('start');
    expect(decideOverlap('cancel_previous', 1, 0)).toBe('cancel_start');
  });
});

describe('compileSchedule', () => {
  const now = at('2026-01-01T00:00:00Z');
  const problems = (input: unknown): string[] => {
    try {
      compileSchedule(input, now);
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return (err as ValidationError).issues;
    }
    throw new Error('accepted');
  };

  it('fills the defaults', () => {
    const s = compileSchedule({ name: 'n', workflow: 'w', every: '30s' }, now);
    expect(s).toMatchObject({
      overlap: 'skip',
      catchupWindowSeconds: 60,
      jitterSeconds: 0,
      timezone: 'UTC',
      everyMs: 30_000,
      cron: null,
      parameters: {},
    });
  });

  it('names each bad field', () => {
    expect(problems({ name: 'n', workflow: 'w', cron: '61 * * * *' })[0]).toMatch(/^schedule\.cron: .*minute/);
    expect(problems({ name: 'n', workflow: 'w', cron: '* * *' })[0]).toMatch(/^schedule\.cron: .*3 fields/);
    expect(problems({ name: 'n', workflow: 'w', cron: '* * * * *', timezone: 'Mars/Base' })[0]).toMatch(
      /^schedule\.timezone: .*IANA/,
    );
    expect(problems({ name: 'n', workflow: 'w', cron: '* * * * *', every: '1m' })[0]).toMatch(/not both/);
    expect(problems({ name: 'n', workflow: 'w' })[0]).toMatch(/give cron .* or every/);
    expect(problems({ name: 'n', workflow: 'w', every: '500ms' })[0]).toMatch(
      /^schedule\.every: must be at least 1 second/,
    );
    expect(
      problems({
        name: 'n',
        workflow: 'w',
        every: 60,
        startAt: '2026-02-01T00:00:00Z',
        endAt: '2026-01-01T00:00:00Z',
      })[0],
    ).toMatch(/^schedule\.endAt: must not be before startAt/);
    expect(problems({ name: 'n', workflow: 'w', every: 60, overlap: 'sometimes' })[0]).toMatch(
      /^schedule\.overlap: must be one of/,
    );
    expect(problems({ name: 'n', workflow: 'w', every: 60, startAt: 'tomorrow' })[0]).toMatch(
      /^schedule\.startAt: "tomorrow" is not a time/,
    );
  });

  it('refuses a backfill range that is backwards or in the future', () => {
    expect(() => compileBackfill({ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, now)).toThrow(
      /backfill\.to: must not be before from/,
    );
    expect(() => compileBackfill({ from: '2025-12-31T00:00:00Z', to: '2026-01-02T00:00:00Z' }, now)).toThrow(
      /backfill\.to: must not be in the future/,
    );
    expect(compileBackfill({ from: '2025-12-31T00:00:00Z', to: now }, now)).toEqual({
      from: at('2025-12-31T00:00:00Z'),
      to: now,
      overlap: 'buffer_all',
    });
  });
});
