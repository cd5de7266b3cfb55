/**
 * `codomyrmex bench --nats URL`: the bench's tasks run by a daemon (and its workers) instead of an engine in this
 * process. Each task is submitted on its own (`task.submit`, `concurrency` in flight) with an id chosen here, and
 * its end is the daemon's end event for that id, listened for before anything is submitted; should an event be
 * lost, a bounded `task.wait_for` asks for it. Queue wait is what the daemon reports (`task_started.queuedMs`).
 */
import { randomUUID } from 'node:crypto';
import type { Subscription } from 'rxjs';
import type { EventName } from '../../bus/protocol.js';
import type { NatsBus } from '../../bus/nats.js';
import type { RemoteEngine } from '../nats/client.js';
import { DEFAULT_WAIT_MS } from '../nats/client.js';
import type { BenchPath, RemoteCapacity } from './benchStats.js';
import { drive, summarise } from './benchStats.js';

const END_EVENTS: EventName[] = ['task_completed', 'task_failed', 'task_timed_out', 'task_cancelled', 'task_skipped'];

export interface DaemonBench {
  path: BenchPath;
  /** The remote workers it ran on (null: the daemon has no remote workers). */
  remote: RemoteCapacity | null;
  /** The daemon's worker threads and store, as its status says (null where it does not say). */
  threads: number | null;
  store: string;
}

function numberAt(value: unknown, ...keys: string[]): number | null {
  let v = value;
  for (const k of keys) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' ? v : null;
}

/** Runs `n` tasks of `module.action` on the daemon, `concurrency` in flight; resolves with what was measured. */
export async function benchDaemon(
  remote: RemoteEngine<NatsBus>,
  options: {
    module: string;
    action: string;
    params: Record<string, unknown>;
    tasks: number;
    concurrency: number;
    waitMs?: number | undefined;
  },
): Promise<DaemonBench> {
  const { bus } = remote;
  const n = options.tasks;
  const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
  const prefix = `bench-${randomUUID().slice(0, 8)}-`;
  const indexOf = (taskId: unknown): number =>
    typeof taskId === 'string' && taskId.startsWith(prefix) ? Number(taskId.slice(prefix.length)) : -1;
  const ends = new Map<number, (success: boolean) => void>();
  const waits = new Array<number>(n).fill(0);
  const completedBy: Record<string, number> = {};
  const subs: Subscription[] = [
    bus.events$('task_started').subscribe((e) => {
      const data = e.data;
      const i = indexOf(data.taskId);
      if (i >= 0) waits[i] = data.queuedMs;
    }),
    ...END_EVENTS.map((name) =>
      bus.events$(name).subscribe((e) => {
        const data = e.data as { taskId?: unknown; success?: unknown; worker?: unknown };
        const end = ends.get(indexOf(data.taskId));
        if (!end) return;
        if (data.success === true && typeof data.worker === 'string')
          completedBy[data.worker] = (completedBy[data.worker] ?? 0) + 1;
        end(data.success === true);
      }),
    ),
  ];
  try {
    // The subscriptions are live on the server before the first task goes.
    await bus.ready();
    const one = (i: number): Promise<boolean> =>
      new Promise<boolean>((resolve, reject) => {
        const taskId = `${prefix}${i}`;
        let timer: NodeJS.Timeout | undefined;
        const done = (success: boolean): void => {
          clearTimeout(timer);
          ends.delete(i);
          resolve(success);
        };
        // A lost end event: ask the daemon, in bounded waits, until it answers.
        const ask = (): void => {
          bus.request('task.wait_for', { taskId, timeoutMs: waitMs }, { timeoutMs: waitMs + 5000 }).then(
            (o) => (o.done ? done(o.result.success) : ask()),
            () => (timer = setTimeout(ask, 100)),
          );
        };
        ends.set(i, done);
        bus
          .request('task.submit', {
            task: {
              id: taskId,
              module: options.module,
              action: options.action,
              parameters: options.params,
              maxRetries: 0,
            },
          })
          .then(
            () => {
              if (ends.has(i)) timer = setTimeout(ask, waitMs);
            },
            (err: unknown) => {
              ends.delete(i);
              reject(err instanceof Error ? err : new Error(String(err)));
            },
          );
      });
    const driven = await drive(n, options.concurrency, one);
    const status = await remote.getSystemStatus();
    const store = (status['store'] as { kind?: unknown } | undefined)?.kind;
    return {
      path: summarise('daemon', n, driven, waits),
      threads: numberAt(status, 'pool', 'threads'),
      store: typeof store === 'string' ? store : 'unknown',
      remote: remoteCapacity(status['workers'], completedBy),
    };
  } finally {
    for (const s of subs) s.unsubscribe();
  }
}

/** The remote capacity from the daemon's status (its `workers` view), or null when it has no remote workers. */
function remoteCapacity(view: unknown, completedBy: Record<string, number>): RemoteCapacity | null {
  if (typeof view !== 'object' || view === null) return null;
  const v = view as { local?: unknown; workers?: unknown };
  const live = Array.isArray(v.workers)
    ? (v.workers as { state?: unknown; capacity?: unknown }[]).filter((w) => w.state === 'live')
    : [];
  return {
    workers: live.length,
    capacity: live.reduce((sum, w) => sum + (typeof w.capacity === 'number' ? w.capacity : 0), 0),
    localThreads: v.local === true,
    completedBy,
  };
}
