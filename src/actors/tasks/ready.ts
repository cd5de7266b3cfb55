/**
 * The ready tasks: one lane per session (plus the default lane), the round-robin among lanes, and the tasks parked
 * while the resources they declare are held by others. A ready task is in exactly one place, named by its
 * `where`: `gated` (waiting for its first commit, strict durability), `queued` (in its lane's queue) or `parked`.
 */
import type { SessionMode } from '../../model/session.js';
import type { TaskPriority } from '../../model/task.js';
import { Lane } from './lanes.js';
import type { TaskRecord } from './record.js';
import type { FlowControl } from './admission/flow.js';

export type { ReadyPlace } from './record.js';

/** The lane of tasks that name no session. */
export const DEFAULT_LANE = 'default';

export class ReadyTasks {
  readonly #lanes = new Map<string, Lane<TaskRecord>>();
  readonly defaultLane: Lane<TaskRecord>;
  readonly #agingMs: number;
  readonly #flow: FlowControl | null;
  /** Round-robin start among lanes. */
  #cursor = 0;
  #parked: TaskRecord[] = [];

  constructor(agingMs: number, flow: FlowControl | null = null) {
    this.#agingMs = agingMs;
    this.#flow = flow;
    this.defaultLane = new Lane<TaskRecord>(DEFAULT_LANE, 'resource_aware', Infinity, agingMs, flow?.keys ?? null);
    this.#lanes.set(DEFAULT_LANE, this.defaultLane);
    if (flow) flow.waitingUnder = (key) => this.waitingUnder(key);
  }

  /** Live tasks queued under a fairness key, across the lanes. */
  waitingUnder(key: string): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.queue.waitingUnder?.(key) ?? 0;
    return n;
  }

  /** The lane of a session id (the default lane for none, or for a session not open, e.g. after a restart). */
  laneFor(sessionId: string | undefined): Lane<TaskRecord> {
    return (sessionId !== undefined ? this.#lanes.get(sessionId) : undefined) ?? this.defaultLane;
  }

  /** Whether new tasks may name this session. */
  laneOpen(sessionId: string | undefined): boolean {
    const lane = this.#lanes.get(sessionId ?? DEFAULT_LANE);
    return lane !== undefined && !lane.closed;
  }

  /** Opens the lane of a session; false when one is open already. */
  openLane(sessionId: string, mode: SessionMode, maxParallelTasks: number): boolean {
    if (this.#lanes.has(sessionId)) return false;
    this.#lanes.set(
      sessionId,
      new Lane<TaskRecord>(sessionId, mode, maxParallelTasks, this.#agingMs, this.#flow?.keys ?? null),
    );
    return true;
  }

  /** Closes a session's lane (new tasks are refused) and returns it, so the caller can cancel what is in it. */
  closeLane(sessionId: string): Lane<TaskRecord> | null {
    const lane = this.#lanes.get(sessionId);
    if (!lane || sessionId === DEFAULT_LANE) return null;
    lane.closed = true;
    this.#lanes.delete(sessionId);
    return lane;
  }

  queue(rec: TaskRecord): void {
    rec.where = 'queued';
    rec.lane.queue.push(rec);
  }

  park(rec: TaskRecord): void {
    rec.where = 'parked';
    this.#parked.push(rec);
  }

  /** Takes a ready task out of wherever it waits (it was cancelled). A gated one is dropped by the gate lazily. */
  leave(rec: TaskRecord): void {
    if (rec.where === 'queued') rec.lane.queue.forget(rec);
    else if (rec.where === 'parked') this.#parked = this.#parked.filter((r) => r !== rec);
    else if (rec.where === 'keyed' || rec.where === 'throttled') this.#flow?.leave(rec);
    rec.where = null;
  }

  /** Puts parked tasks back in their lanes, in the order they were parked. True when there were any. */
  unpark(): boolean {
    if (this.#parked.length === 0) return false;
    const parked = this.#parked;
    this.#parked = [];
    for (const rec of parked) if (rec.where === 'parked' && rec.status === 'ready') this.queue(rec);
    return true;
  }

  /**
   * The next task to start: from the next lane with room, round-robin, in that lane's order. `admit` takes the
   * flow-control keys and units of a task that declares them and the resources of a task in a `resource_aware`
   * lane (`byResources`); when it says no, the task waits or was refused, and the next one is tried. `place`, when
   * given, is asked first and parks a task no worker can take now. A lane whose queue holds only tasks of keys at
   * their limit gives nothing, and the next lane is tried.
   */
  next(
    now: number,
    admit: (rec: TaskRecord, byResources: boolean) => boolean,
    place?: (rec: TaskRecord) => boolean,
  ): TaskRecord | null {
    let emptyLanes = 0;
    for (;;) {
      const lane = this.#nextLane();
      if (!lane) return null;
      const rec = lane.queue.pop(now);
      if (!rec) {
        if (this.#lanes.size === 1 || ++emptyLanes >= this.#lanes.size) return null;
        continue;
      }
      rec.where = null;
      // A runner that routes (remote workers) parks what no free worker can take, before resources are taken.
      if (place && !place(rec)) continue;
      const byResources = lane.admitsByResources && rec.held !== null;
      if ((byResources || rec.flow !== null) && !admit(rec, byResources)) continue;
      return rec;
    }
  }

  /**
   * The task {@link next} would take now, left where it is; undefined when there is none or its lane's queue
   * cannot tell (a `sequential` lane runs one at a time anyway).
   */
  peek(now: number): TaskRecord | undefined {
    return this.#nextLane(false)?.queue.peek?.(now);
  }

  /** Tasks waiting in the lanes' queues (not parked, not gated). */
  get queued(): number {
    if (this.#lanes.size === 1) return this.defaultLane.queue.size;
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.queue.size;
    return n;
  }

  #nextLane(move = true): Lane<TaskRecord> | null {
    // Only the default lane (no sessions): no round-robin, and no array built on every dispatch.
    if (this.#lanes.size === 1) return this.defaultLane.hasRoom ? this.defaultLane : null;
    const lanes = [...this.#lanes.values()];
    for (let i = 0; i < lanes.length; i++) {
      const lane = lanes[(this.#cursor + i) % lanes.length];
      if (lane?.hasRoom) {
        if (move) this.#cursor = (this.#cursor + i + 1) % lanes.length;
        return lane;
      }
    }
    return null;
  }

  /** Queued and parked tasks, by priority, and the ready time of the oldest queued one. */
  counts(): { queued: number; byPriority: Record<TaskPriority, number>; oldestReadyAt: number | null } {
    let oldest: number | null = null;
    let queued = this.#parked.length;
    const byPriority = { critical: 0, high: 0, normal: 0, low: 0, background: 0 };
    for (const lane of this.#lanes.values()) {
      const o = lane.queue.oldestReadyAt();
      if (o !== null && (oldest === null || o < oldest)) oldest = o;
      queued += lane.queue.size;
      for (const [p, n] of Object.entries(lane.queue.countByPriority())) byPriority[p as TaskPriority] += n;
    }
    for (const r of this.#parked) byPriority[r.priority]++;
    if (this.#flow) queued += this.#flow.countWaiting(byPriority);
    return { queued, byPriority, oldestReadyAt: oldest };
  }
}
