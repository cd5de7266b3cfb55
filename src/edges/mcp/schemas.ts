/**
 * The input schemas of the MCP tools, as zod raw shapes: the seed's ten tools with the seed's snake_case argument
 * names (`mcp_tools.py`), plus the tools an agent needs around them. The MCP server lists them as JSON Schema and
 * checks every call against them; {@link McpTools.executeTool} checks in-process calls with the same shapes.
 */
import { z } from 'zod';
import { PRIORITIES } from '../../model/task.js';

const required = (field: string, what: string) => ({
  required_error: `${field} is required: ${what}`,
  invalid_type_error: `${field} must be a string: ${what}`,
});
const object = (field: string, example: string) =>
  z.record(z.unknown(), { invalid_type_error: `${field} must be an object, e.g. ${example}` });

const stepShape = z
  .object({
    name: z.string(required('name', 'the step name, unique in the workflow')),
    module: z
      .string(required('module', 'the action module, e.g. static_analysis'))
      .optional()
      .describe('the action module (a module.action step; absent on workflow, wait_for and sleep steps)'),
    action: z
      .string(required('action', 'the action, e.g. analyze_code_quality'))
      .optional()
      .describe('the action, e.g. analyze_code_quality'),
    workflow: z.string().optional().describe('run this stored workflow as a child run instead of a module.action'),
    for_each: z
      .unknown()
      .optional()
      .describe('"{{step.output.list}}" or a literal array: run once per item ({{item}}, {{index}} in parameters)'),
    wait_for: z
      .object({ signal: z.string() })
      .passthrough()
      .optional()
      .describe('{ signal, timeout_seconds, on_timeout: fail|skip|continue }: pause until signal_run sends it'),
    sleep: z.union([z.string(), z.number()]).optional().describe('pause this long: seconds, or "10m", "2h"'),
    parameters: object('parameters', '{"path": "."}')
      .optional()
      .describe('action parameters; "{{step.output}}" reads an upstream output'),
    dependencies: z.array(z.string()).optional().describe('names of the steps this one runs after'),
    timeout: z.number().positive().optional().describe('seconds one attempt may take'),
    max_retries: z.number().int().min(0).optional().describe('retries after the first attempt'),
  })
  .passthrough();

const steps = z
  .array(stepShape, {
    required_error: 'steps is required: an array of { name, module, action, parameters, dependencies }',
  })
  .min(1, 'steps must hold at least one step');

const priority = z
  .enum(PRIORITIES, { errorMap: () => ({ message: `priority must be one of ${PRIORITIES.join(', ')}` }) })
  .default('normal');

const complexDefinition = z
  .object({
    steps,
    dependencies: z.record(z.array(z.string())).optional().describe('step name -> the names it depends on'),
    parallel_groups: z.array(z.array(z.string())).optional().describe('steps that may run at the same time'),
  })
  .passthrough();

export const toolShapes = {
  execute_workflow: {
    workflow_name: z
      .string(required('workflow_name', 'the name of a stored workflow (see list_workflows)'))
      .describe('the workflow to run, e.g. ai-analysis'),
    parameters: object('parameters', '{"path": "."}').default({}).describe('run parameters, read as {{params.x}}'),
    session_id: z.string().optional().describe('a session to run in (its concurrency and mode apply)'),
    version: z.string().optional().describe('run this version instead of the latest'),
    idempotency_key: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe(
        'a key for this request: a retry with the same key returns the earlier run instead of starting another',
      ),
  },
  create_workflow: {
    name: z.string(required('name', 'the name of the new workflow')),
    steps,
    description: z.string().optional(),
  },
  list_workflows: {},
  create_project: {
    name: z.string(required('name', 'the name of the new project')),
    template: z
      .string()
      .default('ai_analysis')
      .describe('project template: ai_analysis, web_application, data_pipeline, ...'),
    description: z.string().optional(),
    path: z
      .string()
      .optional()
      .describe(
        'its folder (default ./projects/NAME); must be inside the projects folder or a root the server allows (--allow-path)',
      ),
  },
  list_projects: {},
  execute_task: {
    name: z.string(required('name', 'a name for the task')),
    module: z.string(required('module', 'the action module, e.g. core')),
    action: z.string(required('action', 'the action, e.g. echo')),
    parameters: object('parameters', '{"value": 1}').default({}),
    priority,
    dependencies: z.array(z.string()).default([]).describe('ids of tasks this one waits for'),
    timeout: z.number().positive().optional().describe('seconds one attempt may take'),
    max_retries: z.number().int().min(0).optional(),
    idempotency_key: z
      .string()
      .optional()
      .describe('a repeat call with the same key returns the first task instead of running again'),
  },
  get_system_status: {},
  get_health_status: {},
  allocate_resources: {
    user_id: z.string(required('user_id', 'who holds the allocation, e.g. user123')),
    requirements: z.record(z.record(z.number()), {
      required_error: 'requirements is required, e.g. {"cpu": {"cores": 2}, "memory": {"gb": 4}}',
      invalid_type_error: 'requirements must map a resource to amounts, e.g. {"cpu": {"cores": 2}}',
    }),
  },
  create_complex_workflow: {
    name: z.string(required('name', 'a name for the run')),
    workflow_definition: complexDefinition,
  },
  validate_workflow: {
    workflow_name: z.string().optional().describe('a stored workflow to plan'),
    definition: object('definition', '{"name": "w", "steps": [...]}')
      .optional()
      .describe('a definition to check and plan (or a complex one with dependencies and parallel_groups)'),
  },
  get_run: { run_id: z.string(required('run_id', 'the id execute_workflow returned')) },
  get_step_output: {
    run_id: z.string(required('run_id', 'the id execute_workflow returned')),
    step: z.string(required('step', "the name of one of the run's steps")),
    path: z
      .string()
      .optional()
      .describe('a value inside the output, e.g. totals.lines or files[0].path (default: the whole output)'),
  },
  get_run_artifact: {
    run_id: z.string(required('run_id', 'the id execute_workflow returned')),
    step: z.string(required('step', "the step that stored it (get_run lists each step's artifacts)")),
    name: z.string(required('name', 'the artifact name, e.g. md or svg')),
    offset: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('read on from this byte (the next_offset of the previous call)'),
  },
  cancel_run: {
    run_id: z.string(required('run_id', 'the id of a running workflow run')),
    reason: z.string().optional(),
  },
  explain_task: { task_id: z.string(required('task_id', 'a task id (a workflow step is RUN_ID.STEP)')) },
  signal_run: {
    run_id: z.string(required('run_id', 'the id of a running workflow run')),
    signal: z.string(required('signal', 'the signal a step waits for (waitFor: { signal }), e.g. approval')),
    payload: z.unknown().optional().describe('the waiting step\'s output, e.g. {"approvedBy": "ana"}'),
  },
  retry_run: {
    run_id: z.string(required('run_id', 'the id of an ended workflow run')),
    from_step: z
      .string()
      .optional()
      .describe('run this step and everything downstream again (default: the steps that did not complete)'),
  },
  list_modules: { module: z.string().optional().describe('only this module') },
  create_schedule: {
    name: z.string(required('name', 'the schedule name')),
    workflow: z.string(required('workflow', 'the workflow each slot runs (see list_workflows)')),
    cron: z
      .string()
      .optional()
      .describe('a 5-field (or 6, seconds first) cron expression, e.g. "30 2 * * *"; give cron or every'),
    every: z
      .union([z.string(), z.number()])
      .optional()
      .describe('a fixed interval: "30s", "5m", or seconds (at least 1)'),
    timezone: z.string().optional().describe('IANA zone of cron, e.g. Europe/Paris (default UTC)'),
    parameters: object('parameters', '{"day": 1}').optional().describe("the runs' parameters ({{params.x}})"),
    overlap: z
      .enum(['skip', 'buffer_one', 'allow', 'cancel_previous'])
      .optional()
      .describe('a slot whose previous run still runs: skip (default), buffer_one, allow, cancel_previous'),
    catchup_window_seconds: z
      .number()
      .min(0)
      .optional()
      .describe('after downtime, missed slots this recent run once each (default 60)'),
    jitter_seconds: z.number().min(0).optional().describe('fire each slot up to this many seconds late (default 0)'),
    start_at: z.union([z.string(), z.number()]).optional().describe('no slot before this ISO time (or epoch ms)'),
    end_at: z.union([z.string(), z.number()]).optional().describe('no slot after this ISO time (or epoch ms)'),
    paused: z.boolean().optional(),
  },
  list_schedules: {},
  delete_schedule: { name: z.string(required('name', 'the schedule name')) },
  pause_schedule: { name: z.string(required('name', 'the schedule name')) },
  resume_schedule: { name: z.string(required('name', 'the schedule name')) },
  trigger_schedule: { name: z.string(required('name', 'the schedule name')) },
  create_trigger: {
    name: z.string(required('name', 'the trigger name')),
    workflow: z.string(required('workflow', 'the workflow each message runs')),
    source: z
      .record(z.unknown(), {
        required_error:
          'source is required: {"nats": "orders.created"} (add "stream": true for JetStream) or {"http": {"path": "/hooks/x", "secret": "..."}}',
      })
      .describe('{"nats": SUBJECT, "stream"?: true | STREAM} or {"http": {"path": "/hooks/...", "secret": "..."}}'),
    parameters: object('parameters', '{"order": "{{event.data}}"}')
      .optional()
      .describe('run parameters; strings may read {{event.data}}, {{event.subject}}, {{event.headers}}'),
    paused: z.boolean().optional(),
  },
  list_triggers: {},
  create_rate_limit: {
    name: z.string(required('name', 'a rate limit name like github-api')),
    limit: z.number(required('limit', 'units per window, e.g. 30')),
    per: z.string(required('per', 'the window: 1s, 1m, 1h')),
  },
  list_rate_limits: {},
  delete_rate_limit: { name: z.string(required('name', 'the rate limit to delete')) },
} satisfies Record<string, z.ZodRawShape>;

export type ToolName = keyof typeof toolShapes;
export type ToolArgs<N extends ToolName> = z.infer<z.ZodObject<(typeof toolShapes)[N]>>;

export const TOOL_DESCRIPTIONS: Record<ToolName, string> = {
  execute_workflow:
    'Execute a workflow to its end and return a summary: status, each step with a short preview of its result, the files it wrote, the run id (progress notifications per step). Read a whole output with get_step_output.',
  create_workflow: 'Create a new workflow from steps (validated: cycles, unknown actions, bad parameters are refused).',
  list_workflows: 'List available workflows with their versions and step counts.',
  create_project: 'Create a new project from a template.',
  list_projects: 'List available projects.',
  execute_task: 'Execute a single task (module.action) and return its status and result (a preview when long).',
  get_system_status: 'Get system status: tasks, queue, pool, workflows, sessions, resources, store.',
  get_health_status: 'Get health status: every component checked for real.',
  allocate_resources: 'Allocate system resources to a user (all or nothing).',
  create_complex_workflow:
    'Create and execute a complex workflow (steps, a dependencies map and parallel groups); returns a summary like execute_workflow.',
  validate_workflow:
    'Dry run: check a workflow (stored or given) and return its plan (levels, critical path, resources, warnings) without executing.',
  get_run: 'Get a workflow run by id: its status, parameters, and each step with a short preview of its result.',
  get_step_output:
    "Read one step's output of a run, or one value inside it by path (e.g. totals.lines, files[0].path); a value too large comes back as its keys and a preview.",
  get_run_artifact:
    "Read a file a run's step stored (an artifact: a report's md or html, a chart's svg): up to 64 KiB from offset, as text (or base64 when binary), with next_offset until eof.",
  cancel_run: 'Cancel a running workflow run.',
  explain_task: 'Explain why a task is waiting, running or ended (dependencies, queue, resources, attempts).',
  signal_run:
    'Send a signal to a running workflow run: steps waiting for it (waitFor) go on with the payload as their output; sent early, it is kept until a step waits for it.',
  retry_run:
    'Re-run an ended workflow run to its end: steps that completed keep their outputs (reused), the failed ones (or from_step and everything after it) run again.',
  list_modules: 'List the action modules and their actions with parameter JSON Schemas.',
  create_schedule:
    'Create a schedule: a workflow run for each slot of a cron expression (in a time zone) or a fixed interval, fired by the daemon.',
  list_schedules: 'List schedules with their next fire times, recent slots and last runs.',
  delete_schedule: 'Delete a schedule (runs it started go on).',
  pause_schedule: 'Pause a schedule: slots that fall while paused are not run, nor caught up.',
  resume_schedule: 'Resume a paused schedule from now on.',
  trigger_schedule: "Start one run of a schedule's workflow now, outside its slots; returns the run id.",
  create_trigger:
    'Create a trigger: a workflow run for each message on a NATS subject (core or JetStream) or each signed webhook POST.',
  list_triggers: 'List triggers (secrets are never shown).',
  create_rate_limit:
    'Create (or replace) a named rate limit: never more than `limit` units per window `per`; tasks use it with rateLimit: { name, key?, units? }.',
  list_rate_limits: 'List the rate limits with their levels and busiest keys.',
  delete_rate_limit: 'Delete a rate limit (tasks waiting on it go on without it).',
};

/** Names an issue by its field: `workflow_name: Required`. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
}
