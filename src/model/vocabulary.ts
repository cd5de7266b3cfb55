/**
 * The words the model's schemas check against, without the schemas: task and run statuses and the worker tag
 * pattern. The CLI names them in its help (`--status` choices) and checks `--tags` before it loads zod or the engine;
 * `task.ts` and `workflow.ts` export them with the rest of the model.
 */

/** The statuses a task has not ended in: pending (waiting on dependencies), ready, running, retrying. */
export const OPEN_TASK_STATUSES = ['pending', 'ready', 'running', 'retrying'] as const;
/** The statuses a task ends in; it never leaves them. */
export const TERMINAL_TASK_STATUSES = ['completed', 'failed', 'timed_out', 'cancelled', 'skipped'] as const;
/** Every task status, in lifecycle order. */
export const TASK_STATUSES = [...OPEN_TASK_STATUSES, ...TERMINAL_TASK_STATUSES] as const;

/** How a workflow run ends. */
export const TERMINAL_RUN_STATUSES = ['succeeded', 'failed', 'cancelled'] as const;
/** Every workflow run status: `running`, then how it ended. */
export const RUN_STATUSES = ['running', ...TERMINAL_RUN_STATUSES] as const;

/** A worker tag: `gpu`, `big-mem`, `zone.eu-1`. */
export const TAG_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
