/**
 * What one scrape reads from the engine, once, for every scrape-time family (`families.ts`, `taskFamilies.ts`,
 * `flow.ts`), and the helper those families share.
 */
import type { Counter } from 'prom-client';
import type { BusStats } from '../model/events.js';
import type { SchedulerStats } from '../model/taskView.js';
import type { RuntimeState } from '../model/runtime.js';

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

/** Sets a counter to a total someone else keeps (the pool's, the bus's), at scrape time. */
export function setTotal<T extends string>(
  counter: Counter<T>,
  labels: Partial<Record<T, string>>,
  value: number,
): void {
  counter.inc(labels, Math.max(0, value));
}
