/**
 * The health checks behind `engine.healthCheck()` and `/readyz`: one real check per component (the pool runs a
 * probe task, the store is asked whether it takes writes, the bus whether it is connected, the scheduler for its
 * queue), each ending `healthy`, `degraded` or `unhealthy` with a sentence saying why.
 */
import type { MessageBus } from '../../bus/bus.js';
import type { SchedulerStats } from '../../bus/protocol.js';
import type { RuntimeState } from '../../machines/runtime.js';
import type { Store } from '../../store/store.js';
import type { WorkerPool } from '../../workers/pool.js';

/** `degraded`: working with a problem (NATS reconnecting, store retrying); `unhealthy`: not doing its work. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** One component's health. */
export interface ComponentHealth {
  status: HealthStatus;
  /** What was checked and what was found, for a person. */
  detail: string;
  /** How long the check took (ms). */
  checkMs?: number;
}

/** A health check a component registers (see `engine.registerComponentView`). Throwing counts as `unhealthy`. */
export type HealthCheck = () => ComponentHealth | Promise<ComponentHealth>;

/** The engine's health (`/healthz`, `engine.health`): each component's status and the worst of them. */
export interface HealthReport {
  /** The worst component status. */
  overallStatus: HealthStatus;
  /** ISO 8601. */
  timestamp: string;
  components: Record<string, ComponentHealth>;
  /** `component: detail` for every component that is not healthy. */
  issues: string[];
}

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/** The worst of some statuses (`healthy` for none). */
export function worstStatus(statuses: Iterable<HealthStatus>): HealthStatus {
  let worst: HealthStatus = 'healthy';
  for (const s of statuses) if (RANK[s] > RANK[worst]) worst = s;
  return worst;
}

const healthy = (detail: string): ComponentHealth => ({ status: 'healthy', detail });
const degraded = (detail: string): ComponentHealth => ({ status: 'degraded', detail });
const unhealthy = (detail: string): ComponentHealth => ({ status: 'unhealthy', detail });

class CheckTimeout extends Error {}

/** Resolves with `work`, or rejects with a {@link CheckTimeout} after `ms`. The work itself is not stopped. */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The engine's lifecycle: only `running` is healthy. */
export function checkEngine(state: RuntimeState): ComponentHealth {
  switch (state) {
    case 'running':
      return healthy('running');
    case 'starting':
      return degraded('starting: components are not serving yet');
    case 'draining':
      return degraded('draining: new work is refused while running tasks finish');
    case 'stopped':
      return unhealthy('stopped');
    case 'failed':
      return unhealthy('failed to start (see the error from engine.ready())');
  }
}

/**
 * Runs a probe task through the pool. A probe that times out while every slot is busy means a saturated pool
 * (`degraded`: the probe waits behind real work); with free slots it means the pool does not answer (`unhealthy`).
 */
export async function checkPool(
  pool: WorkerPool,
  timeoutMs: number,
  running: () => number | null,
): Promise<ComponentHealth> {
  if (pool.destroyed) return unhealthy('the worker pool is destroyed: no task can run');
  try {
    const ms = await withTimeout(pool.probe(), timeoutMs);
    const s = pool.stats();
    const restarts = Math.max(0, s.threadsStarted - pool.options.threads);
    return healthy(`a probe task answered in ${ms.toFixed(1)} ms; ${s.threads} threads, ${restarts} restarted`);
  } catch (err) {
    if (pool.destroyed) return unhealthy('the worker pool is destroyed: no task can run');
    if (!(err instanceof CheckTimeout)) return unhealthy(`a probe task failed: ${message(err)}`);
    const busy = running() ?? 0;
    const s = pool.stats();
    if (busy >= pool.capacity || s.queued > 0) {
      return degraded(`a probe task waited over ${timeoutMs} ms behind ${busy} running tasks: the pool is saturated`);
    }
    return unhealthy(
      `a probe task got no answer within ${timeoutMs} ms while ${pool.capacity - busy} of ${pool.capacity} slots were free`,
    );
  }
}

/**
 * Asks the store whether it takes writes (a durable store writes a heartbeat), and whether the group committer's
 * last commit failed: a store that takes a heartbeat but keeps failing real batches is not healthy either.
 */
export function checkStore(store: Store, fault: Error | null = null): ComponentHealth {
  try {
    store.checkWritable();
  } catch (err) {
    return unhealthy(`the ${store.kind} store refuses writes: ${message(err)}`);
  }
  if (fault) return unhealthy(`the ${store.kind} store fails commits (retrying): ${fault.message}`);
  return healthy(`the ${store.kind} store takes writes`);
}

export function checkBus(bus: MessageBus): ComponentHealth {
  if (!bus.connected)
    return unhealthy(
      `the ${bus.kind} bus is ${bus.kind === 'memory' ? 'closed' : 'disconnected'}: no command or event gets through`,
    );
  const s = bus.stats();
  return healthy(`the ${bus.kind} bus is connected (${s.published} events, ${s.requests} requests so far)`);
}

/**
 * Judges the ready queue from the scheduler's stats. Stuck: dispatch is on, the oldest ready task has waited longer
 * than `stuckMs`, and nothing runs at all, so the whole pool is idle. With nothing running, no session lane limit,
 * sequential lane or concurrency cap can explain the wait (each admits at least one task), and tasks waiting for
 * resource holds are parked outside the ready queue: the scheduler should have started it. Tasks waiting while
 * others run, or before `startExecution()`, are not stuck.
 */
export function assessQueue(
  stats: SchedulerStats,
  options: { stuckMs: number; poolCapacity: number },
): ComponentHealth {
  const { queued, running, limit } = stats;
  const age = stats.oldestReadyAgeMs;
  if (queued === 0) return healthy(`the queue is empty; ${running} of ${limit} running`);
  if (age === null)
    return healthy(`${queued} queued, none ready to start (waiting for resources); ${running} of ${limit} running`);
  const waited = `the oldest ready task has waited ${(age / 1000).toFixed(1)} s`;
  if (!stats.executing) return healthy(`${queued} ready tasks wait for startExecution() (dispatch is off); ${waited}`);
  const slots = Math.min(limit, options.poolCapacity);
  if (running === 0 && slots > 0 && age > options.stuckMs) {
    return degraded(
      `the queue is stuck: ${waited} (over ${options.stuckMs} ms) while nothing runs and ${slots} slots are free`,
    );
  }
  return healthy(`${queued} queued, ${running} of ${limit} running; ${waited}`);
}

/** Asks the task orchestrator for its stats over the bus and judges the queue. */
export async function checkQueue(
  stats: () => Promise<SchedulerStats>,
  options: { stuckMs: number; poolCapacity: number; timeoutMs: number },
): Promise<ComponentHealth> {
  let s: SchedulerStats;
  try {
    s = await withTimeout(stats(), options.timeoutMs);
  } catch (err) {
    return unhealthy(`the task orchestrator did not answer: ${message(err)}`);
  }
  return assessQueue(s, options);
}

/** Runs a check, timing it; a throw or a timeout becomes `unhealthy`. */
export async function runCheck(check: HealthCheck, timeoutMs: number): Promise<ComponentHealth> {
  const t0 = performance.now();
  let result: ComponentHealth;
  try {
    result = await withTimeout(Promise.resolve().then(check), timeoutMs);
  } catch (err) {
    result = unhealthy(`the check failed: ${message(err)}`);
  }
  return { ...result, checkMs: Math.round((performance.now() - t0) * 100) / 100 };
}
