/**
 * What every component actor is built from: the engine's shared parts. A component that needs more (the resource
 * ledger, the step intake, the trigger transport) says so in its own logic's signature, so this file names nothing
 * of the components' own and they all import it without a circle.
 */
import type { Clock } from '../model/clock.js';
import type { MessageBus } from '../bus/bus.js';
import type { CompiledOptions } from '../config/options.js';
import type { ModuleRegistry } from '../modules/registry.js';
import type { GroupCommitter } from '../store/commits.js';
import type { Store } from '../store/store.js';
import type { WorkerPool } from '../workers/pool.js';
import type { TaskRunner } from '../workers/runner.js';

export interface ComponentDeps {
  /** Where task attempts run (the local pool, or the daemon's runner with remote workers). */
  runner: TaskRunner;
  /** Time and timers (a fake one in tests). */
  clock: Clock;
  bus: MessageBus;
  pool: WorkerPool;
  store: Store;
  /** Writes every component's changes in group commits. */
  commits: GroupCommitter;
  registry: () => ModuleRegistry;
  options: CompiledOptions;
}
