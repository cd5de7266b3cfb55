/**
 * Every Prometheus family an engine exports, declared in one place. Names carry the `codomyrmex_` prefix and base
 * units (seconds, bytes, ratios); label values are bounded sets (module, action, status, priority, workflow and step
 * names, resource ids, modes, error codes), never task or run ids.
 *
 * Two kinds of family live here: those fed by bus events (counters and histograms, updated as events arrive) and
 * those read at scrape time (gauges and the counters the pool and the bus keep themselves), whose `collect`
 * callbacks read one {@link ScrapeSnapshot} shared by every family of one scrape.
 *
 * Just past 400 lines on purpose: it is one declaration per family, and keeping them in one list is what keeps
 * names, help texts and label sets checkable side by side (the README's table and the dashboards follow it).
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { BusStats } from '../model/events.js';
import { FastCounter, FastHistogram } from './fastHistogram.js';
import type { SchedulerStats } from '../model/taskView.js';
import type { RuntimeState } from '../model/runtime.js';
import { RUNTIME_STATES } from '../model/runtime.js';
import { OPEN_TASK_STATUSES, PRIORITIES } from '../model/task.js';

/** One dimension of one resource, as a resource source reports it (see `EngineMetrics.setResourceSource`). */
export interface ResourceUsage {
  /** The resource's id (a bounded set: the resources configured or added). */
  resource: string;
  /** `cpu | memory | gpu | disk | network | database | service | custom`. */
  type: string;
  /** The unit of `capacity` and `allocated`, in base units where one exists: `cores`, `bytes`, `units`, ... */
  unit: string;
  capacity: number;
  allocated: number;
}

/** The pool's numbers, as `WorkerPool.stats()` gives them. */
export interface PoolSnapshot {
  threads: number;
  capacity: number;
  queued: number;
  completed: number;
  threadsStarted: number;
}

/** What one scrape reads from the engine, once, for every family. */
export interface ScrapeSnapshot {
  state: RuntimeState;
  /** Null when the task orchestrator could not be asked (starting, stopped, bus closed). */
  scheduler: SchedulerStats | null;
  pool: PoolSnapshot & { configuredThreads: number; concurrentTasksPerWorker: number; destroyed: boolean };
  bus: BusStats & { connected: boolean };
  resources: ResourceUsage[];
}

const TASK_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const QUEUE_WAIT_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900];
const WORKFLOW_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400];
const STORE_WRITE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000];


/** Sets a counter to a total someone else keeps (the pool's, the bus's), at scrape time. */
function setTotal<T extends string>(counter: Counter<T>, labels: Partial<Record<T, string>>, value: number): void {
  counter.inc(labels, Math.max(0, value));
}

/** Creates every family on `registry`; `snapshot` is called by the scrape-time families (once per scrape). */
export function createFamilies(registry: Registry, snapshot: () => Promise<ScrapeSnapshot>, engineStartedAt: number) {
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
      help: 'Time from a task\'s first start to its end (all attempts and backoff included), by module, action and final status.',
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
        const busy = Math.min(pool.threads, Math.ceil(Math.min(scheduler?.running ?? 0, pool.capacity) / pool.concurrentTasksPerWorker));
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

    // ------------------------------------------------------------ workflows (events)
    workflowRuns: new Counter({
      name: 'codomyrmex_workflow_runs_total',
      help: 'Workflow runs that ended, by workflow and status (succeeded, failed, cancelled).',
      labelNames: ['workflow', 'status'] as const,
      registers,
    }),
    workflowDuration: new Histogram({
      name: 'codomyrmex_workflow_run_duration_seconds',
      help: 'Duration of workflow runs, by workflow and status.',
      labelNames: ['workflow', 'status'] as const,
      buckets: WORKFLOW_DURATION_BUCKETS,
      registers,
    }),
    workflowActive: new Gauge({
      name: 'codomyrmex_workflow_runs_active',
      help: 'Workflow runs in flight, by workflow.',
      labelNames: ['workflow'] as const,
      registers,
    }),
    workflowStepsWaiting: new Gauge({
      name: 'codomyrmex_workflow_steps_waiting',
      help: 'Workflow steps waiting now (they hold no thread or slot), by workflow and kind: signal (waitFor) or sleep (sleep, sleepUntil).',
      labelNames: ['workflow', 'kind'] as const,
      registers,
    }),
    workflowSteps: new Counter({
      name: 'codomyrmex_workflow_steps_total',
      help: 'Workflow steps that ended, by workflow, module, action and status (completed, failed, timed_out, cancelled, skipped). Step names are not a label: a 10,000-step workflow would make 10,000 series.',
      labelNames: ['workflow', 'module', 'action', 'status'] as const,
      registers,
    }),

    // ------------------------------------------------------------ resources (scrape hook + events)
    resourceCapacity: new Gauge({
      name: 'codomyrmex_resource_capacity',
      help: 'Capacity of a resource, in the unit named by the unit label.',
      labelNames: ['resource', 'type', 'unit'] as const,
      registers,
      async collect() {
        this.reset();
        for (const r of (await snapshot()).resources) this.set({ resource: r.resource, type: r.type, unit: r.unit }, r.capacity);
      },
    }),
    resourceAllocated: new Gauge({
      name: 'codomyrmex_resource_allocated',
      help: 'Amount of a resource held by allocations, in the unit named by the unit label.',
      labelNames: ['resource', 'type', 'unit'] as const,
      registers,
      async collect() {
        this.reset();
        for (const r of (await snapshot()).resources) this.set({ resource: r.resource, type: r.type, unit: r.unit }, r.allocated);
      },
    }),
    resourceUtilization: new Gauge({
      name: 'codomyrmex_resource_utilization_ratio',
      help: 'Allocated over capacity of a resource, 0 to 1.',
      labelNames: ['resource', 'type', 'unit'] as const,
      registers,
      async collect() {
        this.reset();
        for (const r of (await snapshot()).resources) {
          this.set({ resource: r.resource, type: r.type, unit: r.unit }, r.capacity > 0 ? r.allocated / r.capacity : 0);
        }
      },
    }),
    resourceHolds: new Gauge({
      name: 'codomyrmex_resource_holds_active',
      help: 'Allocations currently holding a resource, by resource.',
      labelNames: ['resource'] as const,
      registers,
    }),
    resourceAllocations: new Counter({
      name: 'codomyrmex_resource_allocations_total',
      help: 'Allocations granted, by resource.',
      labelNames: ['resource'] as const,
      registers,
    }),
    resourceExpiries: new Counter({
      name: 'codomyrmex_resource_hold_expiries_total',
      help: 'Holds released because their TTL passed, by resource.',
      labelNames: ['resource'] as const,
      registers,
    }),

    // ------------------------------------------------------------ sessions (events)
    sessionsActive: new Gauge({
      name: 'codomyrmex_sessions_active',
      help: 'Open sessions, by mode.',
      labelNames: ['mode'] as const,
      registers,
    }),
    sessionsCreated: new Counter({
      name: 'codomyrmex_sessions_created_total',
      help: 'Sessions created, by mode.',
      labelNames: ['mode'] as const,
      registers,
    }),
    sessionsClosed: new Counter({
      name: 'codomyrmex_sessions_closed_total',
      help: 'Sessions closed, by mode.',
      labelNames: ['mode'] as const,
      registers,
    }),

    // ------------------------------------------------------------ bus (scrape + events)
    busMessages: new Counter({
      name: 'codomyrmex_bus_messages_total',
      help: 'Messages through the bus, by direction (out, in) and kind (event, request, reply, failure).',
      labelNames: ['direction', 'kind'] as const,
      registers,
      async collect() {
        const { bus } = await snapshot();
        this.reset();
        setTotal(this, { direction: 'out', kind: 'event' }, bus.published);
        setTotal(this, { direction: 'out', kind: 'request' }, bus.requests);
        setTotal(this, { direction: 'in', kind: 'reply' }, bus.replies);
        setTotal(this, { direction: 'in', kind: 'failure' }, bus.failures);
      },
    }),
    busConnected: new Gauge({
      name: 'codomyrmex_bus_connected',
      help: '1 while the bus is connected, else 0.',
      registers,
      async collect() {
        this.set((await snapshot()).bus.connected ? 1 : 0);
      },
    }),
    handlerErrors: new Counter({
      name: 'codomyrmex_event_handler_errors_total',
      help: 'Event handlers (registerEventHandler) that threw or rejected, by event.',
      labelNames: ['event'] as const,
      registers,
    }),

    // ------------------------------------------------------------ store (hook)
    storeWriteDuration: new Histogram({
      name: 'codomyrmex_store_write_duration_seconds',
      help: 'Time one store write (one batch) took, by operation.',
      labelNames: ['op'] as const,
      buckets: STORE_WRITE_BUCKETS,
      registers,
    }),
    storeBatchSize: new Histogram({
      name: 'codomyrmex_store_write_batch_size',
      help: 'Records written by one store write, by operation.',
      labelNames: ['op'] as const,
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    }),
    storeWriteFailures: new Counter({
      name: 'codomyrmex_store_write_failures_total',
      help: 'Store writes that threw, by operation.',
      labelNames: ['op'] as const,
      registers,
    }),

    // ------------------------------------------------------------ engine
    engineState: new Gauge({
      name: 'codomyrmex_engine_state',
      help: '1 for the state the engine is in (starting, running, draining, stopped, failed), 0 for the others.',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const { state } = await snapshot();
        for (const s of RUNTIME_STATES) this.set({ state: s }, s === state ? 1 : 0);
      },
    }),
    engineStartTime: new Gauge({
      name: 'codomyrmex_engine_start_time_seconds',
      help: 'When the engine was created, in seconds since the Unix epoch.',
      registers,
      collect() {
        this.set(engineStartedAt / 1000);
      },
    }),
  };
}

export type Families = ReturnType<typeof createFamilies>;
