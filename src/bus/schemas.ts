/**
 * The request schema of every command in the protocol, checked where a payload arrives from outside (NATS now,
 * MCP later). Each schema accepts camelCase and the seed's snake_case names (`session_id`, `max_retries`,
 * `workflow_name`, `user_id`, ...) at the levels a caller writes them (the payload, a task, a resource, a retry
 * policy), never inside `params`, `parameters`, `metadata` or a workflow definition (the workflow validator reads
 * definitions itself). The schemas check shapes and types; the components still apply their own rules (known
 * modules, units, step graphs) and say so in their own errors. The building blocks (snake_case renaming, shared
 * fields) are in schemaFields.ts; the event names of the protocol close this file.
 */
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../errors.js';
import { sessionOptionsSchema, SESSION_MODES } from '../model/session.js';
import { TASK_STATUSES } from '../model/task.js';
import { RUN_STATUSES } from '../model/workflow.js';
import { ARTIFACT_CHUNK_MAX, ARTIFACT_NAME_RE } from '../model/artifacts.js';
import { backfillInputSchema, scheduleInputSchema, triggerInputSchema } from '../model/schedule.js';
import { didYouMean, findProtoKey, formatZodIssues } from '../model/validate.js';
import type { CommandPayload, CommandType, EventName } from './protocol.js';
import {
  epochMs,
  holderAliases,
  id,
  limit,
  milestoneFields,
  nameAliases,
  none,
  object,
  payload,
  posInt,
  projectAliases,
  renameKeys,
  resource,
  runAliases,
  runRequest,
  task,
  traceparent,
  versionSchema,
  waitMs,
} from './schemaFields.js';

/** The request schema of every command, by command type. */
export const requestSchemas = {
  'task.add': payload({ tasks: z.array(task, { required_error: 'required: a list of tasks' }) }),
  'task.execute': payload({ task }),
  'task.start_execution': none,
  'task.cancel': payload({ taskId: id('task'), reason: z.string().optional() }),
  'task.get': payload({ taskId: id('task') }),
  'task.list': payload({
    status: z.union([z.enum(TASK_STATUSES), z.array(z.enum(TASK_STATUSES))]).optional(),
    limit,
    offset: z.number().int('must be a whole number').min(0, 'must be 0 or more').optional(),
    newest: z.boolean().optional(),
  }),
  'task.wait': payload({ taskId: id('task') }),
  'task.submit': payload({ task }),
  'task.wait_for': payload({ taskId: id('task'), timeoutMs: waitMs }),
  'task.stats': none,
  'task.set_concurrency': payload({ maxConcurrency: posInt }),
  'task.open_lane': payload({ sessionId: id('session'), mode: z.enum(SESSION_MODES), maxParallelTasks: posInt }),
  'task.close_lane': payload({ sessionId: id('session'), reason: z.string() }),
  'task.explain': payload({ taskId: id('task') }),
  'task.flow_status': payload({ top: posInt.optional() }),
  'ratelimit.create': payload({
    name: z.string({ required_error: 'required: a rate limit name' }),
    limit: z.number({ required_error: 'required: units per window' }),
    per: z.union([z.string(), z.number()], { required_error: 'required: a window like "1m"' }),
  }),
  'ratelimit.list': none,
  'ratelimit.delete': payload({ name: z.string({ required_error: 'required: a rate limit name' }) }),
  'workflow.create': payload({
    definition: object('the workflow definition'),
    replace: z.boolean().optional(),
    source: z.string().optional(),
  }),
  'workflow.validate': payload({ definition: object('the workflow definition') }),
  'workflow.get': payload({ name: id('workflow'), version: versionSchema.optional() }, nameAliases),
  'workflow.list': none,
  'workflow.delete': payload({ name: id('workflow') }, nameAliases),
  'workflow.execute': payload({ name: id('workflow'), ...runRequest }, runAliases),
  'workflow.start': payload({ name: id('workflow'), ...runRequest }, runAliases),
  'workflow.execute_complex': payload(
    { definition: object('{ steps, dependencies, parallel_groups }'), ...runRequest },
    { workflow_definition: 'definition', parameters: 'params' },
  ),
  'workflow.start_complex': payload(
    { definition: object('{ steps, dependencies, parallel_groups }'), ...runRequest },
    { workflow_definition: 'definition', parameters: 'params' },
  ),
  'workflow.get_run': payload({ runId: id('run') }),
  'workflow.list_runs': payload(
    {
      workflowName: id('workflow').optional(),
      status: z.enum(RUN_STATUSES).optional(),
      limit,
      after: id('run (the last run id of the previous page)').optional(),
      from: epochMs.optional(),
      to: epochMs.optional(),
      schedule: id('schedule').optional(),
      trigger: id('trigger').optional(),
    },
    { workflow: 'workflowName' },
  ),
  'workflow.wait_run': payload({ runId: id('run') }),
  'workflow.wait_for': payload({ runId: id('run'), timeoutMs: waitMs }),
  'workflow.cancel_run': payload({ runId: id('run'), reason: z.string().optional() }),
  'workflow.signal': payload(
    { runId: id('run'), signal: id('signal'), payload: z.unknown().optional() },
    { data: 'payload' },
  ),
  'workflow.retry': payload({ runId: id('run'), fromStep: id('step').optional() }, { from: 'fromStep' }),
  'workflow.explain_step': payload({ taskId: id('step task (<runId>.<step>)') }),
  'workflow.performance': payload({ name: id('workflow').optional() }, nameAliases),
  'workflow.configure_session': payload({ sessionId: id('session'), maxParallelWorkflows: posInt }),
  'workflow.close_session': payload({ sessionId: id('session'), reason: z.string() }),
  'resource.add': payload({ resource }),
  'resource.remove': payload({ id: id('resource') }, { resource_id: 'id', resourceId: 'id' }),
  'resource.list': none,
  'resource.allocate': payload(
    {
      holderId: id('holder (user or session)'),
      requirements: object('e.g. { "cpu": { "cores": 2 } }'),
      ttlSeconds: z.number().positive('must be a positive number of seconds').optional(),
      waitSeconds: z.number().min(0, 'must be 0 or more').optional(),
    },
    holderAliases,
  ),
  'resource.deallocate': payload({ holderId: id('holder (user or session)') }, holderAliases),
  'resource.allocations': payload({ holderId: id('holder').optional() }, holderAliases),
  'session.create': z.preprocess(renameKeys(), sessionOptionsSchema),
  'session.get': payload({ sessionId: id('session') }),
  'session.list': payload({ status: z.enum(['active', 'closed']).optional() }),
  'session.close': payload({ sessionId: id('session'), reason: z.string().optional() }),
  'project.templates': none,
  'project.template': payload(
    { name: id('template') },
    { template_name: 'name', templateName: 'name', template: 'name' },
  ),
  'project.create': payload(
    {
      name: id('project'),
      templateName: z.string().min(1).optional(),
      description: z.string().optional(),
      path: z.string().min(1).optional(),
      config: z.record(z.unknown()).optional(),
      author: z.string().optional(),
      tags: z.array(z.string()).optional(),
      force: z.boolean().optional(),
    },
    { template: 'templateName', template_name: 'templateName', project_name: 'name' },
  ),
  'project.get': payload({ name: id('project') }, projectAliases),
  'project.list': payload({ status: z.enum(['active', 'archived']).optional(), tag: z.string().optional() }),
  'project.status': payload({ name: id('project') }, projectAliases),
  'project.update': payload(
    {
      name: id('project'),
      changes: payload({
        description: z.string().optional(),
        author: z.string().optional(),
        tags: z.array(z.string()).optional(),
      }),
    },
    projectAliases,
  ),
  'project.archive': payload(
    { name: id('project'), tarball: z.union([z.boolean(), z.string().min(1)]).optional() },
    projectAliases,
  ),
  'project.delete': payload({ name: id('project'), removeFiles: z.boolean().optional() }, projectAliases),
  'project.add_milestone': payload(
    { name: id('project'), milestone: payload({ name: id('milestone'), ...milestoneFields }) },
    projectAliases,
  ),
  'project.update_milestone': payload(
    { name: id('project'), milestone: id('milestone'), changes: payload(milestoneFields) },
    projectAliases,
  ),
  'project.complete_milestone': payload({ name: id('project'), milestone: id('milestone') }, projectAliases),
  'project.get_config': payload({ name: id('project'), key: z.string().min(1).optional() }, projectAliases),
  'project.set_config': payload(
    {
      name: id('project'),
      key: z.string().min(1),
      value: z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.unknown())], {
        errorMap: () => ({ message: 'required: the value to set (a JSON value)' }),
      }),
    },
    projectAliases,
  ),
  'project.run_workflow': payload(
    {
      name: id('project'),
      workflow: id('workflow'),
      params: z.record(z.unknown()).optional(),
      sessionId: id('session').optional(),
      traceparent,
    },
    { ...projectAliases, workflow_name: 'workflow', parameters: 'params' },
  ),
  'project.start_workflow': payload(
    {
      name: id('project'),
      workflow: id('workflow'),
      params: z.record(z.unknown()).optional(),
      sessionId: id('session').optional(),
      traceparent,
    },
    { ...projectAliases, workflow_name: 'workflow', parameters: 'params' },
  ),
  'project.stats': none,
  'schedule.create': z.preprocess(
    renameKeys({
      schedule_name: 'name',
      workflow_name: 'workflow',
      workflowName: 'workflow',
      tz: 'timezone',
      params: 'parameters',
    }),
    scheduleInputSchema,
  ),
  'schedule.list': none,
  'schedule.get': payload({ name: id('schedule') }, { schedule_name: 'name' }),
  'schedule.pause': payload({ name: id('schedule') }, { schedule_name: 'name' }),
  'schedule.resume': payload({ name: id('schedule') }, { schedule_name: 'name' }),
  'schedule.delete': payload({ name: id('schedule') }, { schedule_name: 'name' }),
  'schedule.trigger': payload({ name: id('schedule') }, { schedule_name: 'name' }),
  'schedule.backfill': z.preprocess(
    renameKeys({ schedule_name: 'name' }),
    backfillInputSchema.extend({ name: id('schedule') }).strict(),
  ),
  'trigger.create': z.preprocess(
    renameKeys({ trigger_name: 'name', workflow_name: 'workflow', workflowName: 'workflow', params: 'parameters' }),
    triggerInputSchema,
  ),
  'trigger.list': none,
  'trigger.delete': payload({ name: id('trigger') }, { trigger_name: 'name' }),
  'trigger.pause': payload({ name: id('trigger') }, { trigger_name: 'name' }),
  'trigger.resume': payload({ name: id('trigger') }, { trigger_name: 'name' }),
  'trigger.http': payload({ path: z.string().min(1), body: z.string(), signature: z.string().optional() }),
  'engine.status': none,
  'engine.health': none,
  'engine.modules': payload(
    { module: z.string().min(1, 'must name a module, e.g. core').optional() },
    { module_name: 'module', moduleName: 'module' },
  ),
  'engine.write_artifact': payload(
    {
      runId: z.string().min(1, 'must name the run the file is an input of').max(36, 'must be at most 36 characters'),
      name: z
        .string()
        .regex(ARTIFACT_NAME_RE, 'must be an artifact name: letters, digits, _ . - / (no "..", no leading /)'),
      file: z.string().min(1, "must be the file's base name").max(255),
      size: z.number().int('must be a whole number of bytes').min(0, 'must be 0 or more'),
      digest: z.string().regex(/^[0-9a-f]{64}$/, "must be the file's SHA-256 in lowercase hex"),
      offset: z.number().int('must be a whole number of bytes').min(0, 'must be 0 or more'),
      data: z
        .string()
        .max(
          Math.ceil(ARTIFACT_CHUNK_MAX / 3) * 4,
          `must be base64 of at most ${ARTIFACT_CHUNK_MAX} bytes (send the rest from the next offset)`,
        ),
    },
    { run_id: 'runId' },
  ),
  'engine.read_artifact': payload(
    {
      runId: id('run'),
      step: id('step'),
      name: id('artifact name (see "codomyrmex run artifacts RUN_ID")'),
      offset: z.number().int('must be a whole number of bytes').min(0, 'must be 0 or more').optional(),
      length: z
        .number()
        .int('must be a whole number of bytes')
        .min(1, 'must be at least 1')
        .max(ARTIFACT_CHUNK_MAX, `must be at most ${ARTIFACT_CHUNK_MAX} (read on from the next offset)`)
        .optional(),
    },
    { run_id: 'runId', step_name: 'step', artifact: 'name' },
  ),
} as const satisfies Record<CommandType, z.ZodTypeAny>;

/** A payload type with `| undefined` taken off its optional fields, at every level (JSON never carries `undefined`). */
type Defined<T> = T extends readonly (infer U)[]
  ? Defined<U>[]
  : T extends object
    ? { [P in keyof T]: Defined<Exclude<T[P], undefined>> }
    : T;
/** Fails to compile when a schema's output does not fit its command's request type, or a command has no schema. */
type SchemaFits = {
  [K in CommandType]: Defined<z.output<(typeof requestSchemas)[K]>> extends CommandPayload<K> ? true : K;
};
type Misfits = Exclude<SchemaFits[CommandType], true>;
const schemasFit: [Misfits] extends [never] ? true : Misfits = true;
void schemasFit;

/** Every command type, in protocol order. */
export const COMMAND_TYPES = Object.keys(requestSchemas) as CommandType[];
const KNOWN = new Set<string>(COMMAND_TYPES);

/** Whether a string names a command of the protocol (`workflow.start`). */
export function isCommandType(type: string): type is CommandType {
  return KNOWN.has(type);
}

/** A command payload checked against its schema: the parsed payload, or the `ValidationError` naming each bad field. */
export type ParsedRequest<K extends CommandType> =
  { ok: true; payload: CommandPayload<K> } | { ok: false; error: ValidationError };

/**
 * Validates an external payload for one command: the typed request (snake_case renamed), or a `ValidationError`
 * whose issues name each bad field (`payload.tasks[0].module: ...`).
 *
 * @example
 * const r = parseCommandPayload('workflow.execute', { workflow_name: 'etl', session_id: 's1' });
 * if (r.ok) r.payload.name; // 'etl'
 */
export function parseCommandPayload<K extends CommandType>(type: K, raw: unknown): ParsedRequest<K> {
  const proto = findProtoKey(raw, 'payload');
  if (proto) return { ok: false, error: new ValidationError(proto) };
  const schema: z.ZodTypeAny = requestSchemas[type];
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, payload: parsed.data as CommandPayload<K> };
  return { ok: false, error: new ValidationError(formatZodIssues(parsed.error, 'payload')) };
}

/**
 * Resolves a command type given as a string from outside: the type, or a `NotFoundError` that names the nearest
 * known command.
 */
export function resolveCommandType(type: string): CommandType | NotFoundError {
  if (isCommandType(type)) return type;
  const hint = didYouMean(type, COMMAND_TYPES);
  return new NotFoundError(
    `unknown command "${type}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${COMMAND_TYPES.join(', ')}`,
  );
}

const EVENT_NAME_MAP = {
  task_added: true,
  task_queued: true,
  task_started: true,
  task_completed: true,
  task_failed: true,
  task_retrying: true,
  task_timed_out: true,
  task_cancelled: true,
  task_skipped: true,
  task_progress: true,
  task_log: true,
  workflow_started: true,
  workflow_completed: true,
  workflow_failed: true,
  step_started: true,
  step_completed: true,
  step_failed: true,
  step_skipped: true,
  step_waiting: true,
  run_signaled: true,
  resource_allocated: true,
  resource_released: true,
  resource_expired: true,
  session_created: true,
  session_closed: true,
  recovery: true,
  store_failed: true,
  store_recovered: true,
  engine_started: true,
  engine_stopping: true,
  engine_stopped: true,
  handler_error: true,
  component_error: true,
  definition_skipped: true,
  project_created: true,
  project_archived: true,
  milestone_completed: true,
  schedule_fired: true,
  schedule_skipped: true,
  schedule_missed: true,
  trigger_fired: true,
  trigger_rejected: true,
} as const satisfies Record<EventName, true>;

/** Every event name of the protocol (a runtime list, for checking names that arrive from outside). */
export const EVENT_NAMES = Object.keys(EVENT_NAME_MAP) as EventName[];
const KNOWN_EVENTS = new Set<string>(EVENT_NAMES);

/** Whether a string names an event of the protocol (`task_completed`). */
export function isEventName(name: string): name is EventName {
  return KNOWN_EVENTS.has(name);
}
