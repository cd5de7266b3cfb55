/**
 * Kept results, on the daemon's side: a worker that stopped while no daemon answered put its unanswered results in
 * the stream `<PREFIX>_KEPT`. The daemon reads those there are when it attaches (before any task is dispatched
 * again), then follows the stream while attached; each message is acked once its result is answered, and a
 * malformed one is dropped.
 */
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { HELD_MS } from './dispatches.js';
import type { ResultMessage } from './protocol.js';
import { ensureWorkQueue, keptStreamName } from './protocol.js';
import { decodeAs } from './schemas.js';

/** Reads and then follows the kept results of `prefix`, handing each to `take` with the ack to call once answered. */
export async function followKept(
  js: JetStreamClient,
  jsm: JetStreamManager,
  o: { prefix: string; subject: string; log: Logger; take: (result: ResultMessage, ack: () => void) => void },
): Promise<{ stop(): void }> {
  const { AckPolicy } = await import('@nats-io/jetstream');
  const stream = keptStreamName(o.prefix);
  await ensureWorkQueue(jsm, stream, o.subject);
  const durable = 'daemon';
  // Longer than a held result waits for its task, so a kept result is not handed out twice meanwhile.
  const config = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: (HELD_MS + 60_000) * 1_000_000,
    max_deliver: -1,
  };
  await jsm.consumers.info(stream, durable).catch(() => jsm.consumers.add(stream, config));
  const consumer = await js.consumers.get(stream, durable);
  const take = (msg: JsMsg): void => {
    try {
      const kept = decodeAs('result', msg.data);
      if ('batch' in kept) throw new Error('a kept result is one result, not a batch');
      o.take(kept, () => msg.ack());
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'bad kept result, dropped');
      msg.term();
    }
  };
  for (let pending = (await consumer.info()).num_pending; pending > 0; pending--) {
    const msg = await consumer.next({ expires: 1000 });
    if (!msg) break;
    take(msg);
  }
  return consumer.consume({ callback: take });
}
