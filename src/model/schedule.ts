/**
 * Schedules and triggers as the API shows them: what `createSchedule` / `createTrigger` take (zod schemas that
 * name the field and the fix), and what `getSchedule` / `listTriggers` answer. The slot arithmetic is in
 * `src/actors/schedules/slots.ts`; the component that fires them is `src/actors/schedules/`.
 */
import { z } from 'zod';
import type { WorkflowRunStatus } from './workflow.js';

/** What a schedule does with a slot whose previous run is still going. */
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'allow', 'cancel_previous'] as const;
/** One of {@link OVERLAP_POLICIES}: skip the slot, buffer one or all, run alongside, or cancel the previous run. */
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** A time as the API takes it: an ISO-8601 string or epoch milliseconds. */
export type TimeInput = string | number;

/** `engine.createSchedule(...)`'s argument. */
export interface ScheduleInput {
  /** Unique among schedules: letters, digits, `_`, `-`, `.`. */
  name: string;
  /** The stored workflow each slot runs. */
  workflow: string;
  /** A 5-field (minute first) or 6-field (second first) cron expression, evaluated in `timezone`. */
  cron?: string;
  /** A fixed interval: `"30s"`, `"5m"`, `"2h"`, `"1d"` or a number of seconds (at least 1). */
  every?: string | number;
  /** IANA zone of `cron` (default `UTC`). */
  timezone?: string;
  /** The runs' parameters (`{{params.x}}`). */
  parameters?: Record<string, unknown>;
  /** Default `skip`. */
  overlap?: OverlapPolicy;
  /** After downtime, missed slots newer than this run (oldest first); older ones are recorded as missed. Default 60. */
  catchupWindowSeconds?: number;
  /** Each slot fires up to this many seconds late, spread evenly (default 0). */
  jitterSeconds?: number;
  /** No slot before this time. */
  startAt?: TimeInput;
  /** No slot after this time. */
  endAt?: TimeInput;
  /** Created paused (default false). */
  paused?: boolean;
}

/** A schedule as stored, every default filled in and times in epoch ms. */
export interface ScheduleSpec {
  name: string;
  workflow: string;
  cron: string | null;
  /** The interval in ms (an `every` schedule), else null. */
  everyMs: number | null;
  timezone: string;
  parameters: Record<string, unknown>;
  overlap: Exclude<OverlapPolicy, 'buffer_all'>;
  catchupWindowSeconds: number;
  jitterSeconds: number;
  startAt: number | null;
  endAt: number | null;
  createdAt: number;
}

/** What happened to one slot. */
export type SlotOutcome = 'started' | 'skipped' | 'missed' | 'buffered' | 'cancelled_previous' | 'failed';

/** What a schedule did with one slot (started a run, skipped it, buffered it, ...). */
export interface SlotRecord {
  /** The slot's time (epoch ms). */
  scheduledFor: number;
  outcome: SlotOutcome;
  runId: string | null;
  /** When it was decided (epoch ms). */
  at: number;
  /** For `missed`: how many slots this entry stands for (downtime can miss thousands). */
  count?: number;
  /** Why it failed to start. */
  error?: string;
}

/** `getSchedule(name)` / `listSchedules()`. */
export interface ScheduleView extends ScheduleSpec {
  paused: boolean;
  /** The next fire times (slot times, ISO), up to 5; empty when paused or past `endAt`. */
  nextFireTimes: string[];
  /** The newest slot decisions first (started, skipped, missed, ...). */
  recentSlots: SlotRecord[];
  /** The newest runs the schedule started, newest first. */
  lastRuns: { runId: string; scheduledFor: number | null; status: WorkflowRunStatus | 'unknown' }[];
  /** Runs of this schedule still going. */
  activeRuns: string[];
  /** Slots waiting for a running one to end (`buffer_one`, backfills). */
  bufferedSlots: number;
}

/** `backfillSchedule(name, ...)`'s options. */
export interface BackfillInput {
  from: TimeInput;
  to: TimeInput;
  /** Default `buffer_all`: one after another, none dropped. */
  overlap?: OverlapPolicy;
}

/** What `backfillSchedule` did: the slots in the range and the runs it started. */
export interface BackfillReply {
  name: string;
  /** Slots in the range, in order (ISO). */
  slots: number;
  /** Queued or started now. */
  queued: number;
  /** Slots whose run already exists (a slot runs once). */
  alreadyRun: number;
}

/** Where a trigger's messages come from. */
export type TriggerSource =
  | { nats: string; stream?: boolean | string | undefined; durable?: string | undefined }
  | { http: { path: string; secret: string } };

/** `engine.createTrigger(...)`'s argument. */
export interface TriggerInput {
  name: string;
  workflow: string;
  source: TriggerSource;
  /** The run's parameters; strings may hold `{{event.data}}`, `{{event.subject}}`, `{{event.headers}}`. Default `{ event: "{{event}}" }`-like: the whole event as `params.event`. */
  parameters?: Record<string, unknown>;
  paused?: boolean;
}

/** A trigger as stored. */
export interface TriggerSpec {
  name: string;
  workflow: string;
  source: TriggerSource;
  parameters: Record<string, unknown> | null;
  createdAt: number;
}

/** `listTriggers()`: the secret is never shown. */
export interface TriggerView {
  name: string;
  workflow: string;
  kind: 'nats' | 'jetstream' | 'http';
  /** The subject, or the HTTP path. */
  target: string;
  /** The JetStream stream, for `kind: jetstream`. */
  stream: string | null;
  parameters: Record<string, unknown> | null;
  paused: boolean;
  /** Whether this engine receives its messages now (a NATS trigger needs a NATS connection). */
  listening: boolean;
  /** Why not, when not listening. */
  reason: string | null;
  fired: number;
  rejected: number;
  createdAt: number;
}

// ---------------------------------------------------------------- schemas

const NAME = /^[A-Za-z0-9_][\w.-]*$/;
const nameSchema = (what: string) =>
  z
    .string({ required_error: `required: the ${what} name` })
    .min(1, `must name the ${what}`)
    .max(100, 'must be at most 100 characters')
    .regex(NAME, 'must start with a letter, digit or _ and hold only letters, digits, _, - and .');

const timeSchema = z.union([z.string().min(1), z.number()], {
  invalid_type_error: 'must be an ISO-8601 time or epoch milliseconds',
});

/** The schema of `createSchedule`'s argument (shapes; the cron, zone and times are checked by the component). */
export const scheduleInputSchema = z
  .object({
    name: nameSchema('schedule'),
    workflow: z.string({ required_error: 'required: the workflow each slot runs' }).min(1, 'must name a workflow'),
    cron: z.string().min(1, 'must be a cron expression, e.g. "*/5 * * * *"').optional(),
    every: z
      .union([z.string().min(1), z.number()], {
        invalid_type_error: 'must be a duration such as "30s", "5m" or a number of seconds',
      })
      .optional(),
    timezone: z.string().min(1, 'must be an IANA zone, e.g. "Europe/Paris"').optional(),
    parameters: z.record(z.unknown(), { invalid_type_error: 'must be an object' }).optional(),
    overlap: z
      .enum(OVERLAP_POLICIES, {
        errorMap: () => ({
          message: `must be one of ${OVERLAP_POLICIES.filter((p) => p !== 'buffer_all').join(', ')}`,
        }),
      })
      .optional(),
    catchupWindowSeconds: z.number().min(0, 'must be 0 or more seconds').optional(),
    jitterSeconds: z
      .number()
      .min(0, 'must be 0 or more seconds')
      .max(86_400, 'must be at most 86400 (a day)')
      .optional(),
    startAt: timeSchema.optional(),
    endAt: timeSchema.optional(),
    paused: z.boolean().optional(),
  })
  .strict();

export const backfillInputSchema = z
  .object({
    from: timeSchema,
    to: timeSchema,
    overlap: z
      .enum(OVERLAP_POLICIES, { errorMap: () => ({ message: `must be one of ${OVERLAP_POLICIES.join(', ')}` }) })
      .optional(),
  })
  .strict();

const sourceSchema = z.union(
  [
    z
      .object({
        nats: z.string().min(1, 'must be a NATS subject, e.g. "orders.created"'),
        stream: z.union([z.boolean(), z.string().min(1)]).optional(),
        durable: z.string().min(1).optional(),
      })
      .strict(),
    z
      .object({
        http: z
          .object({
            path: z.string().min(1),
            secret: z
              .string({ required_error: 'required: the shared secret the sender signs bodies with' })
              .min(16, 'must be at least 16 characters'),
          })
          .strict(),
      })
      .strict(),
  ],
  {
    errorMap: () => ({
      message: 'must be { nats: "subject", stream?: "STREAM" } or { http: { path: "/hooks/...", secret: "..." } }',
    }),
  },
);

export const triggerInputSchema = z
  .object({
    name: nameSchema('trigger'),
    workflow: z.string({ required_error: 'required: the workflow each message runs' }).min(1, 'must name a workflow'),
    source: sourceSchema,
    parameters: z.record(z.unknown(), { invalid_type_error: 'must be an object' }).optional(),
    paused: z.boolean().optional(),
  })
  .strict();
