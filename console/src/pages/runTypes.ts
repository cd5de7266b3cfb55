/**
 * A run and its workflow definition as the run page reads them from the API (`runs/<id>`), and the small helpers
 * the page and its step panel share.
 */

export interface Item {
  index: number;
  status: string;
  durationMs: number | null;
  childRunId?: string;
  error: { code: string; message: string } | null;
}

export interface Step {
  step: string;
  items?: Item[];
  childRunId?: string;
  waiting?: { signal: string | null; until: number | null; since: number };
  reused?: boolean;
  reusedFrom?: string;
  taskId: string;
  status: string;
  result: unknown;
  error: { code: string; message: string } | null;
  attempts: number;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  outputTruncated?: boolean;
  outputBytes?: number;
  artifacts?: Artifact[];
}

/** A file a step stored for the steps after it (`ctx.artifacts.put`). */
export interface Artifact {
  name: string;
  file: string;
  size: number;
  digest: string;
}

export interface Run {
  runId: string;
  workflowName: string;
  version: string;
  status: string;
  params: Record<string, unknown>;
  startedAt: number;
  endedAt: number | null;
  durationMs: number;
  sessionId: string | null;
  steps: Record<string, Step>;
  parentRunId?: string | null;
  parentStep?: string | null;
  retryOf?: string | null;
  scheduleName?: string;
  scheduledFor?: number;
  queued?: { key: string; limit: number; holders: string[]; waiting: number; since: number };
  debounce?: { key: string; until: number; first: number; submissions: number };
}

export interface Definition {
  name: string;
  version: string;
  steps: {
    name: string;
    module?: string;
    action?: string;
    workflow?: string;
    forEach?: unknown;
    waitFor?: unknown;
    dependencies?: string[];
  }[];
}

/** The console's address of a run. */
export const runLink = (id: string): string => `/runs/${encodeURIComponent(id)}`;

/** A value of an event as text (objects as JSON). */
export function text(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined ? '' : (JSON.stringify(v) ?? '');
}
