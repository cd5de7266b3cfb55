/**
 * NATS triggers' transport on one connection: core subscriptions, and durable JetStream pull consumers (explicit
 * acks; the trigger acknowledges a message once its run is stored). The daemon attaches it to its engine when the
 * NATS edge connects (`engine.attachTriggerTransport`); a library process can do the same with its own connection.
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { NotFoundError } from '../../errors.js';
import type { TriggerHandler, TriggerListening, TriggerTransport } from '../../actors/triggers/transport.js';

function headersOf(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of h) out[k] = v.join(', ');
  return out;
}

/**
 * A {@link TriggerTransport} over `nc`.
 *
 * @example
 * engine.attachTriggerTransport(natsTriggerTransport(nc));
 */
export function natsTriggerTransport(nc: NatsConnection): TriggerTransport {
  return {
    description: `NATS ${nc.getServer()}`,
    subscribe(subject: string, handler: TriggerHandler): TriggerListening {
      const sub = nc.subscribe(subject, {
        callback: (err, msg: Msg) => {
          if (err) return;
          void handler({
            subject: msg.subject,
            data: msg.data,
            headers: headersOf(msg.headers),
            ack: () => undefined,
            nak: () => undefined,
          });
        },
      });
      return { stop: () => sub.unsubscribe() };
    },
    async consume(options, handler) {
      const jsm = await jetstreamManager(nc);
      let stream: string;
      if (options.stream === true) {
        try {
          stream = await jsm.streams.find(options.subject);
        } catch (err) {
          throw new NotFoundError(
            `no JetStream stream holds the subject "${options.subject}"; create one (e.g. nats stream add) or name it with source.stream`,
            { cause: err },
          );
        }
      } else {
        stream = options.stream;
        try {
          await jsm.streams.info(stream);
        } catch (err) {
          throw new NotFoundError(
            `no JetStream stream named "${stream}"; create it first (its subjects must cover "${options.subject}")`,
            { cause: err },
          );
        }
      }
      try {
        await jsm.consumers.info(stream, options.durable);
      } catch {
        await jsm.consumers.add(stream, {
          durable_name: options.durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: options.subject,
          max_ack_pending: 10_000,
        });
      }
      const consumer = await jetstream(nc).consumers.get(stream, options.durable);
      const messages = await consumer.consume({ max_messages: 1000 });
      void (async () => {
        for await (const m of messages as AsyncIterable<JsMsg>) {
          void handler({
            subject: m.subject,
            data: m.data,
            headers: headersOf(m.headers),
            stream,
            seq: m.seq,
            ack: () => m.ack(),
            nak: () => m.nak(),
          });
        }
      })().catch(() => undefined);
      return { stream, stop: () => void messages.close().catch(() => undefined) };
    },
  };
}
