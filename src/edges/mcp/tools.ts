/**
 * The MCP tools in-process (the seed's `get_mcp_tools()`): the same table the MCP server serves, callable as
 * `tools.executeTool(name, args)`. This file does not load the MCP SDK; `server.ts` does. The tools use only the
 * {@link EdgeEngine} seam, so the same table runs on an embedded engine or on a daemon over NATS (`mcp --nats`).
 */
import { z } from 'zod';
import type { SerializedError } from '../../errors.js';
import { CodomyrmexError, ErrorCode, NotFoundError, RunFailedError, ValidationError } from '../../errors.js';
import type { ScheduleInput, TriggerInput } from '../../model/schedule.js';
import { paramsJsonSchema } from '../../modules/schema.js';
import { getOrchestrationEngine } from '../library.js';
import type { EdgeEngine } from '../seam.js';
import { planWorkflow } from './plan.js';
import type { ProgressReporter } from './progress.js';
import { withStepProgress } from './progress.js';
import { stepOutput, summarizeRun, summarizeTask } from './summary.js';
import { describeIssues, TOOL_DESCRIPTIONS, toolShapes } from './schemas.js';
import type { ToolArgs, ToolName } from './schemas.js';

/** What a tool call returns: `success` and the result, or `success: false` and an error naming what was wrong. */
export type ToolResult = { success: true; result: unknown } | { success: false; error: ToolError; result?: unknown };

/** A failed call's error: the one wire form (bad arguments name their `fields`, such as `workflow_name`). */
export type ToolError = SerializedError;

/** An MCP tool as listed: its name, description and JSON Schema of its input. */
export interface ToolInfo {
  name: ToolName;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** The names of every MCP tool (docs/reference/mcp.md). */
export const TOOL_NAMES = Object.keys(toolShapes) as ToolName[];

type Handlers = {
  [N in ToolName]: (engine: EdgeEngine, args: ToolArgs<N>, progress: ProgressReporter | undefined) => Promise<unknown>;
};

/** Plain JSON: what crosses MCP is JSON, so in-process callers see the same values. */
function toJson(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

/** Bytes of an artifact one get_run_artifact call returns at most. */
const MCP_ARTIFACT_CHUNK = 64 * 1024;

/**
 * A chunk as UTF-8 text and how many of its bytes that is (a character cut at the chunk's end is left for the next
 * call); null when it is binary (a NUL, or bytes that are not UTF-8).
 */
function utf8Text(data: Buffer, eof: boolean): { text: string; bytes: number } | null {
  if (data.includes(0)) return null;
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  for (let cut = 0; cut <= (eof ? 0 : Math.min(3, data.length - 1)); cut++) {
    try {
      return { text: decoder.decode(data.subarray(0, data.length - cut)), bytes: data.length - cut };
    } catch {
      // Not UTF-8 up to here: try leaving the last bytes for the next call.
    }
  }
  return null;
}

const handlers: Handlers = {
  async execute_workflow(engine, a, progress) {
    const wf = await engine.workflows.getWorkflow(a.workflow_name, a.version);
    if (!wf)
      throw new NotFoundError(
        `workflow_name: no workflow named "${a.workflow_name}"${a.version ? ` at version ${a.version}` : ''}; see list_workflows`,
      );
    return summarizeRun(
      await withStepProgress(engine, wf.name, wf.steps.length, progress, () =>
        engine.workflows.executeWorkflow(wf.name, a.parameters, {
          sessionId: a.session_id,
          version: a.version,
          idempotencyKey: a.idempotency_key,
        }),
      ),
    );
  },
  async create_workflow(engine, a) {
    const { workflow, created, warnings } = await engine.workflows.defineWorkflow({
      name: a.name,
      steps: a.steps,
      ...(a.description !== undefined ? { description: a.description } : {}),
    });
    return { name: workflow.name, version: workflow.version, steps: workflow.steps.length, created, warnings };
  },
  async list_workflows(engine) {
    return { workflows: await engine.workflows.listWorkflows() };
  },
  async create_project(engine, a) {
    return engine.projects.createProject({
      name: a.name,
      templateName: a.template,
      ...(a.description !== undefined ? { description: a.description } : {}),
      ...(a.path !== undefined ? { path: a.path } : {}),
    });
  },
  async list_projects(engine) {
    return { projects: await engine.projects.listProjects() };
  },
  async execute_task(engine, a) {
    const result = await engine.tasks.executeTask({
      name: a.name,
      module: a.module,
      action: a.action,
      parameters: a.parameters,
      priority: a.priority,
      dependencies: a.dependencies,
      ...(a.timeout !== undefined ? { timeout: a.timeout } : {}),
      ...(a.max_retries !== undefined ? { maxRetries: a.max_retries } : {}),
      ...(a.idempotency_key !== undefined ? { idempotencyKey: a.idempotency_key } : {}),
    });
    return summarizeTask(result);
  },
  async get_system_status(engine) {
    return engine.getSystemStatus();
  },
  async get_health_status(engine) {
    return engine.healthCheck();
  },
  async allocate_resources(engine, a) {
    return engine.resources.allocateResources(a.user_id, a.requirements);
  },
  async create_complex_workflow(engine, a, progress) {
    const definition = { name: a.name, ...a.workflow_definition };
    return summarizeRun(
      await withStepProgress(engine, a.name, a.workflow_definition.steps.length, progress, () =>
        engine.executeComplexWorkflow(definition),
      ),
    );
  },
  async validate_workflow(engine, a) {
    return planWorkflow(engine, { workflowName: a.workflow_name, definition: a.definition });
  },
  async get_run(engine, a) {
    const run = await engine.workflows.getRun(a.run_id);
    if (!run) throw new NotFoundError(`run_id: no run "${a.run_id}"; execute_workflow returns a run id`);
    return summarizeRun(run);
  },
  async get_step_output(engine, a) {
    const run = await engine.workflows.getRun(a.run_id);
    if (!run) throw new NotFoundError(`run_id: no run "${a.run_id}"; execute_workflow returns a run id`);
    return stepOutput(run, a.step, a.path);
  },
  async get_run_artifact(engine, a) {
    const c = await engine.readArtifact(a.run_id, a.step, a.name, a.offset ?? 0, MCP_ARTIFACT_CHUNK);
    const data = Buffer.from(c.data, 'base64');
    const text = utf8Text(data, c.eof);
    const read = text ? text.bytes : data.length;
    const eof = c.offset + read >= c.size;
    return {
      runId: c.runId,
      step: c.step,
      name: c.name,
      file: c.file,
      size: c.size,
      offset: c.offset,
      ...(text ? { text: text.text } : { base64: c.data }),
      eof,
      ...(!eof && { next_offset: c.offset + read }),
    };
  },
  async cancel_run(engine, a) {
    return engine.workflows.cancelRun(a.run_id, a.reason);
  },
  async explain_task(engine, a) {
    return engine.explainTask(a.task_id);
  },
  async signal_run(engine, a) {
    return engine.workflows.signalRun(a.run_id, a.signal, a.payload);
  },
  async retry_run(engine, a, progress) {
    const old = await engine.workflows.getRun(a.run_id);
    if (!old) throw new NotFoundError(`run_id: no run "${a.run_id}"; execute_workflow returns a run id`);
    const options = a.from_step === undefined ? {} : { fromStep: a.from_step };
    return withStepProgress(engine, old.workflowName, Object.keys(old.steps).length, progress, () =>
      engine.workflows.retryRun(a.run_id, options),
    );
  },
  async list_modules(engine, a) {
    return { actions: await engine.listModules(a.module) };
  },
  async create_schedule(engine, a) {
    const input: ScheduleInput = {
      name: a.name,
      workflow: a.workflow,
      ...defined({
        cron: a.cron,
        every: a.every,
        timezone: a.timezone,
        parameters: a.parameters,
        overlap: a.overlap,
        paused: a.paused,
      }),
      ...defined({
        catchupWindowSeconds: a.catchup_window_seconds,
        jitterSeconds: a.jitter_seconds,
        startAt: a.start_at,
        endAt: a.end_at,
      }),
    };
    return engine.workflows.createSchedule(input);
  },
  async list_schedules(engine) {
    return { schedules: await engine.workflows.listSchedules() };
  },
  async delete_schedule(engine, a) {
    if (!(await engine.workflows.deleteSchedule(a.name)))
      throw new NotFoundError(`name: no schedule named "${a.name}"; see list_schedules`);
    return { name: a.name, deleted: true };
  },
  async pause_schedule(engine, a) {
    return engine.workflows.pauseSchedule(a.name);
  },
  async resume_schedule(engine, a) {
    return engine.workflows.resumeSchedule(a.name);
  },
  async trigger_schedule(engine, a) {
    return { name: a.name, runId: await engine.workflows.triggerSchedule(a.name) };
  },
  async create_trigger(engine, a) {
    return engine.workflows.createTrigger({
      name: a.name,
      workflow: a.workflow,
      source: a.source as TriggerInput['source'],
      ...defined({ parameters: a.parameters, paused: a.paused }),
    });
  },
  async list_triggers(engine) {
    return { triggers: await engine.workflows.listTriggers() };
  },
  async create_rate_limit(engine, a) {
    return engine.tasks.createRateLimit({ name: a.name, limit: a.limit, per: a.per });
  },
  async list_rate_limits(engine) {
    return { rateLimits: await engine.tasks.listRateLimits() };
  },
  async delete_rate_limit(engine, a) {
    return engine.tasks.deleteRateLimit(a.name);
  },
};

/** The fields of `o` that are set (optional arguments left out stay out). */
function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/**
 * A workflow run or a task that ran but did not succeed: the call fails, and its result goes with the error (a
 * run's as a `RunFailedError`; a task's as its own error, the message naming the task).
 */
function failure(result: unknown): SerializedError | null {
  if (typeof result !== 'object' || result === null || (result as { success?: unknown }).success !== false) return null;
  const r = result as {
    workflowName?: string;
    runId?: string;
    status?: string;
    steps?: Record<string, { status: string; error?: { message: string } | null }>;
    error?: SerializedError | null;
    name?: string;
  };
  if (r.runId !== undefined) {
    const bad = Object.entries(r.steps ?? {})
      .filter(([, s]) => s.status !== 'completed')
      .map(([n, s]) => `${n} ${s.status}${s.error ? ` (${s.error.message})` : ''}`);
    return new RunFailedError(
      `workflow ${r.workflowName ?? ''} run ${r.runId} ${r.status ?? 'failed'}: ${bad.join('; ')}`,
    ).toJSON();
  }
  const message = `task ${r.name ?? ''} ${r.status ?? 'failed'}${r.error ? `: ${r.error.message}` : ''}`;
  return r.error ? { ...r.error, message } : new RunFailedError(message).toJSON();
}

/** The error a failed call carries, in the one wire form (a thrown value that is not ours as an `INTERNAL` error). */
export function toolError(err: unknown): ToolError {
  if (err instanceof CodomyrmexError) return err.toJSON();
  return new CodomyrmexError(err instanceof Error ? err.message : String(err), ErrorCode.INTERNAL, {
    cause: err,
  }).toJSON();
}

/**
 * The MCP tools over one engine.
 *
 * @example
 * const tools = getMcpTools();
 * const r = await tools.executeTool('execute_workflow', { workflow_name: 'ai_analysis', parameters: { path: '.' } });
 * if (r.success) console.log(r.result);
 */
export class McpTools {
  readonly #engine: () => EdgeEngine;

  constructor(engine: () => EdgeEngine) {
    this.#engine = engine;
  }

  /** Every tool with its description and its input as JSON Schema. */
  listTools(): ToolInfo[] {
    return TOOL_NAMES.map((name) => ({
      name,
      description: TOOL_DESCRIPTIONS[name],
      inputSchema: paramsJsonSchema(z.object(toolShapes[name])),
    }));
  }

  /** Checks `args` against the tool's schema (unknown fields are kept), then runs it. */
  parseArgs(name: string, args: unknown): ToolArgs<ToolName> {
    if (!Object.hasOwn(toolShapes, name))
      throw new NotFoundError(`no MCP tool named "${name}"; the tools are ${TOOL_NAMES.join(', ')}`);
    const parsed = z
      .object(toolShapes[name as ToolName])
      .passthrough()
      .safeParse(args ?? {});
    if (!parsed.success) throw new ValidationError(describeIssues(parsed.error).map((issue) => `${name}: ${issue}`));
    return parsed.data;
  }

  /** Runs arguments already parsed (the MCP server's SDK parsed them with the same schema). */
  async run(name: ToolName, args: ToolArgs<ToolName>, progress?: ProgressReporter): Promise<ToolResult> {
    try {
      const engine = this.#engine();
      const handler = handlers[name] as (
        e: EdgeEngine,
        a: ToolArgs<ToolName>,
        p: ProgressReporter | undefined,
      ) => Promise<unknown>;
      const result = toJson(await handler(engine, args, progress));
      const failed = failure(result);
      return failed ? { success: false, error: failed, result } : { success: true, result };
    } catch (err) {
      return { success: false, error: toolError(err) };
    }
  }

  /** The seed's `execute_tool(name, args)`: never throws; a bad call comes back with `success: false` and why. */
  async executeTool(
    name: string,
    args: Record<string, unknown> = {},
    progress?: ProgressReporter,
  ): Promise<ToolResult> {
    let parsed: ToolArgs<ToolName>;
    try {
      parsed = this.parseArgs(name, args);
    } catch (err) {
      return { success: false, error: toolError(err) };
    }
    return this.run(name as ToolName, parsed, progress);
  }
}

/**
 * The seed's `get_mcp_tools()`: the MCP tools over the process engine, or the engine given (an embedded engine, or
 * a `RemoteEngine` connected to a daemon).
 *
 * @example
 * const r = await getMcpTools().executeTool('create_project', { name: 'ai_project', template: 'ai_analysis' });
 */
export function getMcpTools(engine?: EdgeEngine): McpTools {
  return new McpTools(() => engine ?? getOrchestrationEngine());
}
