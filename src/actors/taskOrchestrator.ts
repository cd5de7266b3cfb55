/**
 * The TaskOrchestrator component: an actor (XState callback logic, systemId `taskOrchestrator`) that owns a
 * {@link TaskScheduler} and serves the `task.*` commands of the bus. {@link TaskOrchestratorClient} is the seed's
 * `getTaskOrchestrator()` view: a thin client of the bus.
 */
import { fromCallback } from 'xstate';
import type { MessageBus } from '../bus/bus.js';
import { BusClient } from './client.js';
import type { Command, SchedulerStats, StartExecutionReply, TaskView } from '../bus/protocol.js';
import type { CompiledOptions } from '../config/options.js';
import { NotFoundError } from '../errors.js';
import type { ComponentControl, ComponentReport } from '../machines/runtime.js';
import type { TaskInput, TaskResult, TaskStatus } from '../model/task.js';
import { Task } from '../model/task.js';
import { parseTaskBatch, parseTaskListFilter } from '../model/taskRequests.js';
import type { ModuleRegistry } from '../modules/registry.js';
import type { GroupCommitter } from '../store/commits.js';
import type { Store } from '../store/store.js';
import type { WorkerPool } from '../workers/pool.js';
import type { ResourceLedger } from './resources/ledger.js';
import type { TaskObserver } from './tasks/record.js';
import { TaskScheduler } from './tasks/scheduler.js';
import { storedSessions } from './sessionManager.js';

export interface ComponentDeps {
  bus: MessageBus;
  /** Metrics' direct feed of task starts and ends (none when metrics are off). */
  taskObserver?: TaskObserver | undefined;
  ledger: ResourceLedger;
  pool: WorkerPool;
  store: Store;
  /** Writes every component's changes in group commits. */
  commits: GroupCommitter;
  registry: () => ModuleRegistry;
  options: CompiledOptions;
}

/** Answers one `task.*` command. Under strict durability, replies that report a change wait for its commit. */
export function handleTaskCommand(scheduler: TaskScheduler, command: Command): unknown {
  switch (command.type) {
    case 'task.add':
      return scheduler.acked({ ids: scheduler.add(parseTaskBatch(command.payload.tasks) as TaskInput[]) });
    case 'task.execute':
      return scheduler.execute(command.payload.task);
    case 'task.start_execution':
      return scheduler.startExecution();
    case 'task.cancel':
      return scheduler.acked(scheduler.cancel(command.payload.taskId, command.payload.reason));
    case 'task.get':
      return scheduler.get(command.payload.taskId);
    case 'task.list':
      return scheduler.list(parseTaskListFilter(command.payload));
    case 'task.wait':
      return scheduler.wait(command.payload.taskId);
    case 'task.stats':
      return scheduler.stats();
    case 'task.open_lane':
      scheduler.openLane(command.payload.sessionId, command.payload.mode, command.payload.maxParallelTasks);
      return { ok: true };
    case 'task.close_lane':
      return { cancelledTasks: scheduler.closeLane(command.payload.sessionId, command.payload.reason) };
    case 'task.explain':
      return scheduler.explain(command.payload.taskId);
    case 'task.set_concurrency':
      scheduler.setConcurrency(command.payload.maxConcurrency);
      return scheduler.stats();
  }
}

/** The actor logic, closed over the engine's shared parts. */
export function taskOrchestratorLogic(deps: ComponentDeps) {
  return fromCallback<ComponentControl>(({ sendBack, receive }) => {
    const scheduler = new TaskScheduler({
      observer: deps.taskObserver,
      bus: deps.bus,
      ledger: deps.ledger,
      pool: deps.pool,
      store: deps.store,
      commits: deps.commits,
      registry: deps.registry(),
      options: {
        maxConcurrency: deps.options.maxConcurrency,
        agingMs: deps.options.agingMs,
        abortGraceMs: deps.options.abortGraceMs,
        retainFinished: deps.options.retainFinishedTasks,
        ackOnCommit: deps.options.durability === 'strict' && deps.store.persistent,
        keepUnfinished: deps.store.persistent,
      },
    });
    // Lanes of the sessions that were open, before the tasks that run in them come back.
    for (const session of storedSessions(deps, 'active')) scheduler.openLane(session.sessionId, session.mode, session.maxParallelTasks);
    const t0 = performance.now();
    const recovered = scheduler.recover();
    if (deps.store.persistent) {
      deps.bus.publish('recovery', { component: 'taskOrchestrator', store: deps.store.location, ...recovered, durationMs: performance.now() - t0 });
    }
    const stop = deps.bus.serve('task', (command) => {
      if (!command.type.startsWith('task.')) throw new NotFoundError(`unknown command "${command.type}"`);
      return handleTaskCommand(scheduler, command);
    });
    receive((event) => {
      if (event.type === 'component.drain') {
        void scheduler.drain(event.graceMs).then(() => sendBack({ type: 'component.drained', component: 'taskOrchestrator' } satisfies ComponentReport));
      }
    });
    return stop;
  });
}

function plain(task: Task | TaskInput): TaskInput {
  return task instanceof Task ? { ...task } : task;
}

/**
 * The task orchestrator as the seed shows it. Every method is a request on the bus.
 *
 * @example
 * const orch = getTaskOrchestrator();
 * const setup = new Task({ name: 'setup', module: 'core', action: 'echo', priority: TaskPriority.HIGH });
 * await orch.addTask(setup);
 * await orch.addTask(new Task({ name: 'after', module: 'core', action: 'noop', dependencies: [setup.id] }));
 * await orch.startExecution();
 */
export class TaskOrchestratorClient extends BusClient {

  /** Queues a task; it runs once execution has started. Resolves with its id. */
  async addTask(task: Task | TaskInput): Promise<string> {
    const { ids } = await this.request(() => this.bus.request('task.add', { tasks: [plain(task)] }));
    return ids[0] ?? '';
  }

  /** Queues several tasks, all or none; they may depend on each other. */
  async addTasks(tasks: (Task | TaskInput)[]): Promise<string[]> {
    const { ids } = await this.request(() => this.bus.request('task.add', { tasks: parseTaskBatch(tasks).map((t) => plain(t as Task | TaskInput)) }));
    return ids;
  }

  /** Starts dispatching and resolves when every task added so far has ended. */
  startExecution(): Promise<StartExecutionReply> {
    return this.request(() => this.bus.request('task.start_execution', {}));
  }

  /** Runs one task now (starting execution if needed) and resolves with its result. */
  executeTask(task: Task | TaskInput): Promise<TaskResult> {
    return this.request(() => this.bus.request('task.execute', { task: plain(task) }));
  }

  cancelTask(taskId: string, reason?: string): Promise<{ taskId: string; cancelled: boolean; status: TaskStatus }> {
    return this.request(() => this.bus.request('task.cancel', reason === undefined ? { taskId } : { taskId, reason }));
  }

  getTask(taskId: string): Promise<TaskView | null> {
    return this.request(() => this.bus.request('task.get', { taskId }));
  }

  listTasks(filter: { status?: TaskStatus | TaskStatus[]; limit?: number } = {}): Promise<TaskView[]> {
    return this.request(() => this.bus.request('task.list', filter));
  }

  /** Changes how many tasks may run at once (takes effect at once; running tasks are not stopped). */
  setConcurrency(maxConcurrency: number): Promise<SchedulerStats> {
    return this.request(() => this.bus.request('task.set_concurrency', { maxConcurrency }));
  }

  /** Queue depth, running count, counts by status. */
  stats(): Promise<SchedulerStats> {
    return this.request(() => this.bus.request('task.stats', {}));
  }

  /** Resolves with the task's result once it has ended. */
  waitForTask(taskId: string): Promise<TaskResult> {
    return this.request(() => this.bus.request('task.wait', { taskId }));
  }
}
