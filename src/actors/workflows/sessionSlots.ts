/**
 * Sessions' workflow slots: a session runs at most `maxParallelWorkflows` top-level runs at once, and the runs past
 * that wait for a slot in the order they came. A child run runs inside its parent's slot (waiting for a slot of its
 * own could wait forever); a run without a session takes no slot.
 */
import type { RunLineage } from '../../model/run.js';

/** A run as the slots see it. */
export interface SlotRun {
  readonly sessionId: string | null;
  readonly lineage: RunLineage;
  start(): unknown;
}

interface Slots<R> {
  max: number;
  active: number;
  waiting: R[];
}

export class SessionSlots<R extends SlotRun> {
  readonly #sessions = new Map<string, Slots<R>>();

  /** Sets a session's workflow limit (the session component calls this when it creates a session). */
  configure(sessionId: string, max: number): void {
    const s = this.#sessions.get(sessionId);
    if (s) s.max = max;
    else this.#sessions.set(sessionId, { max, active: 0, waiting: [] });
  }

  has(sessionId: string): boolean {
    return this.#sessions.has(sessionId);
  }

  /** Forgets a session: its waiting runs no longer wait for a slot (the caller cancels them). */
  close(sessionId: string): void {
    const s = this.#sessions.get(sessionId);
    this.#sessions.delete(sessionId);
    if (s) s.waiting.length = 0;
  }

  /** Starts a run now if its session has a free slot (or it needs none), else queues it for the next one. */
  go(run: R): void {
    const session = this.#slotsOf(run);
    if (session && session.active >= session.max) session.waiting.push(run);
    else {
      if (session) session.active++;
      void run.start();
    }
  }

  /** A run that was running before a restart holds its slot again (its end frees it). */
  hold(run: R): void {
    const session = this.#slotsOf(run);
    if (session) session.active++;
  }

  /** A run ended: its slot goes to the next run waiting in its session. */
  release(run: R): void {
    const session = this.#slotsOf(run);
    if (!session) return;
    session.active--;
    const next = session.waiting.shift();
    if (next) {
      session.active++;
      void next.start();
    }
  }

  /** A run no longer waits for a slot (it was cancelled). */
  drop(run: R): void {
    for (const s of this.#sessions.values()) {
      const i = s.waiting.indexOf(run);
      if (i >= 0) s.waiting.splice(i, 1);
    }
  }

  #slotsOf(run: R): Slots<R> | undefined {
    return run.sessionId !== null && !run.lineage.parentRunId ? this.#sessions.get(run.sessionId) : undefined;
  }
}
