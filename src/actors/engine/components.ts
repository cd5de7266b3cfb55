/** The component actors one engine supervises: the runtime machine with each component's actor logic over the shared deps. */
import { runtimeMachine } from '../../machines/runtime.js';
import type { Observable } from 'rxjs';
import type { TaskDeps } from '../tasks/actor.js';
import type { TriggerTransport } from '../triggers/transport.js';
import { projectManagerLogic } from '../projects/actor.js';
import { resourceManagerLogic } from '../resources/actor.js';
import { schedulesLogic } from '../schedules/actor.js';
import { sessionManagerLogic } from '../sessions/actor.js';
import { taskOrchestratorLogic } from '../tasks/actor.js';
import { triggersLogic } from '../triggers/actor.js';
import { workflowManagerLogic } from '../workflows/actor.js';

/**
 * The shared parts, and what some components take besides (the ledger, the step intake, the trigger transport, and
 * with tracing on the run span's `traceparent` the workflow manager stores with each run).
 */
export type EngineDeps = TaskDeps & {
  triggerTransport$?: Observable<TriggerTransport | null>;
  runTraceparent?: ((runId: string) => string | null) | undefined;
};

/** The runtime machine, its components provided. */
export function componentRuntime(deps: EngineDeps): typeof runtimeMachine {
  return runtimeMachine.provide({
    actors: {
      taskOrchestrator: taskOrchestratorLogic(deps),
      workflowManager: workflowManagerLogic(deps),
      resourceManager: resourceManagerLogic(deps),
      sessions: sessionManagerLogic(deps),
      projectManager: projectManagerLogic(deps),
      schedules: schedulesLogic(deps),
      triggers: triggersLogic(deps),
    },
  });
}
