/**
 * The building blocks of the command request schemas (schemas.ts): payload objects whose keys may arrive in the
 * seed's snake_case (renamed to camelCase, with per-command aliases such as `workflow_name` for `name`), and the
 * field schemas several commands share (ids, limits, waits, times, a run request, a task, a resource).
 */
import { z } from 'zod';
import { taskInputSchema } from '../model/task.js';
import { runInputsSchema } from '../model/artifacts.js';

const RESOURCE_TYPES = ['cpu', 'memory', 'gpu', 'disk', 'network', 'database', 'service', 'custom'] as const;

/** `max_parallel_tasks` -> `maxParallelTasks`. */
function camel(key: string): string {
  return key.includes('_') ? key.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase()) : key;
}

/**
 * Renames snake_case keys of one object level to camelCase (and `aliases` first, e.g. the seed's `workflow_name`
 * for `name`), plus the keys of the objects under `nested`. Two spellings of one field is an issue naming both.
 */
export function renameKeys(aliases: Record<string, string> = {}, nested: readonly string[] = []) {
  return (value: unknown, ctx: z.RefinementCtx): unknown => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const out: Record<string, unknown> = {};
    const from: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
      const target = aliases[k] ?? camel(k);
      const earlier = from[target];
      if (earlier !== undefined) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [target],
          message: `given twice, as "${earlier}" and as "${k}"; keep one`,
        });
        continue;
      }
      from[target] = k;
      out[target] = nested.includes(target) ? renameKeys()(v, ctx) : v;
    }
    return out;
  };
}

/** A strict object whose keys may arrive in snake_case. */
export function payload<T extends z.ZodRawShape>(
  shape: T,
  aliases?: Record<string, string>,
  nested?: readonly string[],
) {
  return z.preprocess(renameKeys(aliases, nested), z.object(shape).strict());
}

/** A command without a payload (an absent or null payload counts as `{}`). */
export const none = z.preprocess((v) => (v === undefined || v === null ? {} : v), z.object({}).strict());
/** A non-empty id or name of `what`, at most 500 characters. */
export const id = (what: string) =>
  z
    .string({ required_error: `required: the ${what}` })
    .min(1, `must name the ${what}`)
    .max(500);
/** A whole number, 1 or more. */
export const posInt = z.number().int('must be a whole number').min(1, 'must be at least 1');
/** A page size: 1 to 100 000, optional. */
export const limit = posInt.max(100_000).optional();
/** Any JSON object (`what` says which, in the error). */
export const object = (what: string) =>
  z.record(z.unknown(), { required_error: `required: ${what}`, invalid_type_error: `must be an object (${what})` });
/** A bounded wait: 0 (just look) up to 10 minutes; keep it below the request timeout of the caller. */
export const waitMs = z
  .number({
    required_error: 'required: how long to wait, in ms (e.g. 10000); ask again when it answers { done: false }',
  })
  .int('must be a whole number of ms')
  .min(0, 'must be 0 or more')
  .max(600_000, 'must be at most 600000 (10 minutes); ask again when it answers { done: false }');
/** A time in ms since the epoch. */
export const epochMs = z
  .number({ invalid_type_error: 'must be a time in ms since the epoch (Date.now())' })
  .int('must be a whole number of ms')
  .min(0, 'must be 0 or more');
/** A workflow version, given as a string or a number. */
export const versionSchema = z.union([z.string().min(1), z.number()]).transform(String);

/** A task to add, with its keys (and its retry policy's) in either case. */
export const task = z.preprocess(renameKeys({}, ['retry']), taskInputSchema);
/** A W3C `traceparent` a caller may send with what it starts (a malformed one starts a new trace, it is not refused). */
export const traceparent = z
  .string()
  .max(512, 'must be a W3C traceparent (00-<trace id>-<span id>-<flags>)')
  .optional();
/** The fields of a request that starts a workflow run. */
export const runRequest = {
  params: z.record(z.unknown()).optional(),
  sessionId: id('session').optional(),
  version: versionSchema.optional(),
  idempotencyKey: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters').optional(),
  traceparent,
  runId: z
    .string()
    .min(1, 'must not be empty')
    .max(36, 'must be at most 36 characters (a step\'s task id is "<runId>.<step>")')
    .optional(),
  inputs: runInputsSchema.optional(),
};
/** The seed's names for a run request's fields. */
export const runAliases = {
  workflow_name: 'name',
  workflowName: 'name',
  parameters: 'params',
  idempotency_key: 'idempotencyKey',
};
/** The seed's names for a workflow name. */
export const nameAliases = { workflow_name: 'name', workflowName: 'name' };
/** The seed's names for a resource holder. */
export const holderAliases = { user_id: 'holderId', userId: 'holderId' };
/** The seed's names for a project name. */
export const projectAliases = { project: 'name', project_name: 'name', projectName: 'name' };
/** The fields of a project milestone a caller may set. */
export const milestoneFields = {
  description: z.string().optional(),
  dueDate: z.string().optional(),
  criteria: z.array(z.string()).optional(),
  workflows: z.array(z.string()).optional(),
};

/** A resource to add: its type, capacity and limits. */
export const resource = z.preprocess(
  renameKeys({}, ['limits']),
  z
    .object({
      id: id('resource'),
      name: z.string().optional(),
      type: z.enum(RESOURCE_TYPES, { errorMap: () => ({ message: `must be one of ${RESOURCE_TYPES.join(', ')}` }) }),
      capacity: z.record(z.number()),
      limits: z
        .object({
          maxConcurrentUsers: posInt.optional(),
          maxAllocationSeconds: z.number().positive('must be a positive number of seconds').optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
);
