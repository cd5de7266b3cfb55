/**
 * The ScheduleManager: keeps each schedule's definition and slot state in the store, arms each schedule on one
 * firing wheel (one timer on the engine's clock for all), and starts a slot's run as an ordinary workflow run (`workflow.start`) whose id is derived
 * from the schedule and the slot.
 *
 * Exactly once per slot: a slot is claimed before its run starts (the schedule's cursor moves past it and the slot
 * joins `claimed`, in one record write that is committed before the start is asked for). A crash after the claim
 * re-drives the claimed slot at the next start; the workflow manager starts a run id once (`startOnce`), so a slot
 * whose run had started is not started again. The arithmetic is in slots.ts and overlap.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Subscription } from 'rxjs';
import type { MessageBus } from '../../bus/bus.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { Clock } from '../../model/clock.js';
import type { BackfillReply, ScheduleView } from '../../model/schedule.js';
import type { GroupCommitter } from '../../store/commits.js';
import type { Store } from '../../store/store.js';
import { SlotFiring } from './firing.js';
import { NamedRecords } from './namedRecords.js';
import { decideOverlap } from './overlap.js';
import type { Claim, LiveSchedule as Live, ScheduleRecord } from './record.js';
import { lanes, noteStatus } from './record.js';
import { nextSlots, slotRunId, slotsBetween } from './slots.js';
import { MAX_BACKFILL_SLOTS, compileBackfill, compileSchedule } from './spec.js';

export interface ScheduleDeps {
  bus: MessageBus;
  clock: Clock;
  store: Store;
  commits: GroupCommitter;
}

export class ScheduleManager {
  readonly #deps: ScheduleDeps;
  readonly #schedules = new Map<string, Live>();
  readonly #records: NamedRecords;
  readonly #firing: SlotFiring;
  #sub: Subscription | null = null;
  #running = false;
  #closed = false;

  constructor(deps: ScheduleDeps) {
    this.#deps = deps;
    this.#records = new NamedRecords('schedules', deps.store, deps.commits);
    this.#firing = new SlotFiring({
      bus: deps.bus,
      clock: deps.clock,
      schedules: this.#schedules,
      save: (s) => this.#save(s),
      durable: () => this.#records.durable(),
      running: () => this.#running,
      closed: () => this.#closed,
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Loads the stored schedules (call before `start`). */
  load(): number {
    for (const r of this.#deps.store.listRecords<ScheduleRecord>('schedules')) {
      this.#schedules.set(r.id, { rec: r.data, at: null, busy: false, deleted: false });
    }
    return this.#schedules.size;
  }

  /**
   * Starts firing: follows run ends, re-drives claimed slots, drops runs that ended while the engine was down,
   * starts buffered slots whose lane is free, and arms every schedule (catching up within each window).
   */
  async start(): Promise<void> {
    if (this.#running || this.#closed) return;
    this.#running = true;
    this.#sub = this.#deps.bus.events$('workflow_completed').subscribe((e) => {
      if (e.type === 'workflow_completed') this.#firing.ended(e.data.runId, e.data.status);
    });
    for (const s of this.#schedules.values()) {
      for (const lane of lanes(s.rec)) {
        const still: string[] = [];
        for (const runId of lane.active) {
          const run = await this.#deps.bus.request('workflow.get_run', { runId }).catch(() => null);
          if (run?.status === 'running') {
            still.push(runId);
            this.#firing.own(runId, s.rec.spec.name);
          }
          noteStatus(s.rec, runId, run?.status ?? 'unknown');
        }
        lane.active = still;
      }
      const claims = [...s.rec.claimed];
      await Promise.all(claims.map((c) => this.#firing.startClaimed(s, c)));
      for (const name of ['slots', 'backfill'] as const) this.#firing.drain(s, name);
      this.#save(s);
      this.#firing.arm(s);
    }
  }

  /** Stops the timers; runs in flight go on (they belong to the workflow manager). */
  close(): void {
    this.#closed = true;
    this.#sub?.unsubscribe();
    this.#firing.close();
  }

  // ---------------------------------------------------------------- commands

  async create(input: unknown): Promise<ScheduleView> {
    const now = this.#deps.clock.now();
    const spec = compileSchedule(input, now);
    if (this.#schedules.has(spec.name))
      throw new ValidationError(
        `schedule.name: a schedule named "${spec.name}" exists already; delete it first or pick another name`,
      );
    const wf = await this.#deps.bus.request('workflow.get', { name: spec.workflow });
    if (!wf)
      throw new NotFoundError(
        `schedule.workflow: no workflow named "${spec.workflow}"; create it first (workflow list shows them)`,
      );
    const paused = (input as { paused?: boolean }).paused === true;
    const rec: ScheduleRecord = {
      spec: { ...spec, workflow: wf.name },
      paused,
      cursor: now,
      claimed: [],
      slots: { policy: spec.overlap, active: [], buffered: [] },
      backfill: null,
      recent: [],
      lastRuns: [],
    };
    const s: Live = { rec, at: null, busy: false, deleted: false };
    this.#schedules.set(spec.name, s);
    this.#save(s);
    await this.#records.durable();
    if (this.#running) this.#firing.arm(s);
    return this.view(s);
  }

  list(): ScheduleView[] {
    return [...this.#schedules.values()].map((s) => this.view(s));
  }

  get(name: string): ScheduleView | null {
    const s = this.#schedules.get(name);
    return s ? this.view(s) : null;
  }

  async pause(name: string): Promise<ScheduleView> {
    const s = this.#require(name);
    s.rec.paused = true;
    this.#firing.disarm(s);
    this.#save(s);
    await this.#records.durable();
    return this.view(s);
  }

  /** Resumes from now: slots that fell while it was paused are neither run nor caught up. */
  async resume(name: string): Promise<ScheduleView> {
    const s = this.#require(name);
    if (s.rec.paused) {
      s.rec.paused = false;
      s.rec.cursor = Math.max(s.rec.cursor, this.#deps.clock.now());
    }
    this.#save(s);
    await this.#records.durable();
    if (this.#running) this.#firing.arm(s);
    return this.view(s);
  }

  /** Deletes the schedule and its waiting slots; runs it started go on. */
  async delete(name: string): Promise<{ deleted: boolean }> {
    const s = this.#schedules.get(name);
    if (!s) return { deleted: false };
    s.deleted = true;
    this.#firing.disarm(s);
    this.#schedules.delete(name);
    this.#records.delete(name);
    await this.#records.durable();
    return { deleted: true };
  }

  /** One run now, outside the slots (it counts as running for the overlap of the slots that follow). */
  async trigger(name: string): Promise<{ runId: string }> {
    const s = this.#require(name);
    const now = this.#deps.clock.now();
    const runId = randomUUID();
    await this.#firing.startRun(s, { slot: now, runId, lane: 'slots' }, true);
    return { runId };
  }

  /** One run per slot of `[from, to]`, in slot order, under the backfill's own overlap (default `buffer_all`). */
  async backfill(name: string, input: unknown): Promise<BackfillReply> {
    const s = this.#require(name);
    const { from, to, overlap } = compileBackfill(input, this.#deps.clock.now());
    const { slots, more } = slotsBetween(s.rec.spec, from - 1, to, MAX_BACKFILL_SLOTS);
    if (more)
      throw new ValidationError(
        `backfill: the range holds more than ${MAX_BACKFILL_SLOTS} slots; split it into smaller ranges`,
      );
    const lane = (s.rec.backfill ??= { policy: overlap, active: [], buffered: [] });
    lane.policy = overlap;
    let alreadyRun = 0;
    const claims: Claim[] = [];
    for (const slot of slots) {
      const runId = slotRunId(name, slot);
      if (lane.buffered.includes(slot) || lane.active.includes(runId) || (await this.#runExists(runId))) {
        alreadyRun++;
        continue;
      }
      const decision = decideOverlap(overlap, lane.active.length + claims.length, lane.buffered.length);
      if (decision === 'buffer') lane.buffered.push(slot);
      else if (decision === 'skip') this.#firing.skipped(s, slot, lane);
      else {
        if (decision === 'cancel_start') claims.length = 0;
        claims.push({ slot, runId, lane: 'backfill' });
      }
    }
    await this.#firing.claim(s, claims);
    return { name, slots: slots.length, queued: slots.length - alreadyRun, alreadyRun };
  }

  /** Kept in memory by the workflow manager, or (ended long ago) in the store. */
  async #runExists(runId: string): Promise<boolean> {
    return (
      (await this.#deps.bus.request('workflow.get_run', { runId })) !== null ||
      this.#deps.store.getRecord('workflow_runs', runId) !== undefined
    );
  }

  view(s: Live): ScheduleView {
    const { rec } = s;
    const next = rec.paused ? [] : nextSlots(rec.spec, Math.max(rec.cursor, this.#deps.clock.now() - 1), 5);
    return {
      ...rec.spec,
      paused: rec.paused,
      nextFireTimes: next.map((t) => new Date(t).toISOString()),
      recentSlots: [...rec.recent],
      lastRuns: [...rec.lastRuns],
      activeRuns: [...rec.slots.active, ...(rec.backfill?.active ?? [])],
      bufferedSlots: rec.slots.buffered.length + (rec.backfill?.buffered.length ?? 0),
    };
  }

  #require(name: string): Live {
    const s = this.#schedules.get(name);
    if (!s) throw new NotFoundError(`no schedule named "${name}"; list them with listSchedules()`);
    return s;
  }

  // ---------------------------------------------------------------- store

  #save(s: Live): void {
    if (!s.deleted) this.#records.save(s.rec);
  }
}
