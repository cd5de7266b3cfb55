/**
 * The WorkflowManager component: an actor (systemId `workflowManager`) that owns a {@link WorkflowManager} and
 * serves the `workflow.*` commands; steps run as tasks through the bus's `task.execute`.
 * {@link WorkflowManagerClient} is the seed's `getWorkflowManager()` view.
 */
import { fromCallback } from 'xstate';
import { BusClient } from './client.js';
import type { Command, RunRequest, WorkflowPerformance, WorkflowSummary } from '../bus/protocol.js';
import type { WorkflowRunStatus } from '../bus/protocol.js';
import { NotFoundError } from '../errors.js';
import type { ComponentControl } from '../machines/runtime.js';
import type { StoredWorkflow, WorkflowDefinition, WorkflowResult, WorkflowRun, WorkflowStep } from '../model/workflow.js';
import type { ComponentDeps } from './taskOrchestrator.js';
import { WorkflowManager } from './workflows/manager.js';
import { storedSessions } from './sessionManager.js';

/** Answers one `workflow.*` command. */
export function handleWorkflowCommand(manager: WorkflowManager, command: Command): unknown {
  switch (command.type) {
    case 'workflow.create':
      return manager.create(command.payload.definition, command.payload.source ?? null);
    case 'workflow.validate':
      return manager.validate(command.payload.definition);
    case 'workflow.get':
      return manager.get(command.payload.name, command.payload.version);
    case 'workflow.list':
      return manager.list();
    case 'workflow.delete':
      return manager.delete(command.payload.name);
    case 'workflow.execute': {
      const { name, ...req } = command.payload;
      return manager.acked(manager.start(name, req).done);
    }
    case 'workflow.start': {
      const { name, ...req } = command.payload;
      return { runId: manager.start(name, req).runId };
    }
    case 'workflow.execute_complex': {
      const { definition, ...req } = command.payload;
      return manager.acked(manager.startComplex(definition, req).done);
    }
    case 'workflow.get_run':
      return manager.getRun(command.payload.runId);
    case 'workflow.list_runs':
      return manager.listRuns(command.payload);
    case 'workflow.wait_run':
      return manager.waitRun(command.payload.runId);
    case 'workflow.cancel_run':
      return manager.cancelRun(command.payload.runId, command.payload.reason);
    case 'workflow.performance':
      return manager.performance(command.payload.name);
    case 'workflow.configure_session':
      manager.configureSession(command.payload.sessionId, command.payload.maxParallelWorkflows);
      return { ok: true };
    case 'workflow.close_session':
      return { cancelledRuns: manager.closeSession(command.payload.sessionId, command.payload.reason) };
    default:
      throw new NotFoundError(`unknown command "${command.type}"`);
  }
}

/** The actor logic, closed over the engine's shared parts. */
export function workflowManagerLogic(deps: ComponentDeps) {
  return fromCallback<ComponentControl>(({ sendBack, receive }) => {
    const { bus } = deps;
    const manager = new WorkflowManager({
      bus,
      registry: deps.registry(),
      execute: (task) => bus.request('task.execute', { task }),
      cancelTask: (taskId, reason) => bus.request('task.cancel', { taskId, reason }),
      attach: async (taskId) => ((await bus.request('task.get', { taskId })) ? bus.request('task.wait', { taskId }) : null),
      retainRuns: deps.options.retainRuns,
      commits: deps.commits,
      store: deps.store,
      ackOnCommit: deps.options.durability === 'strict' && deps.store.persistent,
      checkResources: (req, where) => void deps.ledger.parse(req, where),
    });
    for (const session of storedSessions(deps, 'active')) manager.configureSession(session.sessionId, session.maxParallelWorkflows);
    const t0 = performance.now();
    const recovered = manager.recover();
    if (deps.store.persistent) {
      bus.publish('recovery', {
        component: 'workflowManager',
        store: deps.store.location,
        resumed: recovered.resumed.length,
        byStatus: { definitions: recovered.definitions, runs: recovered.runs },
        ids: recovered.resumed,
        rerun: [],
        executing: true,
        durationMs: performance.now() - t0,
      });
    }
    const stop = bus.serve('workflow', (command) => handleWorkflowCommand(manager, command));
    receive((event) => {
      if (event.type === 'component.drain') {
        // With a durable store, runs in flight are left on disk to resume; otherwise they end with their tasks.
        if (deps.store.persistent) manager.halt();
        else manager.close();
        sendBack({ type: 'component.drained', component: 'workflowManager' });
      }
    });
    return stop;
  });
}

/** A definition or the seed's `(name, steps)` pair. */
export interface CreateWorkflowOptions {
  description?: string;
  version?: string;
  parallelGroups?: string[][];
  params?: Record<string, unknown>;
}

/**
 * The workflow manager as the seed shows it. Every method is a request on the bus.
 *
 * @example
 * const wf = getWorkflowManager();
 * await wf.createWorkflow('ai_analysis', [
 *   { name: 'analyze_code', module: 'core', action: 'echo', parameters: { path: '.' } },
 *   { name: 'generate_insights', module: 'core', action: 'echo', parameters: { analysis_data: '{{analyze_code.output}}' }, dependencies: ['analyze_code'] },
 * ]);
 * const result = await wf.executeWorkflow('ai_analysis');
 */
export class WorkflowManagerClient extends BusClient {

  /**
   * Validates and stores a workflow; refuses with a `ValidationError` listing every problem. The same definition
   * again is a no-op; a changed one is stored as the next version.
   */
  async createWorkflow(name: string, steps: WorkflowStep[], options: CreateWorkflowOptions = {}): Promise<StoredWorkflow> {
    const { workflow } = await this.request(() => this.bus.request('workflow.create', { definition: { name, steps, ...options } }));
    return workflow;
  }

  /** Stores a whole definition (as loaded from YAML/JSON; snake_case keys accepted). Returns it with any warnings. */
  defineWorkflow(definition: WorkflowDefinition | Record<string, unknown>): Promise<{ workflow: StoredWorkflow; created: boolean; warnings: string[] }> {
    return this.request(() => this.bus.request('workflow.create', { definition }));
  }

  /** Every problem of a definition, without storing anything. */
  validateWorkflow(definition: WorkflowDefinition | Record<string, unknown>): Promise<{ valid: boolean; errors: string[]; warnings: string[] }> {
    return this.request(() => this.bus.request('workflow.validate', { definition }));
  }

  getWorkflow(name: string, version?: string): Promise<StoredWorkflow | null> {
    return this.request(() => this.bus.request('workflow.get', version === undefined ? { name } : { name, version }));
  }

  listWorkflows(): Promise<WorkflowSummary[]> {
    return this.request(() => this.bus.request('workflow.list', {}));
  }

  async deleteWorkflow(name: string): Promise<boolean> {
    return (await this.request(() => this.bus.request('workflow.delete', { name }))).deleted;
  }

  /** Runs a workflow to its end. `params` are readable as `{{params.x}}`. */
  executeWorkflow(name: string, params: Record<string, unknown> = {}, options: Omit<RunRequest, 'params'> = {}): Promise<WorkflowResult> {
    return this.request(() => this.bus.request('workflow.execute', { name, params, ...options }));
  }

  /** Starts a run and returns its id at once (follow it with `getRun`, `waitForRun`, `cancelRun`). */
  async startWorkflow(name: string, params: Record<string, unknown> = {}, options: Omit<RunRequest, 'params'> = {}): Promise<string> {
    return (await this.request(() => this.bus.request('workflow.start', { name, params, ...options }))).runId;
  }

  getRun(runId: string): Promise<WorkflowRun | null> {
    return this.request(() => this.bus.request('workflow.get_run', { runId }));
  }

  listRuns(filter: { workflowName?: string; status?: WorkflowRunStatus; limit?: number } = {}): Promise<WorkflowRun[]> {
    return this.request(() => this.bus.request('workflow.list_runs', filter));
  }

  waitForRun(runId: string): Promise<WorkflowResult> {
    return this.request(() => this.bus.request('workflow.wait_run', { runId }));
  }

  cancelRun(runId: string, reason?: string): Promise<{ runId: string; cancelled: boolean; status: WorkflowRunStatus }> {
    return this.request(() => this.bus.request('workflow.cancel_run', reason === undefined ? { runId } : { runId, reason }));
  }

  /** Runs, successes, failures and p50/p95/max duration per workflow (all, or the one named). */
  getPerformanceSummary(name?: string): Promise<WorkflowPerformance[]> {
    return this.request(() => this.bus.request('workflow.performance', name === undefined ? {} : { name }));
  }
}
