/**
 * Firing slots: one timer for every schedule (a wheel keyed by fire time), the batch of what falls due at one time
 * (claimed in one commit, then started in chunks), a schedule's catch-up tick (misses recorded), the overlap decision
 * per slot, claims written before runs start, the starts, and a lane freed when its run ends.
 */
import type { MessageBus } from '../../bus/bus.js';
import { CodomyrmexError, ErrorCode, serializeError } from '../../errors.js';
import type { Clock, ClockTimer } from '../../model/clock.js';
import { FireWheel } from './wheel.js';
import type { WorkflowRunStatus } from '../../model/workflow.js';
import { decideOverlap } from './overlap.js';
import type { Claim, Lane, LaneName, LiveSchedule as Live } from './record.js';
import { LAST_RUNS, lanes, noteSlot, noteStatus } from './record.js';
import { dueSlots, jitterMs, nextSlots, slotRunId } from './slots.js';

/** Late timers and commits: a slot this late is still on time, whatever the catch-up window. */
const GRACE_MS = 1000;

/** Runs a batch starts before the event loop turns: 10,000 due at once must not hold the loop for the whole burst. */
const START_CHUNK = 250;

/** The next turn of the event loop (after the I/O that is waiting). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Test hook: with `CODOMYRMEX_FAILPOINT=schedule.after_claim` the process kills itself right after a claim is
 * committed and before its run starts, as a crash would (the crash test of the README's guarantee).
 */
function failpoint(name: string): void {
  if (process.env['CODOMYRMEX_FAILPOINT'] === name) process.kill(process.pid, 'SIGKILL');
}

/** What firing needs of the schedule manager. */
export interface FiringContext {
  bus: MessageBus;
  clock: Clock;
  schedules: ReadonlyMap<string, Live>;
  /** Writes the schedule's record at the next commit. */
  save(s: Live): void;
  /** Resolves once what was saved so far is committed. */
  durable(): Promise<void>;
  /** The manager has started firing. */
  running(): boolean;
  /** The manager has closed. */
  closed(): boolean;
}

export class SlotFiring {
  readonly #ctx: FiringContext;
  /** Which schedule started a run still going. */
  readonly #owners = new Map<string, string>();
  /** Armed schedules by the time they fire at (slot plus jitter). */
  readonly #wheel = new FireWheel<Live>();
  /** The one timer, set for the wheel's earliest time. */
  #timer: ClockTimer | null = null;
  #timerAt = Infinity;

  constructor(ctx: FiringContext) {
    this.#ctx = ctx;
  }

  /** Notes that schedule `name` started run `runId` (its end frees the schedule's lane). */
  own(runId: string, name: string): void {
    this.#owners.set(runId, name);
  }

  /** Puts the schedule on the wheel for its next slot (plus jitter); not while paused, deleted or past `endAt`. */
  arm(s: Live): void {
    this.disarm(s);
    if (this.#ctx.closed() || s.deleted || s.rec.paused || !this.#ctx.running()) return;
    const { spec } = s.rec;
    // A slot at or before now fires at once (its tick catches up or records misses).
    const next = nextSlots(spec, s.rec.cursor, 1)[0];
    if (next === undefined) return;
    const at = next + jitterMs(spec.name, next, spec.jitterSeconds);
    s.at = at;
    this.#wheel.add(at, s);
    if (at < this.#timerAt) this.#setTimer(at);
  }

  /** Takes the schedule off the wheel (the timer stays: firing nothing, it moves on to the next time). */
  disarm(s: Live): void {
    if (s.at === null) return;
    this.#wheel.remove(s.at, s);
    s.at = null;
  }

  /** Stops the timer (the manager closed). */
  close(): void {
    this.#ctx.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  #setTimer(at: number): void {
    const { clock } = this.#ctx;
    clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = clock.setTimeout(() => this.#fire(), Math.max(0, at - clock.now()), { unref: true });
  }

  /** The timer: takes every schedule due by now off the wheel, sets the timer for the next time, fires the batch. */
  #fire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    if (this.#ctx.closed()) return;
    const batch = this.#wheel.takeDue(this.#ctx.clock.now());
    for (const s of batch) s.at = null;
    const next = this.#wheel.next();
    if (next !== undefined) this.#setTimer(next);
    if (batch.length > 0) void this.fireBatch(batch);
  }

  /**
   * Fires schedules that fell due at one time. One due slot each (the usual case) is decided at once, every claim
   * goes into one commit, and the runs start once it is durable. A schedule with several due slots (catching up)
   * or a miss to record takes its own {@link tick}.
   */
  async fireBatch(batch: Live[]): Promise<void> {
    const claimed: { s: Live; claim: Claim }[] = [];
    const taken: Live[] = [];
    try {
      const now = this.#ctx.clock.now();
      for (const s of batch) {
        if (s.busy || s.deleted || s.rec.paused) continue;
        const { spec } = s.rec;
        const { due, missed } = dueSlots(spec, s.rec.cursor, now, windowMs(s));
        const slot = due[0];
        if (missed || due.length !== 1 || slot === undefined) {
          void this.tick(s);
          continue;
        }
        s.busy = true;
        taken.push(s);
        if (slot + jitterMs(spec.name, slot, spec.jitterSeconds) > now) continue;
        const claim = this.decide(s, slot);
        if (claim) {
          s.rec.claimed.push(claim);
          claimed.push({ s, claim });
        }
        this.#ctx.save(s);
      }
      if (claimed.length === 0) return;
      await this.#ctx.durable();
      failpoint('schedule.after_claim');
      // Between chunks a turn of the event loop, not the replies (which wait for the commit holding the runs).
      const starts: Promise<void>[] = [];
      for (let i = 0; i < claimed.length; i++) {
        if (i > 0 && i % START_CHUNK === 0) await nextTurn();
        const { s, claim } = claimed[i]!;
        // The claims were just written: the schedule's record is not written again for the start.
        starts.push(this.startClaimed(s, claim, false));
      }
      await Promise.all(starts);
    } catch (err) {
      this.#ctx.bus.publish('component_error', {
        component: 'schedules',
        operation: `fire ${claimed.length} schedules`,
        error: serializeError(err),
      });
    } finally {
      for (const s of taken) {
        s.busy = false;
        this.arm(s);
      }
    }
  }

  async tick(s: Live): Promise<void> {
    if (s.busy || s.deleted || s.rec.paused || this.#ctx.closed()) return;
    s.busy = true;
    try {
      const { spec } = s.rec;
      const now = this.#ctx.clock.now();
      const { due, missed } = dueSlots(spec, s.rec.cursor, now, windowMs(s));
      if (missed) {
        s.rec.cursor = missed.last;
        noteSlot(s.rec, { scheduledFor: missed.first, outcome: 'missed', runId: null, at: now, count: missed.count });
        this.#ctx.bus.publish('schedule_missed', {
          schedule: spec.name,
          workflow: spec.workflow,
          count: missed.count,
          first: missed.first,
          last: missed.last,
        });
        this.#ctx.save(s);
      }
      for (const slot of due) {
        if (slot + jitterMs(spec.name, slot, spec.jitterSeconds) > now || s.deleted || s.rec.paused) break;
        await this.slot(s, slot);
      }
    } catch (err) {
      this.#ctx.bus.publish('component_error', {
        component: 'schedules',
        operation: `fire schedule "${s.rec.spec.name}"`,
        error: serializeError(err),
      });
    } finally {
      s.busy = false;
      this.arm(s);
    }
  }

  /** One slot of the schedule's own lane: started, buffered, skipped, or started after cancelling the running ones. */
  async slot(s: Live, slot: number): Promise<void> {
    const claim = this.decide(s, slot);
    if (claim) await this.claim(s, [claim]);
    else this.#ctx.save(s);
  }

  /**
   * Decides the slot under the lane's overlap policy (the cursor moves past it): the claim of a run to start, or
   * null when the slot was skipped or buffered.
   */
  decide(s: Live, slot: number): Claim | null {
    const lane = s.rec.slots;
    const decision = decideOverlap(lane.policy, lane.active.length, lane.buffered.length);
    s.rec.cursor = slot;
    if (decision === 'skip') {
      this.skipped(s, slot, lane);
      return null;
    }
    if (decision === 'buffer') {
      lane.buffered.push(slot);
      noteSlot(s.rec, {
        scheduledFor: slot,
        outcome: 'buffered',
        runId: slotRunId(s.rec.spec.name, slot),
        at: this.#ctx.clock.now(),
      });
      return null;
    }
    if (decision === 'cancel_start') {
      for (const runId of lane.active) {
        void this.#ctx.bus
          .request('workflow.cancel_run', {
            runId,
            reason: `schedule "${s.rec.spec.name}": a new slot (${new Date(slot).toISOString()}) cancels the previous run (overlap: cancel_previous)`,
          })
          .catch(() => undefined);
      }
    }
    return { slot, runId: slotRunId(s.rec.spec.name, slot), lane: 'slots' };
  }

  skipped(s: Live, slot: number, lane: Lane): void {
    const { spec } = s.rec;
    noteSlot(s.rec, { scheduledFor: slot, outcome: 'skipped', runId: null, at: this.#ctx.clock.now() });
    this.#ctx.bus.publish('schedule_skipped', {
      schedule: spec.name,
      workflow: spec.workflow,
      scheduledFor: slot,
      reason: 'overlap',
      activeRuns: [...lane.active],
    });
  }

  /** Claims the slots (one committed write), then starts their runs. */
  async claim(s: Live, claims: Claim[]): Promise<void> {
    if (claims.length === 0) {
      this.#ctx.save(s);
      return;
    }
    s.rec.claimed.push(...claims);
    this.#ctx.save(s);
    await this.#ctx.durable();
    failpoint('schedule.after_claim');
    await Promise.all(claims.map((c) => this.startClaimed(s, c)));
  }

  /**
   * Starts a claimed slot's run (once: a run with its id that exists is not started again), then drops the claim.
   * An engine shutting down keeps the claim: the next start re-drives it.
   */
  async startClaimed(s: Live, claim: Claim, write = true): Promise<void> {
    if (!(await this.startRun(s, claim, false, write))) return;
    s.rec.claimed = s.rec.claimed.filter((c) => c !== claim && !(c.slot === claim.slot && c.lane === claim.lane));
    if (write) this.#ctx.save(s);
  }

  /**
   * False when the engine is shutting down (nothing was decided about the slot). `write` false: what the start
   * changed is written with the record's next write (the run's end, the next claim); until then the stored claim
   * stands, and a restart re-drives it, which finds the run and starts nothing.
   */
  async startRun(s: Live, claim: Claim, manual: boolean, write = true): Promise<boolean> {
    const { spec } = s.rec;
    const lane = claim.lane === 'backfill' ? s.rec.backfill : s.rec.slots;
    try {
      const started = this.#ctx.bus.request('workflow.start', {
        name: spec.workflow,
        params: spec.parameters,
        runId: claim.runId,
        origin: { scheduleName: spec.name, scheduledFor: claim.slot },
      });
      // The run starts inside the request (the workflow manager is in this process); the reply also waits for the
      // commit holding the run, which the slot does not need: its claim is durable and its run id starts once.
      const firedAt = this.#ctx.clock.now();
      const reply = await started;
      if (s.deleted) return true;
      const status: WorkflowRunStatus | 'unknown' = reply.existing
        ? ((await this.#ctx.bus.request('workflow.get_run', { runId: claim.runId }))?.status ?? 'unknown')
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
      noteSlot(s.rec, { scheduledFor: claim.slot, outcome: 'started', runId: claim.runId, at: firedAt });
      this.#ctx.bus.publish('schedule_fired', {
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
      noteSlot(s.rec, {
        scheduledFor: claim.slot,
        outcome: 'failed',
        runId: claim.runId,
        at: this.#ctx.clock.now(),
        error: (err as Error).message,
      });
      this.#ctx.bus.publish('schedule_skipped', {
        schedule: spec.name,
        workflow: spec.workflow,
        scheduledFor: claim.slot,
        reason: 'failed',
        activeRuns: [...(lane?.active ?? [])],
        error: serializeError(err),
      });
      return true;
    } finally {
      if (write) this.#ctx.save(s);
    }
  }

  /** A run ended: free its lane, and start the lane's next buffered slot. */
  ended(runId: string, status: WorkflowRunStatus): void {
    const name = this.#owners.get(runId);
    if (name === undefined) return;
    this.#owners.delete(runId);
    const s = this.#ctx.schedules.get(name);
    if (!s) return;
    for (const lane of lanes(s.rec)) lane.active = lane.active.filter((r) => r !== runId);
    noteStatus(s.rec, runId, status);
    this.drain(s, 'slots');
    this.drain(s, 'backfill');
    this.#ctx.save(s);
  }

  /** Starts the lane's oldest buffered slot when nothing of the lane runs. */
  drain(s: Live, name: LaneName): void {
    const lane = name === 'backfill' ? s.rec.backfill : s.rec.slots;
    if (!lane || lane.active.length > 0 || this.#ctx.closed() || s.deleted) return;
    const slot = lane.buffered.shift();
    if (slot === undefined) {
      if (name === 'backfill' && s.rec.claimed.every((c) => c.lane !== 'backfill')) s.rec.backfill = null;
      return;
    }
    void this.claim(s, [{ slot, runId: slotRunId(s.rec.spec.name, slot), lane: name }]).catch((err: unknown) => {
      this.#ctx.bus.publish('component_error', {
        component: 'schedules',
        operation: `start a buffered slot of "${s.rec.spec.name}"`,
        error: serializeError(err),
      });
    });
  }
}

/** How late a slot may fire and still run: its catch-up window, its jitter, and the grace for late timers. */
function windowMs(s: Live): number {
  const { spec } = s.rec;
  return spec.catchupWindowSeconds * 1000 + spec.jitterSeconds * 1000 + GRACE_MS;
}
