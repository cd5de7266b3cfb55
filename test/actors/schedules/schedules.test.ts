import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventMap, EventName } from '../../../src/bus/protocol.js';
import { OrchestrationEngine } from '../../../src/index.js';
import { NotFoundError, ValidationError } from '../../../src/errors.js';
import { slotRunId } from '../../../src/actors/schedules/slots.js';
import type { ScheduleRecord } from '../../../src/actors/schedules/record.js';
import type { ScheduleView } from '../../../src/model/schedule.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { FakeClock } from '../../support/fakeClock.js';

const T0 = Date.UTC(2026, 0, 1);
const engines: { engine: OrchestrationEngine; clock: FakeClock }[] = [];
const dirs: string[] = [];

afterEach(async () => {
  // The shutdown grace runs on the engine's (fake) clock: keep it moving until the engine has stopped.
  for (const { engine, clock } of engines.splice(0))
    await advanceUntil(
      clock,
      0,
      engine.shutdown({ graceMs: 0 }).catch(() => undefined),
      1000,
    );
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function engineOn(
  clock: FakeClock,
  options: ConstructorParameters<typeof OrchestrationEngine>[0] = {},
): OrchestrationEngine {
  const engine = new OrchestrationEngine(
    { threads: 1, workflowDirs: [], metrics: { enabled: false }, ...options },
    {},
    { clock },
  );
  engines.push({ engine, clock });
  return engine;
}

/** Resolves with the next `n` events of `type` (from now on). */
function nextOf<K extends EventName>(engine: OrchestrationEngine, type: K, n = 1): Promise<EventMap[K][]> {
  const got: EventMap[K][] = [];
  return new Promise((resolve) => {
    const sub = engine.bus.events$(type).subscribe((e) => {
      got.push(e.data as EventMap[K]);
      if (got.length === n) {
        sub.unsubscribe();
        resolve(got);
      }
    });
  });
}

/** Moves the clock on by `ms`, then by `step` at a time (0: fires what is due now) until `done` settles. */
async function advanceUntil<T>(clock: FakeClock, ms: number, done: Promise<T>, step = 0): Promise<T> {
  let settled = false;
  void done.then(() => (settled = true));
  clock.advance(ms);
  while (!settled) {
    await new Promise((r) => setImmediate(r));
    clock.advance(step);
  }
  return done;
}

async function withWorkflows(engine: OrchestrationEngine): Promise<void> {
  await engine.ready();
  const wf = engine.getWorkflowManager();
  await wf.createWorkflow('quick', [
    { name: 'a', module: 'core', action: 'echo', parameters: { value: '{{params.n}}' } },
  ]);
  await wf.createWorkflow('slow', [{ name: 'a', module: 'core', action: 'sleep', parameters: { ms: 600_000 } }]);
}

describe('schedules on a fake clock', () => {
  it('fires each slot as a run carrying scheduleName and scheduledFor, with a derived run id', async () => {
    const clock = new FakeClock(T0);
    const engine = engineOn(clock, { metrics: { enabled: true, processMetrics: false } });
    await withWorkflows(engine);
    const view = await engine.createSchedule({ name: 'tick', workflow: 'quick', every: '10s', parameters: { n: 7 } });
    expect(view.nextFireTimes).toEqual([10, 20, 30, 40, 50].map((s) => new Date(T0 + s * 1000).toISOString()));
    const [fired] = await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_fired'));
    expect(fired).toMatchObject({
      schedule: 'tick',
      workflow: 'quick',
      scheduledFor: T0 + 10_000,
      runId: slotRunId('tick', T0 + 10_000),
      manual: false,
    });
    const result = await engine.getWorkflowManager().waitForRun(fired!.runId);
    expect(result.steps['a']?.result).toBe(7);
    const run = await engine.getWorkflowManager().getRun(fired!.runId);
    expect(run).toMatchObject({ scheduleName: 'tick', scheduledFor: T0 + 10_000 });
    const runs = await engine.getWorkflowManager().listRuns({ schedule: 'tick' });
    expect(runs.map((r) => r.runId)).toEqual([fired!.runId]);
    expect(await engine.getWorkflowManager().listRuns({ schedule: 'other' })).toEqual([]);
    const shown = await engine.getSchedule('tick');
    expect(shown?.lastRuns[0]).toMatchObject({ runId: fired!.runId, scheduledFor: T0 + 10_000 });
    expect(shown?.recentSlots[0]).toMatchObject({ outcome: 'started', scheduledFor: T0 + 10_000 });
    const exposition = await engine.metrics!.registry.metrics();
    expect(exposition).toContain('codomyrmex_schedule_runs_total{schedule="tick",outcome="started"} 1');
    expect(exposition).toMatch(/codomyrmex_schedule_lag_seconds_count\{schedule="tick"\} 1/);
  });

  it('schedules due at one time share one timer and fire as one batch, each slot once (more than a start chunk)', async () => {
    const clock = new FakeClock(T0);
    const engine = engineOn(clock);
    await withWorkflows(engine);
    const N = 300;
    const timers = clock.pending;
    for (let i = 0; i < N; i++)
      await engine.createSchedule({
        name: `m${i}`,
        workflow: 'quick',
        every: 10,
        overlap: 'allow',
        parameters: { n: i },
      });
    // One timer on the clock for all of them (was one per schedule).
    expect(clock.pending - timers).toBe(1);
    for (const slot of [T0 + 10_000, T0 + 20_000]) {
      const fired = await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_fired', N));
      expect(new Set(fired.map((f) => f.runId)).size).toBe(N);
      expect(fired.every((f) => f.scheduledFor === slot && f.runId === slotRunId(f.schedule, slot))).toBe(true);
    }
    await engine.pauseSchedule('m0');
    await engine.deleteSchedule('m1');
    const third = await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_fired', N - 2));
    expect(third.some((f) => f.schedule === 'm0' || f.schedule === 'm1')).toBe(false);
  });

  it('skip: a slot whose previous run is still going is recorded as skipped', async () => {
    const clock = new FakeClock(T0);
    const engine = engineOn(clock);
    await withWorkflows(engine);
    await engine.createSchedule({ name: 's', workflow: 'slow', every: 10 });
    const [first] = await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_fired'));
    const [skipped] = await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_skipped'));
    expect(skipped).toMatchObject({
      schedule: 's',
      scheduledFor: T0 + 20_000,
      reason: 'overlap',
      activeRuns: [first!.runId],
    });
    expect((await engine.getSchedule('s'))?.recentSlots[0]).toMatchObject({ outcome: 'skipped' });
  });

  it('buffer_one: one slot waits for the running run, later ones are skipped; it starts when that run ends', async () => {
    const clock = new FakeClock(T0);
    const engine = engineOn(clock);
    await withWorkflows(engine);
    await engine.createSchedule({ name: 'b', workflow: 'slow', every: 10, overlap: 'buffer_one' });
    const [first] = await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_fired'));
    await advanceUntil(
      clock,
      10_000,
      engine.getSchedule('b').then(async function wait(v): Promise<unknown> {
        return v?.bufferedSlots === 1
          ? v
          : new Promise((r) => setImmediate(r)).then(() => engine.getSchedule('b')).then(wait);
      }),
    );
    const [skipped] = await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_skipped'));
    expect(skipped?.scheduledFor).toBe(T0 + 30_000);
    const next = nextOf(engine, 'schedule_fired');
    await engine.getWorkflowManager().cancelRun(first!.runId, 'test');
    const [buffered] = await next;
    expect(buffered).toMatchObject({ scheduledFor: T0 + 20_000, runId: slotRunId('b', T0 + 20_000) });
  });

  it('cancel_previous: a new slot cancels the running run and starts', async () => {
    const clock = new FakeClock(T0);
    const engine = engineOn(clock);
    await withWorkflows(engine);
    await engine.createSchedule({ name: 'c', workflow: 'slow', every: 10, overlap: 'cancel_previous' });
    const [first] = await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_fired'));
    const ended = nextOf(engine, 'workflow_completed');
    const [second] = await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_fired'));
    expect(second?.scheduledFor).toBe(T0 + 20_000);
    const [end] = await ended;
    expect(end).toMatchObject({ runId: first!.runId, status: 'cancelled' });
  });

  it('allow: overlapping runs all start', async () => {
    const clock = new FakeClock(T0);
    const engine = engineOn(clock);
    await withWorkflows(engine);
    await engine.createSchedule({ name: 'a', workflow: 'slow', every: 10, overlap: 'allow' });
    await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_fired'));
    await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_fired'));
    expect((await engine.getSchedule('a'))?.activeRuns).toHaveLength(2);
  });

  it('jitter: a slot fires within [slot, slot + jitterSeconds)', async () => {
    const clock = new FakeClock(T0);
    const engine = engineOn(clock);
    await withWorkflows(engine);
    await engine.createSchedule({ name: 'j', workflow: 'quick', every: 60, jitterSeconds: 30, overlap: 'allow' });
    for (let i = 1; i <= 3; i++) {
      const [fired] = await advanceUntil(clock, 0, nextOf(engine, 'schedule_fired'), 1000);
      expect(fired!.scheduledFor).toBe(T0 + i * 60_000);
      expect(fired!.lagMs).toBeGreaterThanOrEqual(0);
      expect(fired!.lagMs).toBeLessThan(30_000);
    }
  });

  it('pause: slots that fall while paused are neither run nor caught up on resume', async () => {
    const clock = new FakeClock(T0);
    const engine = engineOn(clock);
    await withWorkflows(engine);
    await engine.createSchedule({ name: 'p', workflow: 'quick', every: 10, catchupWindowSeconds: 3600 });
    const paused = await engine.pauseSchedule('p');
    expect(paused.paused).toBe(true);
    expect(paused.nextFireTimes).toEqual([]);
    clock.advance(100_000);
    const resumed = await engine.resumeSchedule('p');
    expect(resumed.nextFireTimes[0]).toBe(new Date(T0 + 110_000).toISOString());
    const [fired] = await advanceUntil(clock, 10_000, nextOf(engine, 'schedule_fired'));
    expect(fired?.scheduledFor).toBe(T0 + 110_000);
  });

  it('triggerSchedule runs once now; backfill runs each past slot one after another, once', async () => {
    const clock = new FakeClock(T0 + 3_600_000);
    const engine = engineOn(clock);
    await withWorkflows(engine);
    await engine.createSchedule({ name: 'hourly', workflow: 'quick', cron: '*/15 * * * *', parameters: { n: 1 } });
    const runId = await engine.triggerSchedule('hourly');
    expect((await engine.getWorkflowManager().waitForRun(runId)).success).toBe(true);
    expect((await engine.getWorkflowManager().getRun(runId))?.scheduleName).toBe('hourly');
    const fired = nextOf(engine, 'schedule_fired', 4);
    const reply = await engine.backfillSchedule('hourly', { from: T0, to: T0 + 45 * 60_000 });
    expect(reply).toEqual({ name: 'hourly', slots: 4, queued: 4, alreadyRun: 0 });
    const got = await fired;
    expect(got.map((f) => f.scheduledFor)).toEqual([0, 15, 30, 45].map((m) => T0 + m * 60_000));
    expect(got.every((f) => f.backfill)).toBe(true);
    for (const f of got) await engine.getWorkflowManager().waitForRun(f.runId);
    const again = await engine.backfillSchedule('hourly', { from: T0, to: T0 + 45 * 60_000 });
    expect(again).toMatchObject({ slots: 4, queued: 0, alreadyRun: 4 });
    await expect(engine.backfillSchedule('hourly', { from: T0 - 400 * 86_400_000, to: T0 })).rejects.toThrow(
      /more than 10000 slots/,
    );
  });

  it('refuses bad input, naming the field, and stores nothing', async () => {
    const clock = new FakeClock(T0);
    const engine = engineOn(clock);
    await withWorkflows(engine);
    await expect(engine.createSchedule({ name: 'x', workflow: 'nope', every: 10 })).rejects.toThrow(NotFoundError);
    await expect(engine.createSchedule({ name: 'x', workflow: 'quick', cron: 'every day' })).rejects.toThrow(
      ValidationError,
    );
    await expect(
      engine.createSchedule({ name: 'x', workflow: 'quick', cron: '* * * * *', timezone: 'Nowhere/City' }),
    ).rejects.toThrow(/schedule\.timezone/);
    expect(await engine.listSchedules()).toEqual([]);
    await engine.createSchedule({ name: 'x', workflow: 'quick', every: 10 });
    await expect(engine.createSchedule({ name: 'x', workflow: 'quick', every: 10 })).rejects.toThrow(/exists already/);
    await expect(engine.pauseSchedule('y')).rejects.toThrow(/no schedule named "y"/);
    expect(await engine.getSchedule('y')).toBeNull();
    expect(await engine.getWorkflowManager().deleteSchedule('x')).toBe(true);
    expect(await engine.listSchedules()).toEqual([]);
  });
});

/** Engine options on a SQLite file in a temp folder of its own (removed after the file's tests). */
function sqliteOptions(): { store: 'sqlite'; dbPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cdx-sched-'));
  dirs.push(dir);
  return { store: 'sqlite', dbPath: join(dir, 'state.db') };
}

describe('schedules in the SQLite store', () => {
  it('after downtime, runs the slots inside the catch-up window once each, oldest first, and records older ones as missed', async () => {
    const options = sqliteOptions();
    const clock = new FakeClock(T0);
    const first = engineOn(clock, options);
    await withWorkflows(first);
    await first.createSchedule({
      name: 'catch',
      workflow: 'quick',
      every: 10,
      catchupWindowSeconds: 30,
      overlap: 'allow',
    });
    await engines.pop()?.engine.shutdown();
    const later = new FakeClock(T0 + 600_000);
    const second = engineOn(later, options);
    const missed = nextOf(second, 'schedule_missed');
    const fired = nextOf(second, 'schedule_fired', 4);
    await second.ready();
    const got = await advanceUntil(later, 0, fired);
    expect(got.map((f) => (f.scheduledFor - T0) / 1000)).toEqual([570, 580, 590, 600]);
    expect((await missed)[0]).toMatchObject({ schedule: 'catch', count: 56, first: T0 + 10_000, last: T0 + 560_000 });
    const view = await second.getSchedule('catch');
    expect(view?.recentSlots.find((r) => r.outcome === 'missed')).toMatchObject({ count: 56 });
  });

  it('a batch writes the record once, at the claim: the stored claim stands until the next write, and a restart that re-drives it starts nothing', async () => {
    const options = sqliteOptions();
    const clock = new FakeClock(T0);
    const first = engineOn(clock, options);
    await withWorkflows(first);
    await first.createSchedule({ name: 'once', workflow: 'slow', every: 10, overlap: 'allow' });
    const [fired] = await advanceUntil(clock, 10_000, nextOf(first, 'schedule_fired'));
    await advanceUntil(clock, 0, engines.pop()!.engine.shutdown({ graceMs: 0 }), 1000);
    const store = SqliteStore.open({ path: options.dbPath, readonly: true });
    const stored = store.getRecord<ScheduleRecord>('schedules', 'once')?.data;
    store.close();
    // Not written again after the start (it was: the claim dropped, last runs noted).
    expect(stored?.claimed).toEqual([{ slot: T0 + 10_000, runId: fired!.runId, lane: 'slots' }]);
    const later = new FakeClock(T0 + 15_000);
    const second = engineOn(later, options);
    let again = 0;
    second.bus.events$('schedule_fired').subscribe(() => again++);
    await second.ready();
    // The re-driven claim finds its run (resumed, still running) and notes it. The clock moves 1 ms a turn (the
    // store's commit timers run on it) and stays well before the next slot.
    const noted = async (): Promise<ScheduleView | null> => {
      for (;;) {
        const v = await second.getSchedule('once');
        if (v && v.lastRuns.length > 0) return v;
        await new Promise((r) => setImmediate(r));
      }
    };
    const view = await advanceUntil(later, 0, noted(), 1);
    expect(later.now()).toBeLessThan(T0 + 20_000);
    expect(view?.lastRuns[0]).toMatchObject({ runId: fired!.runId, status: 'running' });
    expect(view?.activeRuns).toEqual([fired!.runId]);
    expect(again).toBe(0);
    expect((await second.getWorkflowManager().listRuns({ schedule: 'once' })).map((r) => r.runId)).toEqual([
      fired!.runId,
    ]);
  });
});
