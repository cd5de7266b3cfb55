/**
 * When the group committer's next commit goes, adapting to load. At the end of the event-loop turn that asked for
 * it, the commit goes at once when somebody waits for it (an ack, a task held for its row), when `maxBatch` changes
 * wait, or when no window is set; otherwise the changes wait for a window (`delayMs`, or `unawaitedDelayMs` when
 * longer) to share a later commit, and go as soon as somebody starts waiting. While a commit is in flight (the
 * writer is busy) everything asked for meanwhile waits for its answer and goes together in the next one; while the
 * store fails, the retry commits. So a lone change somebody waits for never waits for a window, and batches form
 * only under load.
 */

type Timer = ReturnType<typeof setTimeout>;

/** The delays of a {@link CommitTimer} (see `GroupCommitterOptions`). */
export interface CommitDelays {
  delayMs: number;
  maxBatch: number;
  unawaitedDelayMs: number;
}

/** What the timer asks of the group committer. */
export interface CommitTimerHost {
  /** Commits what is waiting, now. */
  flush(): void;
  /** Somebody waits for the next commit: an ack, or a source holding something until it is written. */
  awaited(): boolean;
  /** No commit may start now: the store is failing (its retry commits) or one is in flight (its answer does). */
  held(): boolean;
}

/** The timers of the next commit, and how many changes asked for it. */
export class CommitTimer {
  readonly #delays: CommitDelays;
  readonly #host: CommitTimerHost;
  /** A commit is asked for (due, held back, or waiting for the one in flight). */
  #scheduled = false;
  /** The end of the turn that asked: where the committer decides whether to commit now or wait. */
  #turnEnd: ReturnType<typeof setImmediate> | null = null;
  /** The commit of changes nobody waits on, due at the end of its window unless somebody starts waiting first. */
  #window: Timer | null = null;
  #pending = 0;

  constructor(delays: CommitDelays, host: CommitTimerHost) {
    this.#delays = delays;
    this.#host = host;
  }

  /** Changes asked for a commit since the last one started. */
  get pending(): number {
    return this.#pending;
  }

  /** A commit is held back only because nobody waits for it. */
  get lazy(): boolean {
    return this.#window !== null;
  }

  /** One more change asks for a commit. Cheap: at most one check per event-loop turn. */
  request(): void {
    this.#pending++;
    this.#scheduled = true;
    // While the store fails, the retry timer commits: no commit per change against a broken disk. While a commit
    // is in flight, its answer starts the next one.
    if (this.#host.held()) return;
    this.#turnEnd ??= setImmediate(this.#atTurnEnd);
  }

  /** A commit was asked for while one is in flight: the answer to that one starts it. */
  queued(): void {
    this.#pending++;
    this.#scheduled = true;
  }

  /** A commit starts: everything asked for so far goes with it. */
  started(): void {
    this.stop();
    this.#scheduled = false;
    this.#pending = 0;
  }

  /**
   * After a commit, when changes or acks wait: those that waited for a commit in flight (`now`) are decided on at
   * once (they have waited); others are asked for.
   */
  resume(now: boolean): void {
    if (now) {
      if (!this.#turnEnd) this.#decide();
      return;
    }
    if (!this.#scheduled) {
      this.#pending--;
      this.request();
    }
  }

  /** Cancels every timer. */
  stop(): void {
    if (this.#turnEnd) clearImmediate(this.#turnEnd);
    if (this.#window) clearTimeout(this.#window);
    this.#turnEnd = null;
    this.#window = null;
  }

  readonly #atTurnEnd = (): void => {
    this.#turnEnd = null;
    this.#decide();
  };

  /**
   * Commits now when somebody waits (the writer is idle: nothing is in flight), when `maxBatch` changes wait, or
   * when there is no window; else opens the window, once: the commit goes at its end, or earlier if somebody starts
   * waiting (the next turn's check).
   */
  #decide(): void {
    const d = this.#delays;
    const window = Math.max(d.delayMs, d.unawaitedDelayMs);
    if (window === 0 || this.#pending >= d.maxBatch || this.#host.awaited()) {
      this.#host.flush();
      return;
    }
    this.#window ??= setTimeout(this.#windowEnd, window);
  }

  readonly #windowEnd = (): void => {
    this.#window = null;
    this.#host.flush();
  };
}
