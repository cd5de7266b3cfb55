/**
 * One attempt on a remote worker, as the JetStream runner (`runner.ts`) tracks it: where its message went (stream sequence,
 * alone or in a batch), the worker it was reserved on and the one that took it, and how a cancel reaches it (an
 * `abort` or `kill` on the cancel subject; a kill the worker does not confirm is settled by the daemon).
 */
import type { AttemptHooks, AttemptRequest, RunningAttempt } from '../runner.js';
import type { WorkerReply } from '../protocol.js';
import type { CancelMessage } from './protocol.js';

/** After a kill, how long the worker gets to confirm before the daemon settles the attempt itself. */
const KILL_CONFIRM_MS = 3000;

/** What an attempt asks of its runner (`JetStreamRunner`): to reach its worker, and to give it up. */
export interface AttemptOwner {
  sendCancel(message: CancelMessage): void;
  /** Removes a message nobody took from the work stream. */
  deleteWork(seq: number): Promise<void>;
  /** Settles an attempt the daemon itself gave up on; a later result is late. */
  giveUp(a: JetStreamAttempt, message: string, code: 'killed' | 'lost'): void;
  /** The daemon stops keeping the attempt (it runs on where it is). */
  leave(a: JetStreamAttempt): void;
}

/** One attempt on a remote worker. */
export class JetStreamAttempt implements RunningAttempt {
  readonly reply: Promise<WorkerReply>;
  resolve!: (reply: WorkerReply) => void;
  readonly runner: AttemptOwner;
  readonly dispatch: string;
  readonly req: AttemptRequest;
  readonly hooks: AttemptHooks;
  /** Stream sequence of its message, once published. */
  seq: number | null = null;
  /** Its message carries other attempts too. */
  batched = false;
  /** The worker it was reserved on (id), and the one that took it. */
  workerId: string | null = null;
  startedOn: string | null = null;
  /** The name of the worker running it (the reserved one until another took it). */
  worker: string | undefined = undefined;
  done = false;
  /** The worker (id) holding a result of this task from an earlier daemon run: nothing is published meanwhile. */
  parkedOn: string | null = null;
  /** Published, then called back for a held result: it is not published again under this dispatch id. */
  calledBack = false;
  /** The daemon asked it to stop (cancel, timeout). */
  killing = false;
  #killTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(runner: AttemptOwner, dispatch: string, req: AttemptRequest, hooks: AttemptHooks) {
    this.runner = runner;
    this.dispatch = dispatch;
    this.req = req;
    this.hooks = hooks;
    this.reply = new Promise<WorkerReply>((resolve) => {
      this.resolve = (r) => {
        if (this.done) return;
        this.done = true;
        if (this.#killTimer) clearTimeout(this.#killTimer);
        resolve(r);
      };
    });
  }

  abort(reason: string): boolean {
    if (!this.req.channel || this.done) return false;
    this.killing = true;
    this.runner.sendCancel({ dispatch: this.dispatch, kind: 'abort', reason });
    return true;
  }

  kill(): void {
    if (this.done || this.#killTimer) return;
    this.killing = true;
    this.runner.sendCancel({ dispatch: this.dispatch, kind: 'kill', reason: 'cancelled' });
    if (!this.startedOn && (this.seq !== null || this.parkedOn !== null)) {
      // Nobody took it yet (or it waits for a held result): out of the stream (unless its message carries others:
      // the worker skips it, as told by the kill), and settled now.
      if (!this.batched && this.seq !== null) void this.runner.deleteWork(this.seq);
      this.runner.giveUp(this, `task "${this.req.name}" was stopped before a worker took it`, 'killed');
      return;
    }
    // The worker terminates the thread and reports; if it cannot be reached, the daemon decides.
    this.#killTimer = setTimeout(
      () =>
        this.runner.giveUp(
          this,
          `task "${this.req.name}" was stopped; its worker did not confirm within ${KILL_CONFIRM_MS} ms`,
          'killed',
        ),
      KILL_CONFIRM_MS,
    );
    this.#killTimer.unref();
  }

  close(): void {
    if (this.#killTimer) clearTimeout(this.#killTimer);
    this.#killTimer = null;
  }

  leave(): void {
    if (this.done || this.killing) return;
    this.runner.leave(this);
  }
}
