/**
 * The library edge: the seed's `get*()` functions and `createOrchestrationEngine()`. They compose an engine with
 * the edges its options ask for (the HTTP edge when `http` is set) through {@link startEdges}.
 */
import type { EngineOptions, OptionDefaults } from '../config/options.js';
import type { EngineComposition } from '../actors/engine/engine.js';
import { OrchestrationEngine } from '../actors/engine/engine.js';
import type { ProjectManagerClient } from '../actors/projects/client.js';
import type { ResourceManagerClient } from '../actors/resources/client.js';
import type { TaskOrchestratorClient } from '../actors/tasks/client.js';
import type { WorkflowManagerClient } from '../actors/workflows/client.js';
import { startEdges } from './start.js';

/** An engine with the edges its options name (HTTP when `options.http` is set). */
export function composeEngine(
  options: EngineOptions = {},
  defaults: OptionDefaults = {},
  composition: Pick<EngineComposition, 'warmStore'> = {},
): OrchestrationEngine {
  return new OrchestrationEngine(options, defaults, {
    ...composition,
    edges: (engine) => startEdges(engine, { http: engine.options.http }),
  });
}

let defaultEngine: OrchestrationEngine | undefined;

/**
 * An independent engine (tests, embedding). Remember to `shutdown()` it. Its store is in memory unless
 * `store: 'sqlite'` (or `CODOMYRMEX_STORE=sqlite`) says otherwise.
 */
export function createOrchestrationEngine(options: EngineOptions = {}): OrchestrationEngine {
  return composeEngine(options);
}

/**
 * The process's engine, created on first use with options from the environment. Its state is durable by
 * default: a SQLite database at `./.codomyrmex/state.db` (`CODOMYRMEX_DB`, `CODOMYRMEX_STORE=memory`). Once it
 * has been shut down, the next call makes a new one.
 */
export function getOrchestrationEngine(): OrchestrationEngine {
  if (defaultEngine === undefined || defaultEngine.state === 'stopped' || defaultEngine.state === 'failed') {
    const engine = composeEngine({}, { store: 'sqlite' });
    // A script that used the process engine and has nothing left to do ends here: the last commit is written and
    // the store closed, then the process exits by itself (idle threads and timers hold nothing open). A daemon
    // keeps itself alive with its own servers and connections, so it never gets here while it serves.
    const last = (): void => {
      process.off('beforeExit', last);
      if (engine.state === 'running' || engine.state === 'starting') void engine.shutdown().catch(() => undefined);
    };
    process.on('beforeExit', last);
    defaultEngine = engine;
  }
  return defaultEngine;
}

/** The process engine's resource manager. */
export function getResourceManager(): ResourceManagerClient {
  return getOrchestrationEngine().resources;
}

/** The process engine's workflow manager. */
export function getWorkflowManager(): WorkflowManagerClient {
  return getOrchestrationEngine().workflows;
}

/** The process engine's task orchestrator. */
export function getTaskOrchestrator(): TaskOrchestratorClient {
  return getOrchestrationEngine().tasks;
}

/** The process engine's project manager. */
export function getProjectManager(): ProjectManagerClient {
  return getOrchestrationEngine().projects;
}
