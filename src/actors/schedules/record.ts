/**
 * What the schedule component keeps of a schedule: the `schedules` record (its spec, cursor, claimed slots, the
 * lanes of runs and buffered slots, recent slots and last runs), its live state, and the small updates of it.
 */
import type { OverlapPolicy, ScheduleSpec, SlotRecord } from '../../model/schedule.js';
import type { WorkflowRunStatus } from '../../model/workflow.js';

/** The runs of one lane (the schedule's slots, or its backfill) and the slots waiting for them. */
export interface Lane {
  policy: OverlapPolicy;
  active: string[];
  buffered: number[];
}

export type LaneName = 'slots' | 'backfill';

/** A slot whose run must start (claimed in the store before the start is asked for). */
export interface Claim {
  slot: number;
  runId: string;
  lane: LaneName;
}

/** What the `schedules` record holds. */
export interface ScheduleRecord {
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

/** A schedule this engine knows: its record and when it is armed to fire. */
export interface LiveSchedule {
  rec: ScheduleRecord;
  /** The time it sits at on the firing wheel (its next slot plus jitter); null while not armed. */
  at: number | null;
  busy: boolean;
  deleted: boolean;
}

const RECENT = 20;
/** How many of its last runs a schedule shows. */
export const LAST_RUNS = 10;

/** The schedule's lanes: its slots, and its backfill while there is one. */
export function lanes(rec: ScheduleRecord): Lane[] {
  return rec.backfill ? [rec.slots, rec.backfill] : [rec.slots];
}

/** Sets the status of one of the schedule's last runs. */
export function noteStatus(rec: ScheduleRecord, runId: string, status: WorkflowRunStatus | 'unknown'): void {
  const r = rec.lastRuns.find((x) => x.runId === runId);
  if (r) r.status = status;
}

/** Adds a slot's outcome to the schedule's recent slots. */
export function noteSlot(rec: ScheduleRecord, entry: SlotRecord): void {
  rec.recent.unshift(entry);
  if (rec.recent.length > RECENT) rec.recent.length = RECENT;
}
