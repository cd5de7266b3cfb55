/**
 * MCP answers sized for an agent: a run or a task as a summary (status, each step's status with a short preview of
 * its result, the files it wrote, the run id) kept under {@link SUMMARY_BUDGET_BYTES}, and one value of a step's
 * output by path (`get_step_output`), itself bounded. The whole run stays readable as the resource
 * `codomyrmex://runs/RUN_ID`.
 */
import { NotFoundError, ValidationError } from '../../errors.js';
import type { TaskResult } from '../../model/task.js';
import { LIMITS } from '../../model/limits.js';
import { declaredWritten } from '../../model/results.js';
import type { StepResult, WorkflowResult } from '../../model/workflow.js';
import type { WorkflowRun } from '../../model/run.js';
import { parseRef } from '../../workflows/template.js';

/** The most a summary's JSON may take: it goes out twice (as text and as structured content), under ~8 KB together. */
export const SUMMARY_BUDGET_BYTES = 3_500;
/** A result up to this many characters of JSON is shown whole; a longer one as a preview of this length. */
const PREVIEW_CHARS = 200;
/** A declared path longer than this is shown cut (the run has it whole). */
const PATH_CHARS = 200;
/** The most one `get_step_output` value may take before it is answered with its shape instead. */
export const STEP_OUTPUT_BUDGET_BYTES = 3_500;

export interface StepSummary {
  status: string;
  attempts: number;
  durationMs: number | null;
  /** The worker of its latest attempt (`local`: the engine's own threads). */
  worker?: string;
  /** The result itself when its JSON is short. */
  result?: unknown;
  /** The start of a longer result's JSON, and its size. */
  preview?: string;
  bytes?: number;
  error?: { code: string; message: string } | null;
  /** Its artifacts (`name (size bytes)`), read with get_run_artifact. */
  artifacts?: string[];
}

export interface RunSummary {
  runId: string;
  workflowName: string;
  version: string;
  status: string;
  success: boolean;
  durationMs: number;
  /** What failed, in one line (failed runs only). */
  error?: string;
  steps: Record<string, StepSummary>;
  /** Steps left out to stay within the budget (the run has them all). */
  stepsOmitted?: number;
  /** Files the steps declared they wrote (their results' `written` lists), as they named them; at most 20. */
  files: string[];
  /**
   * Declared files past those listed, or left out to stay within the budget (a lower bound when the run declared
   * more than `LIMITS.maxWrittenFiles`).
   */
  filesOmitted?: number;
  warnings: string[];
  params?: Record<string, unknown>;
  startedAt?: number;
  endedAt?: number | null;
  /** Where the rest is. */
  more: string;
}

const size = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? 'null');

function clip(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars)}…` : text;
}

/** A result whole when short, else a preview and its size. */
function shortResult(value: unknown): Pick<StepSummary, 'result' | 'preview' | 'bytes'> {
  if (value === undefined || value === null) return {};
  const json = JSON.stringify(value) ?? 'null';
  return json.length <= PREVIEW_CHARS
    ? { result: value }
    : { preview: clip(json, PREVIEW_CHARS), bytes: Buffer.byteLength(json) };
}

function stepSummary(s: StepResult | TaskResult): StepSummary {
  return {
    status: s.status,
    attempts: s.attempts,
    durationMs: s.durationMs,
    ...(s.worker !== undefined && { worker: s.worker }),
    ...(s.status === 'completed' ? shortResult(s.result) : {}),
    ...(s.error ? { error: { code: s.error.code, message: clip(s.error.message, 300) } } : {}),
    ...(s.artifacts?.length ? { artifacts: s.artifacts.slice(0, 20).map((a) => `${a.name} (${a.size} bytes)`) } : {}),
  };
}

/** Files a summary or the CLI lists by name; the rest are counted. */
export const FILES_LISTED = 20;

/** The files a run wrote: the first {@link FILES_LISTED} and how many more (`more`: at least that many past the scan). */
export interface RunWritten {
  files: string[];
  /** Files declared beyond `files`. */
  more: number;
  /** The count stopped at `LIMITS.maxWrittenFiles` distinct files: `more` is a lower bound. */
  moreAtLeast: boolean;
}

/**
 * The files a run's completed steps (and forEach items) declared they wrote, in step order, each once: their
 * results' `written` lists and nothing else (a `path` or `output` field may name what a step read). Bounded: at
 * most `LIMITS.maxWrittenFiles` distinct files are counted.
 */
export function runWritten(run: WorkflowResult, listed = FILES_LISTED): RunWritten {
  const seen = new Set<string>();
  let full = false;
  const add = (result: unknown): void => {
    for (const f of declaredWritten(result)) {
      if (seen.has(f)) continue;
      if (seen.size >= LIMITS.maxWrittenFiles) {
        full = true;
        return;
      }
      seen.add(f);
    }
  };
  // Once the count is full, the rest of the run is not read.
  for (const s of Object.values(run.steps)) {
    if (full) break;
    if (s.status !== 'completed') continue;
    if (!s.items) add(s.result);
    else for (const item of s.items) if (!full && item.status === 'completed') add(item.result);
  }
  const all = [...seen];
  return { files: all.slice(0, listed), more: Math.max(0, all.length - listed), moreAtLeast: full };
}

/** One line saying what failed: the first failed step and its error, and how many others did not complete. */
export function runError(result: WorkflowResult): string | undefined {
  if (result.success) return undefined;
  const e = result.error;
  if (e)
    return `step "${e.step}" ${e.status}: ${clip(e.message, 300)}${e.others ? ` (${e.others} other step${e.others === 1 ? '' : 's'} did not complete)` : ''}`;
  const steps = Object.values(result.steps);
  const failed =
    steps.find((s) => s.status === 'failed' || s.status === 'timed_out') ?? steps.find((s) => s.status === 'cancelled');
  const others = steps.filter((s) => s !== failed && s.status !== 'completed').length;
  if (!failed) return `run ${result.status}`;
  return `step "${failed.step}" ${failed.status}${failed.error ? `: ${clip(failed.error.message, 300)}` : ''}${others ? ` (${others} other step${others === 1 ? '' : 's'} did not complete)` : ''}`;
}

/** A run as an agent needs it first, within {@link SUMMARY_BUDGET_BYTES}. */
export function summarizeRun(run: WorkflowResult | WorkflowRun): RunSummary {
  const entries = Object.entries(run.steps);
  const written = runWritten(run);
  const error = runError(run);
  const summary: RunSummary = {
    runId: run.runId,
    workflowName: run.workflowName,
    version: run.version,
    status: run.status,
    success: run.success,
    durationMs: run.durationMs,
    ...(error !== undefined ? { error } : {}),
    steps: Object.fromEntries(entries.map(([name, s]) => [name, stepSummary(s)])),
    files: written.files.map((f) => clip(f, PATH_CHARS)),
    ...(written.more > 0 && { filesOmitted: written.more }),
    warnings: run.warnings.slice(0, 10).map((w) => clip(w, 300)),
    ...('params' in run
      ? {
          params: size(run.params) <= 1000 ? run.params : { preview: clip(JSON.stringify(run.params), 300) },
          startedAt: run.startedAt,
          endedAt: run.endedAt,
        }
      : {}),
    more: `get_step_output { run_id: "${run.runId}", step, path } reads one step's output (or a value inside it); the resource codomyrmex://runs/${run.runId} has the whole run`,
  };
  if (size(summary) <= SUMMARY_BUDGET_BYTES) return summary;
  // Too big: previews go first, then the steps that completed (their count stays), then files (counted).
  for (const s of Object.values(summary.steps)) {
    delete s.result;
    delete s.preview;
    delete s.bytes;
  }
  if (size(summary) <= SUMMARY_BUDGET_BYTES) return summary;
  const kept: Record<string, StepSummary> = {};
  let omitted = 0;
  for (const [name, s] of Object.entries(summary.steps)) {
    if (s.status !== 'completed' && size(kept) < SUMMARY_BUDGET_BYTES / 2) kept[name] = s;
    else omitted++;
  }
  const pruned: RunSummary = { ...summary, steps: kept, stepsOmitted: omitted };
  while (pruned.files.length > 0 && size(pruned) > SUMMARY_BUDGET_BYTES) {
    pruned.files = pruned.files.slice(0, -1);
    pruned.filesOmitted = (pruned.filesOmitted ?? 0) + 1;
  }
  return pruned;
}

/** A task's result as a summary: its status and a preview of its result. */
export function summarizeTask(
  result: TaskResult,
): Omit<TaskResult, 'result'> & Pick<StepSummary, 'result' | 'preview' | 'bytes'> & { more?: string } {
  const { result: value, ...rest } = result;
  const short = shortResult(value);
  return {
    ...rest,
    ...short,
    ...(short.preview !== undefined
      ? {
          more: `the whole result is too long for an answer (${short.bytes} bytes); run it in a workflow and read it with get_step_output`,
        }
      : {}),
  };
}

/** The shape of a value too large to return: its kind, size, and its keys or length to drill into. */
function shapeOf(value: unknown): Record<string, unknown> {
  const json = JSON.stringify(value) ?? 'null';
  const base = { truncated: true, bytes: Buffer.byteLength(json), preview: clip(json, 1000) };
  if (Array.isArray(value)) return { ...base, kind: 'array', length: value.length };
  if (typeof value === 'object' && value !== null)
    return {
      ...base,
      kind: 'object',
      keys: Object.keys(value)
        .slice(0, 50)
        .map((k) => clip(k, 60)),
    };
  return { ...base, kind: typeof value };
}

/**
 * One value of a step's output: the whole output without `path`, or the value at `path` (`files[0].path`,
 * `totals.lines`). A value over {@link STEP_OUTPUT_BUDGET_BYTES} comes back as its shape (keys, length, a preview).
 */
export function stepOutput(run: WorkflowRun, step: string, path?: string): Record<string, unknown> {
  const s = Object.hasOwn(run.steps, step) ? run.steps[step] : undefined;
  if (!s)
    throw new NotFoundError(
      `step: run ${run.runId} (${run.workflowName}) has no step "${step}"; its steps are ${Object.keys(run.steps).join(', ')}`,
    );
  let value: unknown = s.status === 'completed' ? s.result : (s.error ?? null);
  if (path !== undefined && path !== '') {
    let segments: (string | number)[];
    try {
      segments = parseRef(`output${path.startsWith('[') ? '' : '.'}${path}`).path;
    } catch (err) {
      throw new ValidationError(
        `path: ${(err as Error).message.replace(/^bad template "\{\{output\.?/, 'bad path "').replace(/\}\}"/, '"')}`,
      );
    }
    const walked: string[] = [];
    for (const seg of segments) {
      if (value === null || typeof value !== 'object' || !Object.hasOwn(value, seg)) {
        const kind = Array.isArray(value)
          ? `an array of ${value.length}`
          : value === null
            ? 'null'
            : typeof value === 'object'
              ? `an object with keys ${Object.keys(value).slice(0, 20).join(', ')}`
              : typeof value;
        throw new NotFoundError(
          `path: ${walked.join('') || 'the output'} is ${kind}, with no ${typeof seg === 'number' ? `item [${seg}]` : `field "${seg}"`}`,
        );
      }
      value = (value as Record<string | number, unknown>)[seg];
      walked.push(typeof seg === 'number' ? `[${seg}]` : walked.length ? `.${seg}` : seg);
    }
  }
  const answer = { run_id: run.runId, step, status: s.status, path: path ?? null };
  return size(value) <= STEP_OUTPUT_BUDGET_BYTES
    ? { ...answer, value }
    : { ...answer, ...shapeOf(value), hint: 'give a path inside it (a key, or [index]) to read less' };
}
