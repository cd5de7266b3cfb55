/**
 * When the group committer's next commit goes: at the end of the event-loop turn that asked for it (or after
 * `delayMs`, or at the next turn once `maxBatch` changes wait); while a commit is in flight or the store fails,
 * the answer or the retry starts it instead; and, with `unawaitedDelayMs`, a commit nobody waits on is held up to
 * that long for one somebody does wait on, so both ride one commit.
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
  #immediate: ReturnType<typeof setImmediate> | null = null;
  #timer: Timer | null = null;
  /** The commit of changes nobody waits on, due after `unawaitedDelayMs` unless one somebody waits on comes first. */
  #lazyTimer: Timer | null = null;
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
    return this.#lazyTimer !== null;
  }

  /** One more change asks for a commit within the delay bound. Cheap when one is already due. */
  request(): void {
    this.#pending++;
    if (this.#scheduled) {
      // Held back because nobody waited: see at the end of this turn whether somebody does now.
      if (this.#lazyTimer && !this.#immediate && !this.#timer) this.#immediate = setImmediate(this.#run);
      if (this.#timer && this.#pending >= this.#delays.maxBatch) {
        clearTimeout(this.#timer);
        this.#timer = null;
        this.#immediate = setImmediate(this.#run);
      }
      return;
    }
    this.#scheduled = true;
    // While the store fails, the retry timer commits: no commit per change against a broken disk. While a commit
    // is in flight, its answer starts the next one.
    if (this.#host.held()) return;
    if (this.#delays.delayMs === 0) this.#immediate = setImmediate(this.#run);
    else this.#timer = setTimeout(this.#run, this.#delays.delayMs);
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
   * After a commit, when changes or acks wait: those that waited for a commit in flight (`now`) go at once, unless
   * nobody waits for them and `unawaitedDelayMs` lets them wait for a commit somebody does; others are asked for.
   */
  resume(now: boolean): void {
    if (now) {
      if (!this.#immediate && !this.#timer) this.#run();
      return;
    }
    if (!this.#scheduled) {
      this.#pending--;
      this.request();
    }
  }

  /** Cancels every timer. */
  stop(): void {
    if (this.#immediate) clearImmediate(this.#immediate);
    for (const t of [this.#timer, this.#lazyTimer]) if (t) clearTimeout(t);
    this.#immediate = null;
    this.#timer = null;
    this.#lazyTimer = null;
  }

  readonly #run = (): void => {
    this.#immediate = null;
    this.#timer = null;
    const d = this.#delays;
    if (d.unawaitedDelayMs > 0 && this.#pending < d.maxBatch && !this.#host.awaited()) {
      this.#lazyTimer ??= setTimeout(this.#lazyRun, d.unawaitedDelayMs);
      return;
    }
    this.#host.flush();
  };

  readonly #lazyRun = (): void => {
    this.#lazyTimer = null;
    this.#host.flush();
  };
}
