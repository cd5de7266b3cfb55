/**
 * The task and pool families: tasks' outcomes, durations (with exemplars when traced), retries and queue wait, fed
 * as tasks end; the queue, the scheduler's batches and the pool, read at scrape time from one {@link ScrapeSnapshot}.
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import { FastCounter, FastHistogram } from './fastHistogram.js';
import type { ScrapeSnapshot } from './snapshot.js';
import { setTotal } from './snapshot.js';
import { OPEN_TASK_STATUSES, PRIORITIES } from '../model/task.js';

const TASK_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const QUEUE_WAIT_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900];

/** Creates the task and pool families on `registry`; `snapshot` is called by the scrape-time ones (once per scrape). */
export function createTaskFamilies(registry: Registry, snapshot: () => Promise<ScrapeSnapshot>) {
  const registers = [registry];
  return {
    // ------------------------------------------------------------ tasks (events)
    tasksTotal: new FastCounter({
      name: 'codomyrmex_tasks_total',
      help: 'Tasks that ended, by module, action and final status (completed, failed, timed_out, cancelled, skipped).',
      labelNames: ['module', 'action', 'status'] as const,
      registers,
    }),
    taskFailures: new Counter({
      name: 'codomyrmex_task_failures_total',
      help: 'Tasks that ended without success, by module, action and error code.',
      labelNames: ['module', 'action', 'code'] as const,
      registers,
    }),
    taskRetries: new Counter({
      name: 'codomyrmex_task_retries_total',
      help: 'Failed attempts that were retried, by module, action and error code.',
      labelNames: ['module', 'action', 'code'] as const,
      registers,
    }),
    taskDuration: new FastHistogram({
      name: 'codomyrmex_task_duration_seconds',
      help: "Time from a task's first start to its end (all attempts and backoff included), by module, action and final status.",
      labelNames: ['module', 'action', 'status'] as const,
      buckets: TASK_DURATION_BUCKETS,
      registers,
    }),
    taskQueueWait: new FastHistogram({
      name: 'codomyrmex_task_queue_wait_seconds',
      help: 'Time an attempt waited in the ready queue before it started, by priority.',
      labelNames: ['priority'] as const,
      buckets: QUEUE_WAIT_BUCKETS,
      registers,
    }),

    // ------------------------------------------------------------ tasks (scrape)
    queueDepth: new Gauge({
      name: 'codomyrmex_task_queue_depth',
      help: 'Tasks waiting in the ready queue, by priority.',
      labelNames: ['priority'] as const,
      registers,
      async collect() {
        const s = (await snapshot()).scheduler;
        for (const p of PRIORITIES) this.set({ priority: p }, s?.queuedByPriority[p] ?? 0);
      },
    }),
    taskBatches: new Counter({
      name: 'codomyrmex_task_batches_total',
      help: 'Batches of short tasks sent to worker threads (one Piscina task each).',
      registers,
      async collect() {
        const s = (await snapshot()).scheduler;
        this.reset();
        this.inc(s?.batching.batches ?? 0);
      },
    }),
    taskBatched: new Counter({
      name: 'codomyrmex_task_batched_total',
      help: 'Task attempts sent in batches, and those a batch returned to the queue (reason: handed_back, thread_lost).',
      labelNames: ['outcome'] as const,
      registers,
      async collect() {
        const s = (await snapshot()).scheduler;
        this.reset();
        this.inc({ outcome: 'sent' }, s?.batching.tasks ?? 0);
        this.inc({ outcome: 'handed_back' }, s?.batching.handedBack ?? 0);
        this.inc({ outcome: 'thread_lost' }, s?.batching.threadLost ?? 0);
      },
    }),
    queueOldestAge: new Gauge({
      name: 'codomyrmex_task_queue_oldest_age_seconds',
      help: 'How long the oldest ready task has waited (0 when the queue is empty).',
      registers,
      async collect() {
        const s = (await snapshot()).scheduler;
        this.set((s?.oldestReadyAgeMs ?? 0) / 1000);
      },
    }),
    tasksActive: new Gauge({
      name: 'codomyrmex_tasks_active',
      help: 'Tasks that have not ended, by status (pending, ready, running, retrying).',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        const s = (await snapshot()).scheduler;
        for (const status of OPEN_TASK_STATUSES) this.set({ status }, s?.byStatus[status] ?? 0);
      },
    }),
    concurrencyLimit: new Gauge({
      name: 'codomyrmex_task_concurrency_limit',
      help: 'Tasks allowed to run at once (maxConcurrency).',
      registers,
      async collect() {
        const s = (await snapshot()).scheduler;
        if (s) this.set(s.limit);
      },
    }),

    // ------------------------------------------------------------ pool (scrape)
    poolThreads: new Gauge({
      name: 'codomyrmex_pool_threads',
      help: 'Worker threads of the pool, busy (running at least one task) or idle.',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const { pool, scheduler } = await snapshot();
        const busy = Math.min(
          pool.threads,
          Math.ceil(Math.min(scheduler?.running ?? 0, pool.capacity) / pool.concurrentTasksPerWorker),
        );
        this.set({ state: 'busy' }, busy);
        this.set({ state: 'idle' }, Math.max(0, pool.threads - busy));
      },
    }),
    poolCapacity: new Gauge({
      name: 'codomyrmex_pool_capacity',
      help: 'Tasks the pool can run at once (threads x concurrentTasksPerWorker).',
      registers,
      async collect() {
        const { pool } = await snapshot();
        this.set(pool.destroyed ? 0 : pool.capacity);
      },
    }),
    poolUtilization: new Gauge({
      name: 'codomyrmex_pool_utilization_ratio',
      help: 'Running tasks over pool capacity, 0 to 1, at scrape time.',
      registers,
      async collect() {
        const { pool, scheduler } = await snapshot();
        this.set(pool.capacity > 0 ? Math.min(1, (scheduler?.running ?? 0) / pool.capacity) : 0);
      },
    }),
    poolQueue: new Gauge({
      name: 'codomyrmex_pool_queue_depth',
      help: 'Tasks handed to the pool that wait for a free thread inside it.',
      registers,
      async collect() {
        this.set((await snapshot()).pool.queued);
      },
    }),
    poolCompleted: new Counter({
      name: 'codomyrmex_pool_runs_total',
      help: 'Runs the pool finished (task attempts and health probes).',
      registers,
      async collect() {
        this.reset();
        setTotal(this, {}, (await snapshot()).pool.completed);
      },
    }),
    poolThreadsStarted: new Counter({
      name: 'codomyrmex_pool_threads_started_total',
      help: 'Worker threads the pool started, the first ones included.',
      registers,
      async collect() {
        this.reset();
        setTotal(this, {}, (await snapshot()).pool.threadsStarted);
      },
    }),
    poolRestarts: new Counter({
      name: 'codomyrmex_pool_thread_restarts_total',
      help: 'Worker threads started to replace one that died or was terminated (timeouts, cancellation, crashes).',
      registers,
      async collect() {
        const { pool } = await snapshot();
        this.reset();
        setTotal(this, {}, pool.threadsStarted - pool.configuredThreads);
      },
    }),
  };
}

export type TaskFamilies = ReturnType<typeof createTaskFamilies>;
