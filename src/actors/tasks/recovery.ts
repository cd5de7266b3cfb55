/**
 * Recovery at start: the tasks a previous engine left unfinished come back. Pending ones wait on their dependencies
 * again, ready ones queue, retrying ones wait out what is left of their backoff, and running ones (interrupted) run
 * again with their attempt counted.
 */
import type { TaskMachineEvent } from '../../machines/task.js';
import type { Store } from '../../store/store.js';
import { OPEN_TASK_STATUSES } from '../../store/store.js';
import type { RestoreContext } from './durability.js';
import { restoreRecord } from './durability.js';
import { link } from './intake.js';
import type { TaskRecord } from './record.js';

/** What recovery needs of the scheduler. */
export interface RecoveryHost {
  store: Store;
  restore: RestoreContext;
  now(): number;
  /** The next position in add order. */
  nextOrder(): number;
  /** A task held in memory, by id. */
  record(id: string): TaskRecord | undefined;
  /** Holds a restored record (the scheduler's table). */
  hold(rec: TaskRecord): void;
  /** Steps a record with an event, at the next run. */
  push(rec: TaskRecord, event: TaskMachineEvent): void;
  /** Queues a ready record. */
  queue(rec: TaskRecord): void;
  /** Waits out a retrying record's backoff. */
  backoff(rec: TaskRecord, delayMs: number): void;
}

/** What recovery found: the tasks resumed (by status; the first 1,000 ids) and those that run again. */
export interface RecoveryReport {
  resumed: number;
  byStatus: Record<string, number>;
  ids: string[];
  rerun: string[];
}

/** Restores the open tasks of the store into the scheduler. */
export function recoverTasks(host: RecoveryHost): RecoveryReport {
  const { store } = host;
  const open = store.listTasks({ status: OPEN_TASK_STATUSES });
  const byStatus: Record<string, number> = {};
  const rerun: string[] = [];
  const recs = open.map((t) => {
    byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
    const rec = restoreRecord(t, host.nextOrder(), host.restore);
    host.hold(rec);
    return [rec, t.retryAt] as const;
  });
  const now = host.now();
  for (const [rec, retryAt] of recs) {
    switch (rec.status) {
      case 'pending': {
        const event = link(
          rec,
          (id) => host.record(id),
          (id) => store.getTaskStatus(id),
        );
        if (event) host.push(rec, event);
        break;
      }
      case 'ready':
        rec.readyAt = now;
        host.queue(rec);
        break;
      case 'running':
        rerun.push(rec.id);
        host.push(rec, { type: 'task.interrupted' });
        break;
      case 'retrying':
        host.backoff(rec, Math.max(0, (retryAt ?? now) - now));
        break;
      default:
        break;
    }
  }
  return { resumed: open.length, byStatus, ids: open.slice(0, 1000).map((t) => t.spec.id), rerun };
}
