/**
 * What the daemon hears from its remote workers on core NATS: each message parsed by its schema (`schemas.ts`; a
 * malformed one is logged and ignored), batches split into their items, and the acks of a batch of results gathered
 * into one answer once every one of them is answered.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type {
  ProgressMessage,
  RemoteSubjects,
  ResultAck,
  ResultMessage,
  StartedMessage,
  WorkerInfo,
  WorkerView,
} from './protocol.js';
import { encode } from './protocol.js';
import { decodeAs } from './schemas.js';

/** What the daemon does with each message. */
export interface InboxHandlers {
  heartbeat(info: WorkerInfo): void;
  bye(workerId: string): void;
  started(message: StartedMessage): void;
  /** A result; `answer` is called once its outcome is committed (or refused). */
  result(message: ResultMessage, answer: (ack: ResultAck) => void): void;
  progress(message: ProgressMessage): void;
  /** `workers list`. */
  list(): WorkerView[];
}

/** Subscribes to the workers' subjects; the subscriptions are returned for unsubscribing. */
export function listenToWorkers(nc: NatsConnection, s: RemoteSubjects, h: InboxHandlers, log: Logger): Subscription[] {
  const on = (subject: string, fn: (msg: Msg) => void): Subscription =>
    nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        try {
          fn(msg);
        } catch (e) {
          log.warn({ subject, err: (e as Error).message }, 'bad message from a worker, ignored');
        }
      },
    });
  return [
    on(s.heartbeat, (m) => h.heartbeat(decodeAs('workerInfo', m.data))),
    on(s.bye, (m) => h.bye(decodeAs('bye', m.data).id)),
    on(s.started, (m) => {
      const p = decodeAs('started', m.data);
      if ('batch' in p) for (const one of p.batch) h.started(one);
      else h.started(p);
    }),
    on(s.result, (m) => {
      const p = decodeAs('result', m.data);
      if (!('batch' in p)) return h.result(p, (ack) => (m.reply ? m.respond(encode(ack)) : undefined));
      // Results in a batch: one answer with every ack, once each is committed (or refused).
      const acks = new Array<ResultAck | undefined>(p.batch.length);
      let left = p.batch.length;
      p.batch.forEach((one, i) =>
        h.result(one, (ack) => {
          if (acks[i] !== undefined) return;
          acks[i] = ack;
          if (--left === 0 && m.reply) m.respond(encode({ acks }));
        }),
      );
    }),
    on(s.progress, (m) => h.progress(decodeAs('progress', m.data))),
    on(s.list, (m) => m.respond(encode({ workers: h.list() }))),
  ];
}
