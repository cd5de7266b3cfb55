import { z } from 'zod';

/** A session: a user's group of tasks and runs with its own mode and limits, and resources held until it closes. */
export interface Session {
  sessionId: string;
  userId: string;
  mode: SessionMode;
  maxParallelTasks: number;
  maxParallelWorkflows: number;
  timeoutSeconds: number | null;
  resourceRequirements: Record<string, Record<string, number>>;
  metadata: Record<string, unknown>;
  status: 'active' | 'closed';
  createdAt: number;
  closedAt: number | null;
  closeReason: string | null;
}

export const SESSION_MODES = ['sequential', 'parallel', 'priority', 'resource_aware'] as const;

export const sessionOptionsSchema = z
  .object({
    userId: z.string().min(1, 'must name the user').max(200),
    /** How tasks of the session are ordered and admitted (default `resource_aware`). */
    mode: z
      .enum(SESSION_MODES, { errorMap: () => ({ message: `must be one of ${SESSION_MODES.join(', ')}` }) })
      .optional(),
    /** Tasks of the session running at once (default 4). */
    maxParallelTasks: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
    /** Workflow runs of the session at once; more wait their turn (default 2). */
    maxParallelWorkflows: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
    /** Close the session (cancelling what runs in it) after this many seconds. */
    timeoutSeconds: z.number().positive('must be a positive number of seconds').optional(),
    /** Held from creation to close, e.g. `{ cpu: { cores: 1 } }`. */
    resourceRequirements: z.record(z.record(z.number())).optional(),
    metadata: z.record(z.unknown()).optional(),
  })
  .strict();

/** What `createSession` takes (the seed's `create_session(user_id=, mode=, max_parallel_tasks=)`): the schema's input. */
export type SessionOptions = z.input<typeof sessionOptionsSchema>;

/** snake_case keys of the seed (MCP arguments, NATS payloads). */
export function camelizeSessionOptions(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const map: Record<string, string> = {
    user_id: 'userId',
    max_parallel_tasks: 'maxParallelTasks',
    max_parallel_workflows: 'maxParallelWorkflows',
    timeout_seconds: 'timeoutSeconds',
    resource_requirements: 'resourceRequirements',
  };
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [map[k] ?? k, v]));
}

/** How a session orders and admits its tasks: one at a time in order, FIFO, by priority, or by priority and resources. */
export type SessionMode = 'sequential' | 'parallel' | 'priority' | 'resource_aware';
