/**
 * The WorkflowManager component: an actor (systemId `workflowManager`) that owns a {@link WorkflowManager} and
 * serves the `workflow.*` commands; steps run as tasks through the bus's `task.execute`.
 * {@link WorkflowManagerClient} is the seed's `getWorkflowManager()` view.
 */
import { fromCallback } from 'xstate';
import type { Command } from '../../bus/protocol.js';
import { NotFoundError } from '../../errors.js';
import type { ComponentControl } from '../../machines/runtime.js';
import type { ComponentDeps } from '../deps.js';
import { WorkflowManager } from './manager.js';
import { storedSessions } from '../sessions/manager.js';
import { waitWithin } from '../boundedWait.js';
import type { Clock } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';

/** Answers one `workflow.*` command. */
export function handleWorkflowCommand(manager: WorkflowManager, command: Command, clock: Clock = systemClock): unknown {
  switch (command.type) {
    case 'workflow.create':
      return manager.committed(manager.create(command.payload.definition, command.payload.source ?? null));
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
      // Under strict durability the id is given once the run is on disk: a start acknowledged survives a crash.
      return manager.committed(manager.startOnce(name, req));
    }
    case 'workflow.execute_complex': {
      const { definition, ...req } = command.payload;
      return manager.acked(manager.startComplex(definition, req).done);
    }
    case 'workflow.start_complex': {
      const { definition, ...req } = command.payload;
      return manager.committed({ runId: manager.startComplex(definition, req).runId });
    }
    case 'workflow.get_run':
      return manager.getRun(command.payload.runId);
    case 'workflow.list_runs':
      return manager.listRuns(command.payload);
    case 'workflow.wait_run':
      return manager.waitRun(command.payload.runId);
    case 'workflow.wait_for':
      return waitWithin(manager.waitRun(command.payload.runId), command.payload.timeoutMs, clock);
    case 'workflow.cancel_run':
      return manager.cancelRun(command.payload.runId, command.payload.reason);
    case 'workflow.signal':
      return manager.committed(manager.signalRun(command.payload.runId, command.payload.signal, command.payload.payload ?? null));
    case 'workflow.retry':
      return manager.committed({ runId: manager.retryRun(command.payload.runId, { fromStep: command.payload.fromStep }).runId });
    case 'workflow.explain_step':
      return manager.explainStep(command.payload.taskId);
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
      clock: deps.clock,
      maxForEachItems: deps.options.maxForEachItems,
      idempotencyTtlMs: deps.options.idempotencyTtlMs,
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
    const stop = bus.serve('workflow', (command) => handleWorkflowCommand(manager, command, deps.clock));
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
