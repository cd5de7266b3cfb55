/** What every component actor is built from: the engine's shared parts. */
import type { Clock } from '../model/clock.js';
import type { TaskRunner } from './tasks/runner.js';
import type { MessageBus } from '../bus/bus.js';
import type { CompiledOptions } from '../config/options.js';
import type { ModuleRegistry } from '../modules/registry.js';
import type { GroupCommitter } from '../store/commits.js';
import type { Store } from '../store/store.js';
import type { WorkerPool } from '../workers/pool.js';
import type { ResourceLedger } from './resources/ledger.js';
import type { TaskObserver } from './tasks/record.js';
import type { Observable } from 'rxjs';
import type { TriggerTransport } from './triggers/transport.js';
import type { StepIntake } from './tasks/stepIntake.js';

export interface ComponentDeps {
  /** Where task attempts run (the local pool; a remote runner later). */
  runner: TaskRunner;
  /** Time and timers (a fake one in tests). */
  clock: Clock;
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
  /** The message system NATS triggers listen on, once an edge attaches one (see `engine.attachTriggerTransport`). */
  triggerTransport$?: Observable<TriggerTransport | null>;
  /** The direct way from workflow steps to the task scheduler (see stepIntake.ts); steps use the bus without it. */
  stepIntake?: StepIntake;
  /**
   * With tracing on: the W3C `traceparent` of a run's span (null: not traced or not sampled). Stored with the run, so
   * the span of a run resumed after a restart links to the one it started with.
   */
  runTraceparent?: ((runId: string) => string | null) | undefined;
}
