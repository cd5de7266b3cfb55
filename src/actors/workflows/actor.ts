/**
 * The WorkflowManager component: an actor (systemId `workflowManager`) that owns a {@link WorkflowManager} and
 * serves the `workflow.*` commands; steps run as tasks, handed straight to the task scheduler (stepIntake.ts), or
 * through the bus's `task.execute` when none serves them.
 * {@link WorkflowManagerClient} is the seed's `getWorkflowManager()` view.
 */
import type { CommandHandlers } from '../../bus/bus.js';
import type { Clock } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';
import { waitWithin } from '../boundedWait.js';
import { componentLogic } from '../component.js';
import type { ComponentDeps } from '../deps.js';
import type { ResourceLedger } from '../resources/ledger.js';
import type { StepIntake } from '../tasks/stepIntake.js';
import { storedSessions } from '../sessions/manager.js';
import { WorkflowManager } from './manager.js';

/** The `workflow.*` commands over one manager. */
export function workflowHandlers(manager: WorkflowManager, clock: Clock = systemClock): CommandHandlers<'workflow'> {
  return {
    'workflow.create': (p) => manager.committed(manager.definitions.create(p.definition, p.source ?? null)),
    'workflow.validate': (p) => manager.definitions.validate(p.definition),
    'workflow.get': (p) => manager.definitions.get(p.name, p.version),
    'workflow.list': () => manager.definitions.list(),
    'workflow.delete': (p) => manager.definitions.delete(p.name),
    'workflow.execute': ({ name, ...req }) => manager.acked(manager.start(name, req).done),
    // Under strict durability the id is given once the run is on disk: a start acknowledged survives a crash.
    'workflow.start': ({ name, ...req }) => manager.committed(manager.startOnce(name, req)),
    'workflow.execute_complex': ({ definition, ...req }) => manager.acked(manager.startComplex(definition, req).done),
    'workflow.start_complex': ({ definition, ...req }) =>
      manager.committed({ runId: manager.startComplex(definition, req).runId }),
    'workflow.get_run': (p) => manager.getRun(p.runId),
    'workflow.list_runs': (p) => manager.listRuns(p),
    'workflow.wait_run': (p) => manager.waitRun(p.runId),
    'workflow.wait_for': (p) => waitWithin(manager.waitRun(p.runId), p.timeoutMs, clock),
    'workflow.cancel_run': (p) => manager.cancelRun(p.runId, p.reason),
    'workflow.signal': (p) => manager.committed(manager.signalRun(p.runId, p.signal, p.payload ?? null)),
    'workflow.retry': (p) => manager.committed({ runId: manager.retryRun(p.runId, { fromStep: p.fromStep }).runId }),
    'workflow.explain_step': (p) => manager.explainStep(p.taskId),
    'workflow.performance': (p) => manager.performance.summary(p.name),
    'workflow.configure_session': (p) => {
      manager.configureSession(p.sessionId, p.maxParallelWorkflows);
      return { ok: true };
    },
    'workflow.close_session': (p) => ({ cancelledRuns: manager.closeSession(p.sessionId, p.reason) }),
  };
}

/** The actor logic, closed over the engine's shared parts. */
export function workflowManagerLogic(
  deps: ComponentDeps & {
    ledger: ResourceLedger;
    stepIntake?: StepIntake;
    /** With tracing on: a run's span as a W3C `traceparent` (null: not traced or not sampled), stored with the run. */
    runTraceparent?: ((runId: string) => string | null) | undefined;
  },
) {
  return componentLogic('workflowManager', deps, () => {
    const { bus } = deps;
    const manager = new WorkflowManager({
      bus,
      registry: deps.registry(),
      // Straight into the scheduler when it serves steps (stepIntake.ts), else over the bus.
      execute: (task, paramsChecked) =>
        deps.stepIntake?.execute(task, paramsChecked === true) ?? bus.request('task.execute', { task }),
      start: (task, done) => deps.stepIntake?.start(task, done) === true,
      cancelTask: (taskId, reason) => bus.request('task.cancel', { taskId, reason }),
      attach: async (taskId) =>
        (await bus.request('task.get', { taskId })) ? bus.request('task.wait', { taskId }) : null,
      retainRuns: deps.options.retainRuns,
      commits: deps.commits,
      store: deps.store,
      ackOnCommit: deps.options.durability === 'strict' && deps.store.persistent,
      checkResources: (req, where) => void deps.ledger.parse(req, where),
      clock: deps.clock,
      maxForEachItems: deps.options.maxForEachItems,
      idempotencyTtlMs: deps.options.idempotencyTtlMs,
      runTraceparent: deps.runTraceparent,
    });
    return {
      handlers: { workflow: workflowHandlers(manager, deps.clock) },
      recover: () => {
        for (const session of storedSessions(deps, 'active'))
          manager.configureSession(session.sessionId, session.maxParallelWorkflows);
        const recovered = manager.recover();
        return {
          resumed: recovered.resumed.length,
          byStatus: { definitions: recovered.definitions, runs: recovered.runs },
          ids: recovered.resumed,
          rerun: [],
          executing: true,
        };
      },
      // With a durable store, runs in flight are left on disk to resume; otherwise they end with their tasks.
      drain: () => (deps.store.persistent ? manager.halt() : manager.close()),
    };
  });
}
