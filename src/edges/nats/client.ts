/**
 * A client of a codomyrmex daemon over NATS. Long operations are never one held-open request: a run or a task is
 * started (the reply is its id), and its end arrives as an event, subscribed to BEFORE starting so nothing is
 * missed, or through `*.wait_for` with an explicit bound, asked again until it answers. A client that reconnects
 * (or restarts) learns how a run ended the same way: the daemon answers from its store.
 *
 * @module codomyrmex/nats/client
 */
import type { Session } from '../../model/session.js';
import type { ActionDescription } from '../../modules/registry.js';
import type { TaskExplanation } from '../../model/taskView.js';
import type { EventMap } from '../../model/events.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { Subscription } from 'rxjs';
import type { MessageBus } from '../../bus/bus.js';
import { NatsBus, natsUnreachable, type NatsConnectOptions } from '../../bus/nats.js';
import type { ArtifactChunk, ArtifactWrite, ArtifactWritten } from '../../model/artifacts.js';
import type { EngineHealth, EventName, RunRequest, WaitOutcome } from '../../bus/protocol.js';
import { BusError, CodomyrmexError, ErrorCode } from '../../errors.js';
import type { Task, TaskInput, TaskResult } from '../../model/task.js';
import type { WorkflowResult } from '../../model/workflow.js';
import { ProjectManagerClient } from '../../actors/projects/client.js';
import type { TracingOptions } from '../../config/tracing.js';
import { compileTracing } from '../../config/tracing.js';
import type { Tracing } from '../../traces/tracing.js';
import { loadTracing } from '../../traces/tracing.js';
import { ResourceManagerClient } from '../../actors/resources/client.js';
import { TaskOrchestratorClient } from '../../actors/tasks/client.js';
import { explainTaskOrStep, WorkflowManagerClient } from '../../actors/workflows/client.js';

/** How long one `wait_for` waits on the daemon, unless told (10 s: well under the 30 s request timeout). */
export const DEFAULT_WAIT_MS = 10_000;

const TASK_END_EVENTS: EventName[] = [
  'task_completed',
  'task_failed',
  'task_timed_out',
  'task_cancelled',
  'task_skipped',
];
const RUN_END_EVENTS: EventName[] = ['workflow_completed'];

/** How a client follows a run or task to its end over the bus. */
export interface FollowOptions {
  /** The bound of each `wait_for` request, in ms (default 10 000; keep it below the bus's request timeout). */
  waitMs?: number | undefined;
}

/**
 * A network hiccup worth asking again about (a timeout; a request lost while NATS reconnects), as opposed to a
 * real answer. Pauses a moment so a connection that is down is not asked in a tight loop.
 */
async function notDoneIfTransient(bus: MessageBus, err: unknown): Promise<{ done: false }> {
  const lost =
    err instanceof BusError &&
    err.code === ErrorCode.BUS_UNAVAILABLE &&
    bus instanceof NatsBus &&
    bus.status !== 'closed';
  if (!(err instanceof BusError && err.code === ErrorCode.BUS_TIMEOUT) && !lost) throw err;
  await delay(100);
  return { done: false };
}

/**
 * Starts something long and resolves with how it ended: listens for its end events first, then starts it, then
 * waits in bounded steps; an end event cuts the current step short. Transient bus errors (a timeout, NATS
 * reconnecting) are asked again; a real error (no such run) is thrown.
 */
async function followToEnd<T>(
  bus: MessageBus,
  endEvents: EventName[],
  idOf: (data: unknown) => string | undefined,
  start: () => Promise<string>,
  waitFor: (id: string, ms: number) => Promise<WaitOutcome<T>>,
  waitMs: number,
): Promise<T> {
  const ended = new Set<string>();
  let wake: ((id: string) => void) | null = null;
  const subs: Subscription[] = endEvents.map((e) =>
    bus.events$(e).subscribe((ev) => {
      const id = idOf(ev.data);
      if (id === undefined) return;
      ended.add(id);
      wake?.(id);
    }),
  );
  try {
    // On NATS a subscription is live once the server has seen it: flush before starting. While NATS reconnects the
    // flush fails; the client resubscribes on reconnect and the bounded waits cover what the events miss.
    if (bus instanceof NatsBus) await bus.ready().catch(() => undefined);
    const id = await start();
    for (;;) {
      const seen = new Promise<'event'>((resolve) => {
        if (ended.has(id)) resolve('event');
        wake = (x) => x === id && resolve('event');
      });
      const step = waitFor(id, waitMs).catch((err: unknown) => notDoneIfTransient(bus, err));
      const first = await Promise.race([step, seen]);
      let outcome: WaitOutcome<T>;
      if (first === 'event') {
        // The end was announced: look now rather than wait out the step (which answers soon anyway).
        outcome = await waitFor(id, 0).catch((err: unknown) => notDoneIfTransient(bus, err));
        if (!outcome.done) outcome = await step;
        else step.catch(() => undefined);
      } else outcome = first;
      if (outcome.done) return outcome.result;
    }
  } finally {
    wake = null;
    for (const s of subs) s.unsubscribe();
  }
}

function field(name: string) {
  return (data: unknown): string | undefined => {
    const v = (data as Record<string, unknown> | null)?.[name];
    return typeof v === 'string' ? v : undefined;
  };
}

/** Follows the run that `start` starts (or names) to its end, over `workflow.wait_for` in bounded steps. */
function followRunFrom(bus: MessageBus, start: () => Promise<string>, options: FollowOptions): Promise<WorkflowResult> {
  return followToEnd(
    bus,
    RUN_END_EVENTS,
    field('runId'),
    start,
    (runId, timeoutMs) => bus.request('workflow.wait_for', { runId, timeoutMs }, { timeoutMs: timeoutMs + 5000 }),
    options.waitMs ?? DEFAULT_WAIT_MS,
  );
}

/** Starts a stored workflow over the bus and resolves with its result, however long it runs. */
export function runWorkflow(
  bus: MessageBus,
  name: string,
  request: RunRequest = {},
  options: FollowOptions = {},
): Promise<WorkflowResult> {
  return followRunFrom(bus, async () => (await bus.request('workflow.start', { name, ...request })).runId, options);
}

/** Follows a run started earlier (by anyone) to its end. */
export function followRun(bus: MessageBus, runId: string, options: FollowOptions = {}): Promise<WorkflowResult> {
  return followRunFrom(bus, () => Promise.resolve(runId), options);
}

/** Starts an ad hoc (complex) workflow over the bus and resolves with its result, however long it runs. */
export function runComplexWorkflow(
  bus: MessageBus,
  definition: Record<string, unknown>,
  request: RunRequest = {},
  options: FollowOptions = {},
): Promise<WorkflowResult> {
  return followRunFrom(
    bus,
    async () => (await bus.request('workflow.start_complex', { definition, ...request })).runId,
    options,
  );
}

/** Submits one task over the bus and resolves with its result, however long it runs. */
export function runTask(bus: MessageBus, task: Task | TaskInput, options: FollowOptions = {}): Promise<TaskResult> {
  return followToEnd(
    bus,
    TASK_END_EVENTS,
    field('taskId'),
    async () => (await bus.request('task.submit', { task: { ...task } })).taskId,
    (taskId, timeoutMs) => bus.request('task.wait_for', { taskId, timeoutMs }, { timeoutMs: timeoutMs + 5000 }),
    options.waitMs ?? DEFAULT_WAIT_MS,
  );
}

/** The daemon's workflow manager: `executeWorkflow` starts the run and follows it instead of holding a request. */
class RemoteWorkflows extends WorkflowManagerClient {
  readonly #follow: FollowOptions;
  constructor(bus: MessageBus, follow: FollowOptions) {
    super(bus, () => null);
    this.#follow = follow;
  }
  override executeWorkflow(
    name: string,
    params: Record<string, unknown> = {},
    options: Omit<RunRequest, 'params'> = {},
  ): Promise<WorkflowResult> {
    return runWorkflow(this.bus, name, { params, ...options }, this.#follow);
  }
  override waitForRun(runId: string): Promise<WorkflowResult> {
    return followRun(this.bus, runId, this.#follow);
  }
}

/** The daemon's task orchestrator: `executeTask` submits and follows instead of holding a request. */
class RemoteTasks extends TaskOrchestratorClient {
  readonly #follow: FollowOptions;
  constructor(bus: MessageBus, follow: FollowOptions) {
    super(bus, () => null);
    this.#follow = follow;
  }
  override executeTask(task: Task | TaskInput): Promise<TaskResult> {
    return runTask(this.bus, task, this.#follow);
  }
}

/** How `RemoteEngine.connect` reaches a daemon: the NATS connection, how it follows runs, and its tracing. */
export interface RemoteEngineOptions extends Omit<NatsConnectOptions, 'tracing'>, FollowOptions {
  /**
   * Traces the commands sent (a `send <command>` span each, its context in a `traceparent` header the daemon
   * continues): on with the standard `OTEL_*` variables or `{ enabled: true }`, as for an engine (docs/traces.md).
   */
  tracing?: TracingOptions | undefined;
}

/**
 * A running daemon, seen from another process: the same facades as an engine (`workflows`, `tasks`, `resources`,
 * `projects`, `getSystemStatus()`, `healthCheck()`), every call a command over NATS.
 *
 * @example
 * const daemon = await RemoteEngine.connect({ servers: 'nats://127.0.0.1:4222' });
 * const result = await daemon.workflows.executeWorkflow('ai-analysis', { path: '.' });
 * await daemon.close();
 */
export class RemoteEngine<B extends MessageBus = MessageBus> {
  readonly bus: B;
  readonly workflows: WorkflowManagerClient;
  readonly tasks: TaskOrchestratorClient;
  readonly resources: ResourceManagerClient;
  readonly projects: ProjectManagerClient;

  readonly #follow: FollowOptions;
  #tracing: Tracing | null = null;

  constructor(bus: B, follow: FollowOptions = {}) {
    this.bus = bus;
    this.#follow = follow;
    this.workflows = new RemoteWorkflows(bus, follow);
    this.tasks = new RemoteTasks(bus, follow);
    this.resources = new ResourceManagerClient(bus, () => null);
    this.projects = new ProjectManagerClient(bus, () => null);
  }

  /** Connects to NATS; a daemon not running shows on the first command (a `NotFoundError` naming the subject). */
  static async connect(options: RemoteEngineOptions = {}): Promise<RemoteEngine<NatsBus>> {
    const { tracing: tracingOptions, ...natsOptions } = options;
    const compiled = compileTracing(tracingOptions ?? {});
    const tracing = compiled.enabled ? await loadTracing(compiled) : null;
    try {
      const remote = new RemoteEngine(
        await NatsBus.connect({ name: 'codomyrmex-cli', ...natsOptions, tracing: () => tracing }),
        options,
      );
      remote.#tracing = tracing;
      return remote;
    } catch (err) {
      await tracing?.shutdown();
      if (err instanceof CodomyrmexError) throw err;
      throw natsUnreachable(options.servers, err);
    }
  }

  /** The daemon's task orchestrator, over NATS. */
  getTaskOrchestrator(): TaskOrchestratorClient {
    return this.tasks;
  }

  /** Calls `handler(eventName, data)` for every event of that name the daemon publishes; returns the unsubscribe. */
  registerEventHandler<K extends EventName>(name: K, handler: (event: K, data: EventMap[K]) => void): () => void {
    const sub = this.bus.events$(name).subscribe((e) => {
      try {
        handler(name, e.data as EventMap[K]);
      } catch {
        // A throwing handler never breaks the client (as on the engine).
      }
    });
    return () => sub.unsubscribe();
  }

  /** Runs one of a project's workflows on the daemon: started, then followed to its end (never one held request). */
  async executeProjectWorkflow(
    project: string,
    workflow: string,
    options: Omit<RunRequest, 'workingDir' | 'project' | 'version'> = {},
  ): Promise<WorkflowResult> {
    const { runId } = await this.bus.request('project.start_workflow', { name: project, workflow, ...options });
    return this.workflows.waitForRun(runId);
  }

  /** Validates and runs an ad hoc workflow on the daemon (the seed's `execute_complex_workflow`): started, then followed. */
  executeComplexWorkflow(definition: Record<string, unknown>, options: RunRequest = {}): Promise<WorkflowResult> {
    return runComplexWorkflow(this.bus, definition, options, this.#follow);
  }

  /** The daemon's modules: every module.action it can run, with its parameters as JSON Schema. */
  listModules(moduleName?: string): Promise<ActionDescription[]> {
    return this.bus.request('engine.modules', moduleName === undefined ? {} : { module: moduleName });
  }

  /** A chunk of a run's artifact from the daemon's artifact store (see `OrchestrationEngine.readArtifact`). */
  readArtifact(runId: string, step: string, name: string, offset = 0, length?: number): Promise<ArtifactChunk> {
    return this.bus.request('engine.read_artifact', {
      runId,
      step,
      name,
      offset,
      ...(length !== undefined && { length }),
    });
  }

  /** A chunk of a file uploaded as an input of a run not started yet (see `OrchestrationEngine.writeArtifact`). */
  writeArtifact(chunk: ArtifactWrite): Promise<ArtifactWritten> {
    return this.bus.request('engine.write_artifact', chunk);
  }

  /** Why a task is where it is (the daemon's `explainTask`). */
  explainTask(taskId: string): Promise<TaskExplanation> {
    return explainTaskOrStep(this.bus, taskId);
  }

  /** The daemon's sessions. */
  listSessions(status?: 'active' | 'closed'): Promise<Session[]> {
    return this.bus.request('session.list', status === undefined ? {} : { status });
  }

  /** The daemon's `getSystemStatus()`. */
  getSystemStatus(): Promise<Record<string, unknown>> {
    return this.bus.request('engine.status', {});
  }

  /** The daemon's `healthCheck()`. */
  healthCheck(): Promise<EngineHealth> {
    return this.bus.request('engine.health', {});
  }

  /** Closes the connection, and exports the spans still pending when it traces. */
  async close(): Promise<void> {
    await this.bus.close();
    await this.#tracing?.shutdown();
  }
}
export { natsTriggerTransport } from './triggers.js';
