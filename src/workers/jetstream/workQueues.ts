/**
 * A remote worker's side of the JetStream streams: the work stream and the kept stream (made if missing), its
 * group's durable consumer (shared by every worker serving the same modules and tags), its own consumer (for
 * attempts sent to it alone: a sticky run's), and the way to keep a result for the next daemon when it stops.
 */
import type { Consumer, JetStreamClient } from '@nats-io/jetstream';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { RemoteSubjects, ResultMessage } from './protocol.js';
import { encode, ensureWorkQueue, keptStreamName, workStreamName } from './protocol.js';

/** Where a worker pulls its work from, and where it keeps results. */
export interface WorkQueues {
  readonly js: JetStreamClient;
  /** The work stream's name. */
  readonly stream: string;
  /** Its group's consumer: attempts any worker of the group may take. */
  readonly group: Consumer;
  /** Its own consumer: attempts for this worker alone. */
  readonly own: Consumer;
  /** Puts a result in the kept stream (durably) for the next daemon. */
  keep(result: ResultMessage): Promise<void>;
  /** Removes its own consumer (it stops); never rejects. */
  removeOwn(): Promise<void>;
}

/** Makes sure the streams and the worker's consumers exist (a group consumer's ack wait is updated to this one's). */
export async function openWorkQueues(
  nc: NatsConnection,
  o: { subjectPrefix: string; subjects: RemoteSubjects; group: string; workerId: string; ackWaitMs: number },
): Promise<WorkQueues> {
  const s = o.subjects;
  const jsm = await jetstreamManager(nc);
  const stream = workStreamName(o.subjectPrefix);
  await ensureWorkQueue(jsm, stream, s.workAll);
  await ensureWorkQueue(jsm, keptStreamName(o.subjectPrefix), s.kept);
  const durable = `G_${o.group}`;
  const config = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: s.work(o.group),
    ack_wait: o.ackWaitMs * 1_000_000,
    max_deliver: -1,
    max_ack_pending: 100_000,
  };
  try {
    await jsm.consumers.info(stream, durable);
    await jsm.consumers.update(stream, durable, {
      ack_wait: config.ack_wait,
      max_ack_pending: config.max_ack_pending,
    });
  } catch {
    await jsm.consumers.add(stream, config);
  }
  // Its own consumer, for attempts sent to this worker alone; removed by the server an hour after it stops pulling.
  const ownName = `W_${o.workerId}`;
  await jsm.consumers.add(stream, {
    durable_name: ownName,
    ack_policy: AckPolicy.Explicit,
    filter_subject: s.workFor(o.workerId),
    ack_wait: config.ack_wait,
    max_deliver: -1,
    max_ack_pending: 100_000,
    inactive_threshold: 3_600_000_000_000,
  });
  const js = jetstream(nc);
  const group = await js.consumers.get(stream, durable);
  const own = await js.consumers.get(stream, ownName);
  return {
    js,
    stream,
    group,
    own,
    keep: (r) => js.publish(s.kept, encode(r)).then(() => undefined),
    removeOwn: () =>
      jsm.consumers.delete(stream, ownName).then(
        () => undefined,
        () => undefined,
      ),
  };
}
