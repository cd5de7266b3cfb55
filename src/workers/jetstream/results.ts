/**
 * A worker's results on their way to the daemon: those that end in the same turn leave together (one request with a
 * `{ batch }`, answered with `{ acks }` once the daemon has committed them), and each is sent again until the daemon
 * answers: every ~5 s, and at once when a (restarted) daemon says hello. When the worker stops, what is still
 * unanswered can be kept in the stream for the next daemon.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { ResultAck, ResultMessage } from './protocol.js';
import { encode } from './protocol.js';
import { decodeAs } from './schemas.js';

/** How long one result request waits for the daemon's answer before it is sent again. */
export const RESULT_TIMEOUT_MS = 5000;
/** Most results in one request. */
const MAX_RESULT_BATCH = 256;

interface Pending {
  readonly result: ResultMessage;
  done: boolean;
  tries: number;
  timer: ReturnType<typeof setTimeout> | null;
  finish(ack: ResultAck | null): void;
}

export class ResultReporter {
  readonly #connection: () => NatsConnection | null;
  readonly #subject: string;
  readonly #log: Logger;
  readonly #unanswered = new Map<string, Pending>();
  /** The same results by task id (the latest per task). */
  readonly #byTask = new Map<string, Pending>();
  #out: Pending[] = [];
  #queued = false;

  constructor(connection: () => NatsConnection | null, subject: string, log: Logger) {
    this.#connection = connection;
    this.#subject = subject;
    this.#log = log;
  }

  /** Results sent and not answered yet. */
  get unanswered(): number {
    return this.#unanswered.size;
  }

  /** Sends a result until the daemon answers; resolves with its answer, or null when the connection closed for good. */
  report(result: ResultMessage): Promise<ResultAck | null> {
    return new Promise<ResultAck | null>((resolve) => {
      const p: Pending = {
        result,
        done: false,
        tries: 0,
        timer: null,
        finish: (ack) => {
          if (p.done) return;
          p.done = true;
          if (p.timer) clearTimeout(p.timer);
          this.#unanswered.delete(result.dispatch);
          if (this.#byTask.get(result.taskId) === p) this.#byTask.delete(result.taskId);
          resolve(ack);
        },
      };
      this.#unanswered.set(result.dispatch, p);
      this.#byTask.set(result.taskId, p);
      this.#send(p);
    });
  }

  /** The tasks whose results wait for the daemon's answer (at most `max`), for the heartbeat. */
  holding(max: number): string[] {
    const out: string[] = [];
    for (const taskId of this.#byTask.keys()) {
      if (out.length >= max) break;
      out.push(taskId);
    }
    return out;
  }

  /**
   * When this worker holds an unanswered result of an earlier dispatch of `taskId` (a restarted daemon dispatched
   * it again), sends that result again now and says true: the daemon applies it to its new dispatch.
   */
  resendEarlier(taskId: string, dispatch: string): boolean {
    const p = this.#byTask.get(taskId);
    if (!p || p.result.dispatch === dispatch) return false;
    this.#enqueue(p);
    return true;
  }

  /** Sends every unanswered result again now (a daemon said hello). */
  resendAll(): void {
    for (const p of this.#unanswered.values()) this.#enqueue(p);
  }

  /** Puts every unanswered result in `keep` (the kept stream); each one kept counts as answered. */
  async keepUnanswered(keep: (result: ResultMessage) => Promise<void>): Promise<void> {
    for (const p of [...this.#unanswered.values()]) {
      try {
        await keep(p.result);
        this.#log.info({ taskId: p.result.taskId, dispatch: p.result.dispatch }, 'result kept for the next daemon');
        p.finish({ accepted: true });
      } catch (err) {
        this.#log.warn(
          { taskId: p.result.taskId, err: (err as Error).message },
          'could not keep a result: the task runs again when a daemon dispatches it',
        );
      }
    }
  }

  #send(p: Pending): void {
    if (p.done) return;
    p.tries++;
    if (p.tries === 2 || (p.tries > 2 && p.tries % 20 === 1))
      this.#log.warn(
        { taskId: p.result.taskId, tries: p.tries - 1 },
        'the daemon did not answer a result; sending it again',
      );
    this.#enqueue(p);
    p.timer = setTimeout(() => this.#send(p), RESULT_TIMEOUT_MS + 500);
  }

  #enqueue(p: Pending): void {
    this.#out.push(p);
    if (this.#queued) return;
    this.#queued = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#queued = false;
    const out = [...new Set(this.#out.filter((p) => !p.done))];
    this.#out = [];
    const nc = this.#connection();
    if (!nc || nc.isClosed()) {
      for (const p of out) p.finish(null);
      return;
    }
    for (let i = 0; i < out.length; i += MAX_RESULT_BATCH) {
      const group = out.slice(i, i + MAX_RESULT_BATCH);
      const one = group.length === 1 ? group[0] : undefined;
      nc.request(this.#subject, encode(one ? one.result : { batch: group.map((p) => p.result) }), {
        timeout: RESULT_TIMEOUT_MS,
      }).then(
        (reply) => {
          let answer: ResultAck | { acks: ResultAck[] };
          try {
            answer = decodeAs('ack', reply.data);
          } catch (err) {
            // Not the daemon's answer (a stray responder): each is sent again by its timer.
            this.#log.warn({ err: (err as Error).message }, 'bad answer to a result, ignored');
            return;
          }
          if (one) return one.finish('acks' in answer ? (answer.acks[0] ?? null) : answer);
          const acks = 'acks' in answer ? answer.acks : [];
          group.forEach((p, j) => p.finish(acks[j] ?? null));
        },
        // No daemon, or no answer in time: each is sent again by its timer.
        () => undefined,
      );
    }
  }
}
