/**
 * What the engine says about itself, as it travels: `getSystemStatus()` (the `engine.status` command) and
 * `healthCheck()` (`engine.health`).
 */
import type { SchedulerStats } from './taskView.js';
import type { RuntimeState } from './runtime.js';

/** Where the edge listens. */
export interface HttpAddress {
  host: string;
  port: number;
  /** `http://host:port`. */
  url: string;
}

/** The worker pool, as `getSystemStatus().pool` shows it. */
export interface PoolStatus {
  threads: number;
  busyThreads: number;
  capacity: number;
  running: number;
  /** Running tasks over capacity, 0 to 1. */
  utilization: number;
  /** Waiting inside the pool for a free thread. */
  queued: number;
  completed: number;
  threadsStarted: number;
  restarts: number;
  destroyed: boolean;
}

/** `engine.getSystemStatus()`. Sections other engines components fill start as empty placeholders. */
export interface SystemStatus {
  engineId: string;
  state: RuntimeState;
  /** ISO 8601. */
  timestamp: string;
  startedAt: string;
  uptimeSeconds: number;
  /** The scheduler's stats; null when it could not be asked (starting, stopped). */
  tasks: SchedulerStats | null;
  queueDepth: number;
  runsInFlight: number;
  pool: PoolStatus;
  bus: { kind: string; connected: boolean; published: number; requests: number; replies: number; failures: number };
  store: { kind: string; writable: boolean; error: string | null };
  workflows: Record<string, unknown>;
  sessions: Record<string, unknown>;
  resources: Record<string, unknown>;
  projects: Record<string, unknown>;
  http: HttpAddress | null;
  [section: string]: unknown;
}

/** `engine.healthCheck()` as it travels: the worst status, each component's, and the issues. */
export interface EngineHealth {
  overallStatus: 'healthy' | 'degraded' | 'unhealthy';
  timestamp: string;
  components: Record<string, { status: 'healthy' | 'degraded' | 'unhealthy'; detail: string; checkMs?: number }>;
  issues: string[];
}
