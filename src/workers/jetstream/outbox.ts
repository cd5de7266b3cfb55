/**
 * The daemon's outgoing work, several attempts per JetStream message: attempts the scheduler starts in one turn for
 * the same subject (a worker group, or one worker) leave together, up to {@link MAX_WORK_BATCH} per message, once
 * the turn ends (a microtask: a lone attempt waits for nothing). One publish, one stream write and one pull then
 * carry what used to take one each per attempt.
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { WorkMessage } from './protocol.js';
import { encode } from './protocol.js';

/** Most attempts in one work message. */
export const MAX_WORK_BATCH = 64;

/** What the outbox needs of an attempt: whether it ended before it left, and where its message went. */
export interface OutgoingAttempt {
  readonly done: boolean;
  readonly startedOn: string | null;
  seq: number | null;
  /** Its message carries other attempts too: removing it from the stream would remove them. */
  batched: boolean;
}

export interface OutboxHooks<A extends OutgoingAttempt> {
  /** Every attempt of a message that could not be published. */
  failed(attempt: A, err: Error): void;
  /** A message whose attempts all ended before any worker took it (removed from the stream). */
  orphaned(seq: number): void;
  /** A message is on its way (counted: attempts per message is the batching). */
  sent(attempts: number): void;
}

export class WorkOutbox<A extends OutgoingAttempt> {
  readonly #boxes = new Map<string, { subject: string; own: string; msgs: WorkMessage[]; attempts: A[] }>();
  readonly #hooks: OutboxHooks<A>;
  #queued = false;
  #js: JetStreamClient | null = null;

  constructor(hooks: OutboxHooks<A>) {
    this.#hooks = hooks;
  }

  attach(js: JetStreamClient): void {
    this.#js = js;
  }

  /**
   * Queues an attempt for `subject`, reserved on the worker whose own subject is `own`; it leaves at the end of this
   * turn. Several for one worker leave as one message on its own subject: on the group's, a worker with one free
   * slot could take a batch reserved for another with room for all of it.
   */
  add(subject: string, msg: WorkMessage, attempt: A, own: string = subject): void {
    const key = `${subject}\n${own}`;
    let box = this.#boxes.get(key);
    if (!box) this.#boxes.set(key, (box = { subject, own, msgs: [], attempts: [] }));
    box.msgs.push(msg);
    box.attempts.push(attempt);
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#queued = false;
    const js = this.#js;
    for (const box of this.#boxes.values()) {
      // Ended before leaving (killed in the same turn): not sent.
      const keep = box.attempts.map((a) => !a.done);
      const msgs = box.msgs.filter((_, i) => keep[i]);
      const attempts = box.attempts.filter((_, i) => keep[i]);
      const subject = msgs.length > 1 ? box.own : box.subject;
      for (let i = 0; i < msgs.length; i += MAX_WORK_BATCH)
        this.#publish(js, subject, msgs.slice(i, i + MAX_WORK_BATCH), attempts.slice(i, i + MAX_WORK_BATCH));
    }
    this.#boxes.clear();
  }

  #publish(js: JetStreamClient | null, subject: string, msgs: WorkMessage[], attempts: A[]): void {
    const first = msgs[0];
    if (!first) return;
    if (!js) {
      for (const a of attempts) this.#hooks.failed(a, new Error('not connected to NATS'));
      return;
    }
    const one = msgs.length === 1;
    if (!one) for (const a of attempts) a.batched = true;
    this.#hooks.sent(msgs.length);
    // The msgID lets JetStream drop a duplicate publish (a retry after a lost ack).
    js.publish(subject, encode(one ? first : { batch: msgs }), {
      msgID: one ? first.dispatch : `${first.dispatch}+${msgs.length}`,
    }).then(
      (ack: PubAck) => {
        for (const a of attempts) a.seq = ack.seq;
        // Every attempt in it ended (killed) before the publish was acknowledged: out of the stream now.
        if (attempts.every((a) => a.done && !a.startedOn)) this.#hooks.orphaned(ack.seq);
      },
      (err: unknown) => {
        for (const a of attempts) this.#hooks.failed(a, err instanceof Error ? err : new Error(String(err)));
      },
    );
  }
}
