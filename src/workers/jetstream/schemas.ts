/**
 * The remote-worker protocol's messages as zod schemas: every message a daemon or a worker reads off NATS or
 * JetStream is parsed by {@link decodeAs}, so a message of the wrong shape (a hostile publisher, a worker of another
 * build) is refused with an error naming the field, never half-read. Unknown extra fields pass (a newer peer may
 * add some); batches are bounded.
 */
import { z } from 'zod';
import { serializedErrorSchema, ValidationError } from '../../errors.js';
import { artifactRefSchema, upstreamArtifactsSchema } from '../../model/artifacts.js';
import { formatZodIssues } from '../../model/validate.js';
import { MAX_HOLDING } from './protocol.js';
import type {
  CancelMessage,
  ProgressMessage,
  ResultAck,
  ResultMessage,
  StartedMessage,
  WorkBatch,
  WorkerInfo,
  WorkerView,
  WorkMessage,
} from './protocol.js';

/** Most attempts, results or acks one message may carry (the daemon sends at most 64 attempts, a worker 256 results). */
const MAX_BATCH = 1024;

const text = z.string().max(10_000);
const id = z.string().min(1).max(500);
const count = z.number().int().min(0);

/** What a worker announces in its heartbeat, as fields (the heartbeat's schema adds a rule across them). */
const workerInfoFields = z.object({
  protocol: z.number().int(),
  id,
  name: id,
  host: text,
  pid: count,
  tags: z.array(text).max(1000),
  modules: z.array(text).max(10_000),
  threads: count,
  capacity: z.number().int().min(1),
  version: text,
  group: id,
  running: count,
  startedAt: z.number(),
  ackWaitMs: z.number().min(0),
  holding: z.array(id).max(MAX_HOLDING).optional(),
});

const workerInfoSchema = workerInfoFields
  .passthrough()
  // Required from protocol 3 on; a worker of an older protocol still parses, so the daemon can say which it speaks.
  .superRefine((v, ctx) => {
    if (v.protocol >= 3 && v.holding === undefined)
      ctx.addIssue({ code: 'custom', path: ['holding'], message: 'Required' });
  });

const byeSchema = z.object({ id }).passthrough();

const startedSchema = z
  .object({ dispatch: id, worker: id, deliveries: z.number().int().min(1), attempt: z.number().int().min(1) })
  .passthrough();
const startedBatchSchema = z.object({ batch: z.array(startedSchema).max(MAX_BATCH) }).passthrough();

const outcomeSchema = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('ok'),
        output: z.unknown(),
        bytes: count.optional(),
        binary: z.boolean().optional(),
        ms: z.number().optional(),
        artifacts: z.array(artifactRefSchema).max(10_000).optional(),
      })
      .passthrough(),
    z.object({ type: z.literal('error'), error: serializedErrorSchema, ms: z.number().optional() }).passthrough(),
    z.object({ type: z.literal('crashed'), error: serializedErrorSchema }).passthrough(),
  ])
  // A worker exports its threads' spans itself and sends none: spans in a result would be exported by the daemon
  // unchecked (the reply's `spans` are trusted thread output), so they are dropped here.
  .transform((o) => {
    delete o['spans'];
    return o;
  });

const resultSchema = z
  .object({ dispatch: id, worker: id, name: text.optional(), taskId: id, outcome: outcomeSchema })
  .passthrough();
const resultBatchSchema = z.object({ batch: z.array(resultSchema).max(MAX_BATCH) }).passthrough();

const progressSchema = z.discriminatedUnion('kind', [
  z.object({ dispatch: id, kind: z.literal('progress'), value: z.unknown() }).passthrough(),
  z
    .object({
      dispatch: id,
      kind: z.literal('log'),
      level: z.enum(['debug', 'info', 'warn', 'error']),
      message: z.string(),
    })
    .passthrough(),
]);

const cancelSchema = z.object({ dispatch: id, kind: z.enum(['abort', 'kill']), reason: text }).passthrough();

const workMessageSchema = z
  .object({
    dispatch: id,
    daemon: id,
    taskId: id,
    name: text,
    module: id,
    action: id,
    params: z.unknown(),
    attempt: z.number().int().min(1),
    idempotencyKey: text.optional(),
    workingDir: z.string().max(4096).optional(),
    upstream: z.record(z.unknown()).optional(),
    channel: z.boolean().optional(),
    artifactScope: id.optional(),
    artifacts: upstreamArtifactsSchema.optional(),
    affinity: id.optional(),
    traceparent: z.string().max(512).optional(),
  })
  .passthrough();
const workBatchSchema = z.object({ batch: z.array(workMessageSchema).min(1).max(MAX_BATCH) }).passthrough();

/**
 * One worker in the daemon's answer to `workers list`: what it announced (less its protocol, ack wait and held
 * results), and what the daemon knows of it. Its capacity may be 0 here (a lost worker's).
 */
const workerViewSchema = workerInfoFields
  .omit({ protocol: true, ackWaitMs: true, holding: true })
  .extend({
    capacity: count,
    state: z.enum(['live', 'lost']),
    inFlight: count,
    lastSeenMs: z.number(),
    tasksCompleted: count,
    tasksFailed: count,
  })
  .passthrough();
const workerListSchema = z.object({ workers: z.array(workerViewSchema).max(100_000) }).passthrough();

const ackSchema = z.object({ accepted: z.boolean(), reason: z.enum(['unknown', 'late']).optional() }).passthrough();
const ackBatchSchema = z.object({ acks: z.array(ackSchema).max(MAX_BATCH) }).passthrough();

/** What each schema reads, as the protocol's types say (the schemas let unknown extra fields through). */
export interface Decoded {
  workerInfo: WorkerInfo;
  bye: { id: string };
  started: StartedMessage | { batch: StartedMessage[] };
  result: ResultMessage | { batch: ResultMessage[] };
  progress: ProgressMessage;
  cancel: CancelMessage;
  work: WorkMessage | WorkBatch;
  ack: ResultAck | { acks: ResultAck[] };
  workerList: { workers: WorkerView[] };
}

/** Each kind's schema, and for the kinds that may come several at once, the key of the list and its schema. */
const SCHEMAS: { [K in keyof Decoded]: { one: z.ZodTypeAny; many?: [string, z.ZodTypeAny] } } = {
  workerInfo: { one: workerInfoSchema },
  bye: { one: byeSchema },
  started: { one: startedSchema, many: ['batch', startedBatchSchema] },
  result: { one: resultSchema, many: ['batch', resultBatchSchema] },
  progress: { one: progressSchema },
  cancel: { one: cancelSchema },
  work: { one: workMessageSchema, many: ['batch', workBatchSchema] },
  ack: { one: ackSchema, many: ['acks', ackBatchSchema] },
  workerList: { one: workerListSchema },
};

const decoder = new TextDecoder();

/**
 * Reads one message of kind `kind`: JSON, then its schema. Throws a `ValidationError` naming the message and the
 * field (`result.outcome.type: ...`) when it is not JSON or not of that shape.
 */
export function decodeAs<K extends keyof Decoded>(kind: K, data: Uint8Array): Decoded[K] {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new ValidationError(`${kind}: not JSON (${(err as Error).message})`);
  }
  // One message or several: told apart by the list's key, so an error names the field of the shape meant.
  const { one, many } = SCHEMAS[kind];
  const schema = many && typeof value === 'object' && value !== null && many[0] in value ? many[1] : one;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, kind).slice(0, 5).join('; '));
  return parsed.data as Decoded[K];
}
