/**
 * Checks of the task requests that carry more than one task spec: a batch to add, a filter to list by. Bad input
 * is a `ValidationError` naming the field, whether it came from the library, the CLI or the wire.
 */
import { ValidationError } from '../errors.js';
import type { TaskStatus } from './task.js';
import { TASK_STATUSES } from './task.js';

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string'
    ? `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`
    : `a ${typeof value}`;
}

/** The tasks of an `addTasks` call: an array, or a `ValidationError`. */
export function parseTaskBatch(tasks: unknown, where = 'tasks'): unknown[] {
  if (!Array.isArray(tasks))
    throw new ValidationError(
      `${where}: must be an array of tasks, e.g. [{ module: "core", action: "echo" }] (got ${kind(tasks)})`,
    );
  return tasks;
}

export interface TaskListFilter {
  status?: TaskStatus | TaskStatus[];
  limit?: number;
  /** Skip this many (paging). */
  offset?: number;
  /** Newest first (default: oldest first). */
  newest?: boolean;
}

/** A `listTasks` filter: known statuses only (an unknown one is refused, not answered with `[]`), a whole limit. */
export function parseTaskListFilter(filter: unknown): TaskListFilter {
  if (filter === undefined || filter === null) return {};
  if (typeof filter !== 'object' || Array.isArray(filter))
    throw new ValidationError(`filter: must be an object like { status: "running", limit: 10 } (got ${kind(filter)})`);
  const problems: string[] = [];
  const f = filter as Record<string, unknown>;
  for (const k of Object.keys(f))
    if (!['status', 'limit', 'offset', 'newest'].includes(k))
      problems.push(`filter.${k}: unknown field; use status, limit, offset or newest`);
  const statuses =
    f['status'] === undefined ? [] : Array.isArray(f['status']) ? (f['status'] as unknown[]) : [f['status']];
  statuses.forEach((s, i) => {
    if (typeof s !== 'string' || !(TASK_STATUSES as readonly string[]).includes(s)) {
      const field = Array.isArray(f['status']) ? `filter.status[${i}]` : 'filter.status';
      problems.push(
        `${field}: unknown status ${typeof s === 'string' ? `"${s}"` : kind(s)}; use one of ${TASK_STATUSES.join(', ')}`,
      );
    }
  });
  const limit = f['limit'];
  if (limit !== undefined && !(typeof limit === 'number' && Number.isInteger(limit) && limit >= 0))
    problems.push(`filter.limit: must be a whole number >= 0 (got ${typeof limit === 'number' ? limit : kind(limit)})`);
  const offset = f['offset'];
  if (offset !== undefined && !(typeof offset === 'number' && Number.isInteger(offset) && offset >= 0))
    problems.push(
      `filter.offset: must be a whole number >= 0 (got ${typeof offset === 'number' ? offset : kind(offset)})`,
    );
  if (f['newest'] !== undefined && typeof f['newest'] !== 'boolean')
    problems.push(`filter.newest: must be true or false (got ${kind(f['newest'])})`);
  if (problems.length) throw new ValidationError(problems);
  return f;
}
