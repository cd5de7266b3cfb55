/**
 * The HTTP command API under `/api/v1/`: `POST /api/v1/cmd/<component>/<verb>` takes the same JSON request as the
 * NATS subject `<prefix>.cmd.<component>.<verb>`, checked by the same schema, and answers with the same envelope
 * (`{ ok: true, result }` or `{ ok: false, error: { code, name, message, issues, retryable } }`). The `GET` routes
 * are conveniences the console reads (each is one or two of those commands, shaped for a page), and
 * `GET /api/v1/events` is the live event stream (events.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OrchestrationEngine } from '../../actors/engine/engine.js';
import type { CommandPayload, CommandReply, CommandType, RunListFilter } from '../../bus/protocol.js';
import { COMMAND_TYPES, parseCommandPayload, resolveCommandType } from '../../bus/schemas.js';
import { decodeJson, errorReply, okReply, type ReplyEnvelope } from '../../bus/wire.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { StepResult } from '../../model/workflow.js';
import type { WorkflowRun } from '../../model/run.js';
import type { ArtifactChunk } from '../../model/artifacts.js';
import { runArtifacts } from '../../actors/engine/artifacts.js';
import { EventHub } from './events.js';
import { drainedOrClosed, readBody, sendEnvelope } from './replies.js';
import type { RunHistory, RunSummary } from './runViews.js';
import { previewStep, runHistory, runSummary } from './runViews.js';

const RUN_PAGE_DEFAULT = 50;
const RUN_PAGE_MAX = 500;
/** How many runs a `?schedule=` filter reads at most per request. */
const SCHEDULE_SCAN_MAX = 50_000;
function intParam(url: URL, name: string, min: number, max: number): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ValidationError(`?${name}: must be a whole number from ${min} to ${max} (got "${raw}")`);
  return n;
}

/** `?from=` / `?to=`: epoch ms or an ISO date. */
function timeParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(n))
    throw new ValidationError(
      `?${name}: must be a time in ms since the epoch or an ISO date such as 2026-01-31T12:00:00Z (got "${raw}")`,
    );
  return n;
}

/** A run's or task's trace as the API gives it: the trace id (sampled on this engine), and a link to a trace UI or null. */
export interface TraceRef {
  traceId: string;
  url: string | null;
}

/** The API of one engine. */
export class Api {
  readonly #engine: OrchestrationEngine;
  readonly #maxBodyBytes: number;
  readonly events: EventHub;

  constructor(engine: OrchestrationEngine, maxBodyBytes: number) {
    this.#engine = engine;
    this.#maxBodyBytes = maxBodyBytes;
    this.events = new EventHub({
      bus: engine.bus,
      store: engine.store,
      commits: engine.commits,
      journaled: engine.options.journalMaxEvents > 0,
    });
  }

  #request<K extends CommandType>(type: K, payload: CommandPayload<K>): Promise<CommandReply<K>> {
    return this.#engine.bus.request(type, payload);
  }

  /** `POST /api/v1/cmd/<component>/<verb>`: parse, check, forward, answer with the NATS envelope. */
  async command(req: IncomingMessage, res: ServerResponse, component: string, verb: string): Promise<void> {
    let envelope: ReplyEnvelope;
    try {
      const type = resolveCommandType(`${component}.${verb}`);
      if (type instanceof Error) throw type;
      const body = await readBody(req, this.#maxBodyBytes);
      const parsed = parseCommandPayload(type, decodeJson(body, 'body'));
      if (!parsed.ok) throw parsed.error;
      const result = await this.#engine.bus.request(type, parsed.payload);
      envelope = okReply(result);
    } catch (err) {
      envelope = errorReply(err);
    }
    sendEnvelope(res, envelope);
  }

  /** A `GET /api/v1/...` route; false when there is none for this path. */
  async get(req: IncomingMessage, res: ServerResponse, url: URL, parts: string[], head: boolean): Promise<boolean> {
    if (parts[0] === 'events' && parts.length === 1) {
      this.events.serve(req, res, url);
      return true;
    }
    if (parts[0] === 'runs' && parts[2] === 'artifacts' && parts.length >= 5) {
      await this.#artifact(res, parts[1]!, parts[3]!, parts.slice(4).join('/'), head);
      return true;
    }
    const route = this.#route(url, parts);
    if (!route) return false;
    let envelope: ReplyEnvelope;
    try {
      const value = await route();
      if (value instanceof Download) {
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-disposition': `attachment; filename="${value.filename}"`,
          'content-length': Buffer.byteLength(value.text),
          'cache-control': 'no-store',
        });
        res.end(head ? undefined : value.text);
        return true;
      }
      envelope = okReply(value);
    } catch (err) {
      envelope = errorReply(err);
    }
    sendEnvelope(res, envelope, head);
    return true;
  }

  #route(url: URL, parts: string[]): (() => Promise<unknown>) | null {
    const [first, id, sub, name, leaf] = parts;
    const n = parts.length;
    switch (first) {
      case 'runs':
        if (n === 1) return () => this.#runs(url);
        if (n === 2) return () => this.#run(id!);
        if (n === 3 && sub === 'history') return () => this.#history(id!);
        if (n === 3 && sub === 'artifacts')
          return async () =>
            runArtifacts(
              await this.#found(this.#request('workflow.get_run', { runId: id! }), `no workflow run with id "${id!}"`),
            );
        if (n === 5 && sub === 'steps' && leaf === 'output') return () => this.#output(id!, name!);
        return null;
      case 'workflows':
        if (n === 1) return () => this.#request('workflow.list', {});
        if (n === 2) return () => this.#workflow(id!, url.searchParams.get('version') ?? undefined);
        return null;
      case 'tasks': {
        if (n === 1) {
          const status = url.searchParams.get('status');
          const limit = intParam(url, 'limit', 1, 10_000) ?? 500;
          return () => this.#request('task.list', { limit, ...(status ? { status: status.split(',') as never } : {}) });
        }
        if (n === 2)
          return () =>
            this.#found(this.#request('task.get', { taskId: id! }), `no task with id "${id!}"`).then((task) => ({
              ...task,
              trace: this.#trace(this.#engine.tracing?.traceIdOfTask(id!) ?? null),
            }));
        if (n === 3 && sub === 'explain') return () => this.#request('task.explain', { taskId: id! });
        return null;
      }
      case 'stats':
        return n === 1 ? () => this.#request('task.stats', {}) : null;
      case 'resources':
        return n === 1 ? () => this.#request('resource.list', {}) : null;
      case 'allocations':
        return n === 1 ? () => this.#request('resource.allocations', {}) : null;
      case 'sessions':
        return n === 1 ? () => this.#request('session.list', {}) : null;
      case 'projects':
        return n === 1 ? () => this.#request('project.list', {}) : null;
      case 'modules':
        return n === 1 ? () => this.#request('engine.modules', {}) : null;
      case 'status':
        return n === 1 ? () => this.#engine.getSystemStatus() : null;
      case 'commands':
        return n === 1 ? () => Promise.resolve(COMMAND_TYPES) : null;
      case 'health':
        return n === 1 ? () => this.#engine.healthCheck() : null;
      case 'workers':
        return n === 1 ? () => this.#workers() : null;
      default:
        return null;
    }
  }

  async #found<T>(value: Promise<T | null>, message: string): Promise<T> {
    const v = await value;
    if (v === null) throw new NotFoundError(message);
    return v;
  }

  async #runs(url: URL): Promise<{ runs: RunSummary[]; next: string | null }> {
    const status = url.searchParams.get('status') || undefined;
    const limit = intParam(url, 'limit', 1, RUN_PAGE_MAX) ?? RUN_PAGE_DEFAULT;
    const filter: RunListFilter = { limit: limit + 1 };
    const workflow = url.searchParams.get('workflow');
    const after = url.searchParams.get('after');
    const from = timeParam(url, 'from');
    const to = timeParam(url, 'to');
    if (workflow) filter.workflowName = workflow;
    if (after) filter.after = after;
    if (from !== undefined) filter.from = from;
    if (to !== undefined) filter.to = to;
    const parsed = parseCommandPayload('workflow.list_runs', { ...filter, ...(status ? { status } : {}) });
    if (!parsed.ok) throw parsed.error;
    const schedule = url.searchParams.get('schedule');
    const runs = schedule
      ? await this.#runsOfSchedule(parsed.payload, schedule, limit + 1)
      : await this.#request('workflow.list_runs', parsed.payload);
    const page = runs.slice(0, limit).map(runSummary);
    return { runs: page, next: runs.length > limit ? (page[page.length - 1]?.runId ?? null) : null };
  }

  /**
   * Runs a schedule started (`scheduleName`), newest first: the store has no column for it, so pages of runs are
   * read and filtered, at most {@link SCHEDULE_SCAN_MAX} runs deep per request.
   */
  async #runsOfSchedule(filter: RunListFilter, schedule: string, want: number): Promise<WorkflowRun[]> {
    const out: WorkflowRun[] = [];
    let after = filter.after;
    for (let scanned = 0; scanned < SCHEDULE_SCAN_MAX && out.length < want;) {
      const page = await this.#request('workflow.list_runs', {
        ...filter,
        limit: 1000,
        ...(after !== undefined ? { after } : {}),
      });
      for (const r of page)
        if ((r as WorkflowRun & { scheduleName?: string }).scheduleName === schedule && out.length < want) out.push(r);
      scanned += page.length;
      if (page.length < 1000) break;
      after = page[page.length - 1]!.runId;
    }
    return out;
  }

  /** A trace the console shows: its id, and its link when `tracing.linkTemplate` is set (null: not traced here). */
  #trace(traceId: string | null): TraceRef | null {
    if (traceId === null) return null;
    const template = this.#engine.options.tracing.linkTemplate;
    return { traceId, url: template === null ? null : template.replaceAll('{traceId}', encodeURIComponent(traceId)) };
  }

  async #run(runId: string): Promise<{ run: WorkflowRun; workflow: unknown; trace: TraceRef | null }> {
    const run = await this.#found(this.#request('workflow.get_run', { runId }), `no workflow run with id "${runId}"`);
    const workflow = await this.#request('workflow.get', { name: run.workflowName, version: run.version }).catch(
      () => null,
    );
    const steps: Record<string, StepResult> = {};
    for (const [name, step] of Object.entries(run.steps)) steps[name] = previewStep(step);
    return { run: { ...run, steps }, workflow, trace: this.#trace(this.#engine.tracing?.traceIdOfRun(runId) ?? null) };
  }

  async #output(runId: string, step: string): Promise<Download> {
    const run = await this.#found(this.#request('workflow.get_run', { runId }), `no workflow run with id "${runId}"`);
    const s = run.steps[step];
    if (!s) throw new NotFoundError(`run "${runId}" has no step "${step}" (or it has not started)`);
    return new Download(`${runId}.${step}.output.json`, `${JSON.stringify(s.result ?? null, null, 2)}\n`);
  }

  async #workflow(name: string, version: string | undefined): Promise<unknown> {
    return this.#found(
      this.#request('workflow.get', { name, ...(version ? { version } : {}) }),
      `no workflow named "${name}"${version ? ` at version ${version}` : ''}`,
    );
  }

  async #workers(): Promise<unknown> {
    const status = (await this.#engine.getSystemStatus()) as { workers?: unknown };
    return status.workers ?? { local: true, connected: false, workers: [] };
  }

  /**
   * A run's events from the journal (attempts, retries, logs): the entries from the run's start on, found by a
   * binary search on the journal's timestamps, then read forward until the run's end.
   */
  async #history(runId: string): Promise<RunHistory> {
    const run = await this.#found(this.#request('workflow.get_run', { runId }), `no workflow run with id "${runId}"`);
    return runHistory(this.#engine, run);
  }

  /**
   * `GET /api/v1/runs/:runId/artifacts/:step/:name`: the artifact's bytes, streamed chunk by chunk from the artifact
   * store. Always a download (`attachment`, `application/octet-stream`, `nosniff`, a sandboxing CSP): an SVG or
   * HTML a step produced never runs as a page of the console's origin.
   */
  async #artifact(res: ServerResponse, runId: string, step: string, name: string, head: boolean): Promise<void> {
    let chunk: ArtifactChunk;
    try {
      chunk = await this.#engine.readArtifact(runId, step, name, 0);
    } catch (err) {
      sendEnvelope(res, errorReply(err), head);
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${chunk.file.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'content-length': chunk.size,
      'x-content-type-options': 'nosniff',
      'content-security-policy': "sandbox; default-src 'none'",
      'cache-control': 'no-store',
    });
    if (head) return void res.end();
    let offset = 0;
    try {
      for (;;) {
        const data = Buffer.from(chunk.data, 'base64');
        offset += data.length;
        if (!res.write(data)) await drainedOrClosed(res);
        if (chunk.eof || res.destroyed) break;
        if (data.length === 0) throw new Error(`artifact "${name}" ended early at ${offset} bytes`);
        chunk = await this.#engine.readArtifact(runId, step, name, offset);
      }
      res.end();
    } catch {
      // Headers are out: a broken download is cut short (its length tells the client it is incomplete).
      res.destroy();
    }
  }

  close(): void {
    this.events.close();
  }
}

/** A route's answer that is a file to download. */
class Download {
  constructor(
    readonly filename: string,
    readonly text: string,
  ) {}
}
