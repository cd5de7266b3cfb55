/**
 * The seed's `getTaskOrchestrator()` view: a thin client of the bus.
 */
import { parseTaskBatch } from '../../model/taskRequests.js';
import type { TaskListFilter } from '../../model/taskRequests.js';
import { BusClient } from '../client.js';
import type { FlowStatus, RateLimitView, SchedulerStats, StartExecutionReply, TaskView } from '../../bus/protocol.js';
import type { TaskInput, TaskResult, TaskStatus } from '../../model/task.js';
import { Task } from '../../model/task.js';

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
    const { ids } = await this.request(() =>
      this.bus.request('task.add', { tasks: parseTaskBatch(tasks).map((t) => plain(t as Task | TaskInput)) }),
    );
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

  /** Cancels a task that has not ended (a running one has its worker thread stopped); `cancelled` is false for a task that had ended already. */
  cancelTask(taskId: string, reason?: string): Promise<{ taskId: string; cancelled: boolean; status: TaskStatus }> {
    return this.request(() => this.bus.request('task.cancel', reason === undefined ? { taskId } : { taskId, reason }));
  }

  /** A task with its status, attempts, result or error; null when there is none. */
  getTask(taskId: string): Promise<TaskView | null> {
    return this.request(() => this.bus.request('task.get', { taskId }));
  }

  /** Tasks oldest first, or newest first with `newest`; `limit` and `offset` page through them (the stored ones too). */
  listTasks(filter: TaskListFilter = {}): Promise<TaskView[]> {
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

  /**
   * Creates (or replaces) a named rate limit: never more than `limit` units spent in any window of length `per`
   * (`"1s"`, `"1m"`, `"1h"`). Tasks and steps spend it with `rateLimit: { name, key?, units? }`.
   *
   * @example
   * await engine.tasks.createRateLimit({ name: 'github-api', limit: 30, per: '1m' });
   */
  createRateLimit(limit: { name: string; limit: number; per: string | number }): Promise<RateLimitView> {
    return this.request(() => this.bus.request('ratelimit.create', limit));
  }

  /** Every rate limit with its level and its busiest per-key buckets. */
  listRateLimits(): Promise<RateLimitView[]> {
    return this.request(() => this.bus.request('ratelimit.list', {}));
  }

  /** Deletes a rate limit; tasks waiting on it go on without it. */
  deleteRateLimit(name: string): Promise<{ name: string; deleted: boolean }> {
    return this.request(() => this.bus.request('ratelimit.delete', { name }));
  }

  /** The busiest concurrency keys, tasks waiting on keys or limits, rate limits, deduplicated submissions. */
  flowStatus(top?: number): Promise<FlowStatus> {
    return this.request(() => this.bus.request('task.flow_status', top === undefined ? {} : { top }));
  }

  /** Resolves with the task's result once it has ended. */
  waitForTask(taskId: string): Promise<TaskResult> {
    return this.request(() => this.bus.request('task.wait', { taskId }));
  }
}
