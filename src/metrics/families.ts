/**
 * Every Prometheus family an engine exports, declared in one place. Names carry the `codomyrmex_` prefix and base
 * units (seconds, bytes, ratios); label values are bounded sets (module, action, status, priority, workflow and step
 * names, resource ids, modes, error codes), never task or run ids.
 *
 * Two kinds of family live here: those fed by bus events (counters and histograms, updated as events arrive) and
 * those read at scrape time (gauges and the counters the pool and the bus keep themselves), whose `collect`
 * callbacks read one {@link ScrapeSnapshot} shared by every family of one scrape.
 *
 * The task and pool families are in `taskFamilies.ts`, the flow-control ones in `flow.ts`; the README's table and the
 * dashboards follow the generated metrics reference (`docs/reference/metrics.md`).
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import { RUNTIME_STATES } from '../model/runtime.js';
import type { ScrapeSnapshot } from './snapshot.js';
import { setTotal } from './snapshot.js';
import { createTaskFamilies } from './taskFamilies.js';

export type { PoolSnapshot, ResourceUsage, ScrapeSnapshot } from './snapshot.js';

const WORKFLOW_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400];
const STORE_WRITE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000];

/** Creates every family on `registry`; `snapshot` is called by the scrape-time families (once per scrape). */
export function createFamilies(registry: Registry, snapshot: () => Promise<ScrapeSnapshot>, engineStartedAt: number) {
  const registers = [registry];
  return {
    ...createTaskFamilies(registry, snapshot),

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
        for (const r of (await snapshot()).resources)
          this.set({ resource: r.resource, type: r.type, unit: r.unit }, r.capacity);
      },
    }),
    resourceAllocated: new Gauge({
      name: 'codomyrmex_resource_allocated',
      help: 'Amount of a resource held by allocations, in the unit named by the unit label.',
      labelNames: ['resource', 'type', 'unit'] as const,
      registers,
      async collect() {
        this.reset();
        for (const r of (await snapshot()).resources)
          this.set({ resource: r.resource, type: r.type, unit: r.unit }, r.allocated);
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
