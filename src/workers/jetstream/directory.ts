/**
 * The daemon's view of its remote workers: who announced itself, what each serves (modules, tags), how many
 * attempts the daemon has in flight on each (never more than its capacity: threads × tasks per thread), and who stopped heartbeating (lost).
 */
import { RecentMap } from '../../model/recentMap.js';
import type { PlacementQuery } from '../runner.js';
import { LOCAL_WORKER } from '../runner.js';
import type { WorkerInfo, WorkerView } from './protocol.js';

export interface KnownWorker {
  info: WorkerInfo;
  lastSeen: number;
  state: 'live' | 'lost';
  /** Dispatches the daemon has in flight on it (published to its group and reserved here, or started by it). */
  readonly inFlight: Set<string>;
}

export type Choice = { worker: KnownWorker } | { why: string };

/**
 * How an attempt ended on a worker, as counted per worker: `completed` (the action returned), `failed` (it threw),
 * `crashed` (its thread died), `stopped` (cancelled or timed out, and the daemon settled it), `lost` (its worker
 * stopped heartbeating or left while it ran).
 */
export type WorkerOutcome = 'completed' | 'failed' | 'crashed' | 'stopped' | 'lost';
export const WORKER_OUTCOMES: readonly WorkerOutcome[] = ['completed', 'failed', 'crashed', 'stopped', 'lost'];

/**
 * Workers counted by name, at least: past this, the names counted least lately are forgotten (each worker restart is a
 * new name by default).
 */
const TALLY_MAX = 1000;

/** Attempts ended per worker name and outcome, since the daemon started (`local`: the daemon's own threads). */
export class WorkerTally {
  readonly #counts = new RecentMap<string, Record<WorkerOutcome, number>>(TALLY_MAX);

  count(worker: string, outcome: WorkerOutcome): void {
    const c = this.#counts.get(worker) ?? { completed: 0, failed: 0, crashed: 0, stopped: 0, lost: 0 };
    c[outcome]++;
    // Set on each count: a worker that keeps working stays counted.
    this.#counts.set(worker, c);
  }

  of(worker: string): Readonly<Record<WorkerOutcome, number>> | undefined {
    return this.#counts.get(worker);
  }

  entries(): IterableIterator<[string, Readonly<Record<WorkerOutcome, number>>]> {
    return this.#counts.entries();
  }
}

/** Sticky keys remembered, at least: past this, the bindings made least lately are forgotten. */
const STICKY_MAX = 10_000;

/**
 * Sticky runs: an affinity key (a run's id) → the worker its first attempt went to, by worker id
 * (`LOCAL_WORKER` for the daemon's own threads). A binding moves only when its worker is gone.
 */
export class StickyBindings {
  readonly #bound = new RecentMap<string, string>(STICKY_MAX);

  get(key: string): string | undefined {
    return this.#bound.get(key);
  }

  /** Binds `key` to `worker` (a first attempt, or its worker was lost); the oldest bindings go past the bound. */
  bind(key: string, worker: string): void {
    this.#bound.set(key, worker);
  }
}

export class WorkerDirectory {
  readonly workers = new Map<string, KnownWorker>();
  readonly tally = new WorkerTally();
  readonly sticky = new StickyBindings();

  /** A heartbeat: true when the worker is new (or back after being lost). */
  heartbeat(info: WorkerInfo, now: number): boolean {
    const known = this.workers.get(info.id);
    if (known) {
      const back = known.state === 'lost';
      known.info = info;
      known.lastSeen = now;
      known.state = 'live';
      return back;
    }
    this.workers.set(info.id, { info, lastSeen: now, state: 'live', inFlight: new Set() });
    return true;
  }

  /** Marks as lost every live worker not heard from for `lostAfterMs`; returns them. */
  sweep(now: number, lostAfterMs: number): KnownWorker[] {
    const lost: KnownWorker[] = [];
    for (const w of this.workers.values()) {
      if (w.state === 'live' && now - w.lastSeen > lostAfterMs) {
        w.state = 'lost';
        lost.push(w);
      }
    }
    // Lost ones are kept for the listing for a while, then forgotten.
    for (const [id, w] of this.workers)
      if (w.state === 'lost' && w.inFlight.size === 0 && now - w.lastSeen > lostAfterMs * 20) this.workers.delete(id);
    return lost;
  }

  live(): KnownWorker[] {
    return [...this.workers.values()].filter((w) => w.state === 'live');
  }

  /** Slots free on live workers, summed. */
  free(): number {
    let n = 0;
    for (const w of this.workers.values()) if (w.state === 'live') n += Math.max(0, w.info.capacity - w.inFlight.size);
    return n;
  }

  capacity(): number {
    let n = 0;
    for (const w of this.workers.values()) if (w.state === 'live') n += w.info.capacity;
    return n;
  }

  /**
   * The worker a sticky task is bound to, while it is live and serves the task; null when the task is not sticky,
   * not bound yet, or its worker is gone (it may go anywhere, and is bound again where it starts).
   */
  boundWorker(q: PlacementQuery): KnownWorker | null {
    if (q.affinity === undefined) return null;
    const id = this.sticky.get(q.affinity);
    const w = id === undefined ? undefined : this.workers.get(id);
    return w && w.state === 'live' && serves(w, q) ? w : null;
  }

  /**
   * The live worker with the most free slots that serves the task, or why there is none. A sticky task bound to
   * a live worker that serves it goes there, or waits for it.
   */
  choose(q: PlacementQuery): Choice {
    const bound = this.boundWorker(q);
    if (bound)
      return bound.info.capacity - bound.inFlight.size > 0
        ? { worker: bound }
        : {
            why: `its run sticks to worker "${bound.info.name}", which is busy (${bound.inFlight.size} of ${bound.info.capacity})`,
          };
    const live = this.live();
    if (live.length === 0)
      return { why: 'no remote worker is connected (start one with `codomyrmex worker --nats URL`)' };
    const withModule = live.filter((w) => w.info.modules.includes(q.module));
    if (withModule.length === 0)
      return {
        why: `no connected worker has module "${q.module}" (${live.map((w) => `${w.info.name}: ${w.info.modules.length} modules`).join('; ')})`,
      };
    const fits = withModule.filter((w) => q.tags.every((t) => w.info.tags.includes(t)));
    if (fits.length === 0) {
      return {
        why: `no connected worker with module "${q.module}" has the tags ${q.tags.join(', ')} (${withModule.map((w) => `${w.info.name}: ${w.info.tags.join(',') || 'no tags'}`).join('; ')})`,
      };
    }
    let best: KnownWorker | null = null;
    for (const w of fits)
      if (
        w.info.capacity - w.inFlight.size > 0 &&
        (!best || w.info.capacity - w.inFlight.size > best.info.capacity - best.inFlight.size)
      )
        best = w;
    if (best) return { worker: best };
    return {
      why: `every worker that can run it is busy (${fits.map((w) => `${w.info.name}: ${w.inFlight.size} of ${w.info.capacity}`).join('; ')})`,
    };
  }

  /** Binds a sticky task's key to the worker it starts on, unless it is bound to a worker that is still live. */
  stick(affinity: string | undefined, workerId: string): void {
    if (affinity === undefined) return;
    const id = this.sticky.get(affinity);
    if (id === workerId || id === LOCAL_WORKER) return;
    if (id !== undefined && this.workers.get(id)?.state === 'live') return;
    this.sticky.bind(affinity, workerId);
  }

  /** Moves a dispatch to the worker that took it (another worker of the group than the one reserved). */
  move(dispatch: string, to: string): KnownWorker | null {
    for (const w of this.workers.values()) if (w.info.id !== to) w.inFlight.delete(dispatch);
    const target = this.workers.get(to);
    target?.inFlight.add(dispatch);
    return target ?? null;
  }

  release(dispatch: string): void {
    for (const w of this.workers.values()) w.inFlight.delete(dispatch);
  }

  views(now: number): WorkerView[] {
    return [...this.workers.values()].map((w) => {
      const t = this.tally.of(w.info.name);
      return {
        id: w.info.id,
        name: w.info.name,
        host: w.info.host,
        pid: w.info.pid,
        tags: w.info.tags,
        modules: w.info.modules,
        threads: w.info.threads,
        capacity: w.info.capacity,
        version: w.info.version,
        group: w.info.group,
        state: w.state,
        inFlight: w.inFlight.size,
        running: w.info.running,
        lastSeenMs: now - w.lastSeen,
        startedAt: w.info.startedAt,
        tasksCompleted: t?.completed ?? 0,
        tasksFailed: t ? t.failed + t.crashed + t.stopped + t.lost : 0,
      };
    });
  }
}

/** The worker has the task's module and every one of its tags. */
function serves(w: KnownWorker, q: PlacementQuery): boolean {
  return w.info.modules.includes(q.module) && q.tags.every((t) => w.info.tags.includes(t));
}
