/**
 * The ScheduleManager: keeps each schedule's definition and slot state in the store, arms one timer per schedule
 * on the engine's clock, and starts a slot's run as an ordinary workflow run (`workflow.start`) whose id is derived
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
import { CodomyrmexError, ErrorCode, NotFoundError, ValidationError, serializeError } from '../../errors.js';
import type { Clock, ClockTimer } from '../../model/clock.js';
import type { BackfillReply, OverlapPolicy, ScheduleSpec, ScheduleView, SlotRecord } from '../../model/schedule.js';
import type { WorkflowRunStatus } from '../../model/workflow.js';
import type { GroupCommitter } from '../../store/commits.js';
import { RecordQueue } from '../../store/commits.js';
import type { Store } from '../../store/store.js';
import { decideOverlap } from './overlap.js';
import { dueSlots, jitterMs, nextSlots, slotRunId, slotsBetween } from './slots.js';
import { MAX_BACKFILL_SLOTS, compileBackfill, compileSchedule } from './spec.js';

export interface ScheduleDeps {
  bus: MessageBus;
  clock: Clock;
  store: Store;
  commits: GroupCommitter;
}

/** The runs of one lane (the schedule's slots, or its backfill) and the slots waiting for them. */
interface Lane {
  policy: OverlapPolicy;
  active: string[];
  buffered: number[];
}

type LaneName = 'slots' | 'backfill';

/** A slot whose run must start (claimed in the store before the start is asked for). */
interface Claim {
  slot: number;
  runId: string;
  lane: LaneName;
}

/** What the `schedules` record holds. */
interface ScheduleRecord {
  spec: ScheduleSpec;
  paused: boolean;
  /** Every slot at or before this time (epoch ms) is decided. */
  cursor: number;
  claimed: Claim[];
  slots: Lane;
  backfill: Lane | null;
  recent: SlotRecord[];
  lastRuns: { runId: string; scheduledFor: number | null; status: WorkflowRunStatus | 'unknown' }[];
}

interface Live {
  rec: ScheduleRecord;
  timer: ClockTimer | null;
  busy: boolean;
  deleted: boolean;
}

const RECENT = 20;
const LAST_RUNS = 10;
/** Late timers and commits: a slot this late is still on time, whatever the catch-up window. */
const GRACE_MS = 1000;

/**
 * Test hook: with `CODOMYRMEX_FAILPOINT=schedule.after_claim` the process kills itself right after a claim is
 * committed and before its run starts, as a crash would (the crash test of the README's guarantee).
 */
function failpoint(name: string): void {
  if (process.env['CODOMYRMEX_FAILPOINT'] === name) process.kill(process.pid, 'SIGKILL');
}

export class ScheduleManager {
  readonly #deps: ScheduleDeps;
  readonly #schedules = new Map<string, Live>();
  /** Which schedule started a run still going. */
  readonly #owners = new Map<string, string>();
  readonly #records: RecordQueue | null;
  #sub: Subscription | null = null;
  #running = false;
  #closed = false;

  constructor(deps: ScheduleDeps) {
    this.#deps = deps;
    this.#records = deps.store.persistent ? new RecordQueue(deps.commits) : null;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Loads the stored schedules (call before `start`). */
  load(): number {
    for (const r of this.#deps.store.listRecords<ScheduleRecord>('schedules')) {
      this.#schedules.set(r.id, { rec: r.data, timer: null, busy: false, deleted: false });
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
      if (e.type === 'workflow_completed') this.#ended(e.data.runId, e.data.status);
    });
    for (const s of this.#schedules.values()) {
      for (const lane of this.#lanes(s.rec)) {
        const still: string[] = [];
        for (const runId of lane.active) {
          const run = await this.#deps.bus.request('workflow.get_run', { runId }).catch(() => null);
          if (run?.status === 'running') {
            still.push(runId);
            this.#owners.set(runId, s.rec.spec.name);
          }
          this.#noteStatus(s.rec, runId, run?.status ?? 'unknown');
        }
        lane.active = still;
      }
      const claims = [...s.rec.claimed];
      await Promise.all(claims.map((c) => this.#startClaimed(s, c)));
      for (const name of ['slots', 'backfill'] as const) this.#drain(s, name);
      this.#save(s);
      this.#arm(s);
    }
  }

  /** Stops the timers; runs in flight go on (they belong to the workflow manager). */
  close(): void {
    this.#closed = true;
    this.#sub?.unsubscribe();
    for (const s of this.#schedules.values()) this.#deps.clock.clearTimeout(s.timer);
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
    const s: Live = { rec, timer: null, busy: false, deleted: false };
    this.#schedules.set(spec.name, s);
    this.#save(s);
    await this.#durable();
    if (this.#running) this.#arm(s);
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
    this.#deps.clock.clearTimeout(s.timer);
    s.timer = null;
    this.#save(s);
    await this.#durable();
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
    await this.#durable();
    if (this.#running) this.#arm(s);
    return this.view(s);
  }

  /** Deletes the schedule and its waiting slots; runs it started go on. */
  async delete(name: string): Promise<{ deleted: boolean }> {
    const s = this.#schedules.get(name);
    if (!s) return { deleted: false };
    s.deleted = true;
    this.#deps.clock.clearTimeout(s.timer);
    this.#schedules.delete(name);
    this.#records?.write('schedules', name, { kind: 'schedules', id: name, delete: true });
    await this.#durable();
    return { deleted: true };
  }

  /** One run now, outside the slots (it counts as running for the overlap of the slots that follow). */
  async trigger(name: string): Promise<{ runId: string }> {
    const s = this.#require(name);
    const now = this.#deps.clock.now();
    const runId = randomUUID();
    await this.#startRun(s, { slot: now, runId, lane: 'slots' }, true);
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
      else if (decision === 'skip') this.#skipped(s, slot, lane);
      else {
        if (decision === 'cancel_start') claims.length = 0;
        claims.push({ slot, runId, lane: 'backfill' });
      }
    }
    await this.#claim(s, claims);
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

  // ---------------------------------------------------------------- firing

  #require(name: string): Live {
    const s = this.#schedules.get(name);
    if (!s) throw new NotFoundError(`no schedule named "${name}"; list them with listSchedules()`);
    return s;
  }

  #lanes(rec: ScheduleRecord): Lane[] {
    return rec.backfill ? [rec.slots, rec.backfill] : [rec.slots];
  }

  /** Sets the schedule's timer for its next slot (plus jitter); none while paused, deleted or past `endAt`. */
  #arm(s: Live): void {
    this.#deps.clock.clearTimeout(s.timer);
    s.timer = null;
    if (this.#closed || s.deleted || s.rec.paused || !this.#running) return;
    const { spec } = s.rec;
    const now = this.#deps.clock.now();
    // A slot at or before now is handled by the tick at once (catching up or recording misses).
    const next = nextSlots(spec, s.rec.cursor, 1)[0];
    if (next === undefined) return;
    const at = next + jitterMs(spec.name, next, spec.jitterSeconds);
    s.timer = this.#deps.clock.setTimeout(() => void this.#tick(s), Math.max(0, at - now), { unref: true });
  }

  async #tick(s: Live): Promise<void> {
    if (s.busy || s.deleted || s.rec.paused || this.#closed) return;
    s.busy = true;
    try {
      const { spec } = s.rec;
      const now = this.#deps.clock.now();
      const windowMs = spec.catchupWindowSeconds * 1000 + spec.jitterSeconds * 1000 + GRACE_MS;
      const { due, missed } = dueSlots(spec, s.rec.cursor, now, windowMs);
      if (missed) {
        s.rec.cursor = missed.last;
        this.#note(s.rec, { scheduledFor: missed.first, outcome: 'missed', runId: null, at: now, count: missed.count });
        this.#deps.bus.publish('schedule_missed', {
          schedule: spec.name,
          workflow: spec.workflow,
          count: missed.count,
          first: missed.first,
          last: missed.last,
        });
        this.#save(s);
      }
      for (const slot of due) {
        if (slot + jitterMs(spec.name, slot, spec.jitterSeconds) > now || s.deleted || s.rec.paused) break;
        await this.#slot(s, slot);
      }
    } catch (err) {
      this.#deps.bus.publish('component_error', {
        component: 'schedules',
        operation: `fire schedule "${s.rec.spec.name}"`,
        error: serializeError(err),
      });
    } finally {
      s.busy = false;
      this.#arm(s);
    }
  }

  /** One slot of the schedule's own lane: started, buffered, skipped, or started after cancelling the running ones. */
  async #slot(s: Live, slot: number): Promise<void> {
    const lane = s.rec.slots;
    const decision = decideOverlap(lane.policy, lane.active.length, lane.buffered.length);
    s.rec.cursor = slot;
    if (decision === 'skip') {
      this.#skipped(s, slot, lane);
      this.#save(s);
      return;
    }
    if (decision === 'buffer') {
      lane.buffered.push(slot);
      this.#note(s.rec, {
        scheduledFor: slot,
        outcome: 'buffered',
        runId: slotRunId(s.rec.spec.name, slot),
        at: this.#deps.clock.now(),
      });
      this.#save(s);
      return;
    }
    if (decision === 'cancel_start') {
      for (const runId of lane.active) {
        void this.#deps.bus
          .request('workflow.cancel_run', {
            runId,
            reason: `schedule "${s.rec.spec.name}": a new slot (${new Date(slot).toISOString()}) cancels the previous run (overlap: cancel_previous)`,
          })
          .catch(() => undefined);
      }
    }
    await this.#claim(s, [{ slot, runId: slotRunId(s.rec.spec.name, slot), lane: 'slots' }]);
  }

  #skipped(s: Live, slot: number, lane: Lane): void {
    const { spec } = s.rec;
    this.#note(s.rec, { scheduledFor: slot, outcome: 'skipped', runId: null, at: this.#deps.clock.now() });
    this.#deps.bus.publish('schedule_skipped', {
      schedule: spec.name,
      workflow: spec.workflow,
      scheduledFor: slot,
      reason: 'overlap',
      activeRuns: [...lane.active],
    });
  }

  /** Claims the slots (one committed write), then starts their runs. */
  async #claim(s: Live, claims: Claim[]): Promise<void> {
    if (claims.length === 0) {
      this.#save(s);
      return;
    }
    s.rec.claimed.push(...claims);
    this.#save(s);
    await this.#durable();
    failpoint('schedule.after_claim');
    await Promise.all(claims.map((c) => this.#startClaimed(s, c)));
  }

  /**
   * Starts a claimed slot's run (once: a run with its id that exists is not started again), then drops the claim.
   * An engine shutting down keeps the claim: the next start re-drives it.
   */
  async #startClaimed(s: Live, claim: Claim): Promise<void> {
    if (!(await this.#startRun(s, claim, false))) return;
    s.rec.claimed = s.rec.claimed.filter((c) => c !== claim && !(c.slot === claim.slot && c.lane === claim.lane));
    this.#save(s);
  }

  /** False when the engine is shutting down (nothing was decided about the slot). */
  async #startRun(s: Live, claim: Claim, manual: boolean): Promise<boolean> {
    const { spec } = s.rec;
    const lane = claim.lane === 'backfill' ? s.rec.backfill : s.rec.slots;
    try {
      const reply = await this.#deps.bus.request('workflow.start', {
        name: spec.workflow,
        params: spec.parameters,
        runId: claim.runId,
        origin: { scheduleName: spec.name, scheduledFor: claim.slot },
      });
      const firedAt = this.#deps.clock.now();
      if (s.deleted) return true;
      const status: WorkflowRunStatus | 'unknown' = reply.existing
        ? ((await this.#deps.bus.request('workflow.get_run', { runId: claim.runId }))?.status ?? 'unknown')
        : 'running';
      if (status === 'running' && lane && !lane.active.includes(claim.runId)) {
        lane.active.push(claim.runId);
        this.#owners.set(claim.runId, spec.name);
      }
      s.rec.lastRuns = [
        { runId: claim.runId, scheduledFor: claim.slot, status },
        ...s.rec.lastRuns.filter((r) => r.runId !== claim.runId),
      ].slice(0, LAST_RUNS);
      if (reply.existing) return true;
      this.#note(s.rec, { scheduledFor: claim.slot, outcome: 'started', runId: claim.runId, at: firedAt });
      this.#deps.bus.publish('schedule_fired', {
        schedule: spec.name,
        workflow: spec.workflow,
        runId: claim.runId,
        scheduledFor: claim.slot,
        firedAt,
        lagMs: Math.max(0, firedAt - claim.slot),
        manual,
        backfill: claim.lane === 'backfill',
      });
      return true;
    } catch (err) {
      if (manual) throw err;
      if (err instanceof CodomyrmexError && err.code === ErrorCode.SHUTTING_DOWN) return false;
      this.#note(s.rec, {
        scheduledFor: claim.slot,
        outcome: 'failed',
        runId: claim.runId,
        at: this.#deps.clock.now(),
        error: (err as Error).message,
      });
      this.#deps.bus.publish('schedule_skipped', {
        schedule: spec.name,
        workflow: spec.workflow,
        scheduledFor: claim.slot,
        reason: 'failed',
        activeRuns: [...(lane?.active ?? [])],
        error: serializeError(err),
      });
      return true;
    } finally {
      this.#save(s);
    }
  }

  /** A run ended: free its lane, and start the lane's next buffered slot. */
  #ended(runId: string, status: WorkflowRunStatus): void {
    const name = this.#owners.get(runId);
    if (name === undefined) return;
    this.#owners.delete(runId);
    const s = this.#schedules.get(name);
    if (!s) return;
    for (const lane of this.#lanes(s.rec)) lane.active = lane.active.filter((r) => r !== runId);
    this.#noteStatus(s.rec, runId, status);
    this.#drain(s, 'slots');
    this.#drain(s, 'backfill');
    this.#save(s);
  }

  /** Starts the lane's oldest buffered slot when nothing of the lane runs. */
  #drain(s: Live, name: LaneName): void {
    const lane = name === 'backfill' ? s.rec.backfill : s.rec.slots;
    if (!lane || lane.active.length > 0 || this.#closed || s.deleted) return;
    const slot = lane.buffered.shift();
    if (slot === undefined) {
      if (name === 'backfill' && s.rec.claimed.every((c) => c.lane !== 'backfill')) s.rec.backfill = null;
      return;
    }
    void this.#claim(s, [{ slot, runId: slotRunId(s.rec.spec.name, slot), lane: name }]).catch((err: unknown) => {
      this.#deps.bus.publish('component_error', {
        component: 'schedules',
        operation: `start a buffered slot of "${s.rec.spec.name}"`,
        error: serializeError(err),
      });
    });
  }

  #noteStatus(rec: ScheduleRecord, runId: string, status: WorkflowRunStatus | 'unknown'): void {
    const r = rec.lastRuns.find((x) => x.runId === runId);
    if (r) r.status = status;
  }

  #note(rec: ScheduleRecord, entry: SlotRecord): void {
    rec.recent.unshift(entry);
    if (rec.recent.length > RECENT) rec.recent.length = RECENT;
  }

  // ---------------------------------------------------------------- store

  #save(s: Live): void {
    if (s.deleted) return;
    const rec = s.rec;
    this.#records?.write('schedules', rec.spec.name, () => ({
      kind: 'schedules',
      id: rec.spec.name,
      parent: rec.spec.workflow,
      status: rec.paused ? 'paused' : 'active',
      data: rec,
    }));
  }

  /** Resolves once what was saved so far is committed (at once without a durable store). */
  async #durable(): Promise<void> {
    if (this.#records) await this.#deps.commits.afterCommit(undefined);
  }
}
