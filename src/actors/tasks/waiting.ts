/** Waiting on the results of every task that has not ended, with one waiter shared by all of them. */
import type { TaskResult, TaskStatus } from '../../model/task.js';
import { isTerminal } from '../../model/task.js';
import type { StartExecutionReply } from '../../model/taskView.js';
import type { TaskRecord, Waiter } from './record.js';

/**
 * Resolves when every task among `records` that had not ended has ended, with their results in the order given.
 * One waiter shared by all of them, not a promise each: with 200k queued tasks, a promise per task stalled the event
 * loop for about a second (allocation and the garbage collection it caused). The waiters are in place when it
 * returns.
 */
export async function waitForOpen(records: Iterable<TaskRecord>): Promise<StartExecutionReply> {
  const open: string[] = [];
  const ended = new Map<string, TaskResult>();
  const all = new Promise<void>((resolve, reject) => {
    const waiter: Waiter = [
      (result) => {
        ended.set(result.taskId, result);
        if (ended.size === open.length) resolve();
      },
      reject,
    ];
    // One list for every task without other waiters: nothing allocated per task (waiter lists are never mutated).
    const shared: readonly Waiter[] = [waiter];
    for (const rec of records) {
      if (isTerminal(rec.status)) continue;
      open.push(rec.id);
      rec.waiters = rec.waiters ? [...rec.waiters, waiter] : shared;
    }
    if (open.length === 0) resolve();
  });
  await all;
  const results = new Array<TaskResult>(open.length);
  const byStatus: Partial<Record<TaskStatus, number>> = {};
  for (let i = 0; i < open.length; i++) {
    const r = ended.get(open[i] as string) as TaskResult;
    results[i] = r;
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  }
  return { total: results.length, byStatus, results };
}
