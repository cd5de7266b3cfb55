/**
 * The TaskOrchestrator component: an actor (XState callback logic, systemId `taskOrchestrator`) that owns a
 * {@link TaskScheduler} and serves the `task.*` and `ratelimit.*` commands of the bus.
 */
import type { CommandHandlers } from '../../bus/bus.js';
import type { Clock } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';
import { parseTaskBatch, parseTaskListFilter } from '../../model/taskRequests.js';
import { waitWithin } from '../boundedWait.js';
import { componentLogic } from '../component.js';
import type { ComponentDeps } from '../deps.js';
import type { ResourceLedger } from '../resources/ledger.js';
import type { TaskObserver } from './record.js';
import type { StepIntake } from './stepIntake.js';
import { storedSessions } from '../sessions/manager.js';
import { TaskScheduler } from './scheduler.js';

/** The `task.*` commands over one scheduler. Under strict durability, replies that report a change wait for its commit. */
export function taskHandlers(scheduler: TaskScheduler, clock: Clock = systemClock): CommandHandlers<'task'> {
  return {
    'task.add': (p) => scheduler.addMany(parseTaskBatch(p.tasks)).then((ids) => scheduler.acked({ ids })),
    'task.execute': (p) => scheduler.execute(p.task),
    'task.start_execution': () => scheduler.startExecution(),
    'task.cancel': (p) => scheduler.acked(scheduler.cancel(p.taskId, p.reason)),
    'task.get': (p) => scheduler.get(p.taskId),
    'task.list': (p) => scheduler.list(parseTaskListFilter(p)),
    'task.wait': (p) => scheduler.wait(p.taskId),
    'task.submit': (p) => scheduler.acked({ taskId: scheduler.submit(p.task) }),
    'task.wait_for': (p) => waitWithin(scheduler.wait(p.taskId), p.timeoutMs, clock),
    'task.stats': () => scheduler.stats(),
    'task.open_lane': (p) => {
      scheduler.openLane(p.sessionId, p.mode, p.maxParallelTasks);
      return { ok: true };
    },
    'task.close_lane': (p) => ({ cancelledTasks: scheduler.closeLane(p.sessionId, p.reason) }),
    'task.explain': (p) => scheduler.explain(p.taskId),
    'task.set_concurrency': (p) => {
      scheduler.setConcurrency(p.maxConcurrency);
      return scheduler.stats();
    },
    'task.flow_status': (p) => scheduler.flowStatus(p.top),
  };
}

/** The `ratelimit.*` commands: the scheduler's named rate limits. */
export function rateLimitHandlers(scheduler: TaskScheduler): CommandHandlers<'ratelimit'> {
  return {
    'ratelimit.create': (p) => scheduler.acked(scheduler.rateLimits.create(p)),
    'ratelimit.list': () => scheduler.rateLimits.list(),
    'ratelimit.delete': (p) => scheduler.acked(scheduler.rateLimits.delete(p.name)),
  };
}

/** What the task orchestrator is built from: the engine's shared parts, and these. */
export interface TaskDeps extends ComponentDeps {
  ledger: ResourceLedger;
  /** Metrics' direct feed of task starts and ends (none when metrics are off). */
  taskObserver?: TaskObserver | undefined;
  /** The direct way from workflow steps to the task scheduler (see stepIntake.ts); steps use the bus without it. */
  stepIntake?: StepIntake;
}

/** The actor logic, closed over the engine's shared parts. */
export function taskOrchestratorLogic(deps: TaskDeps) {
  return componentLogic('taskOrchestrator', deps, () => {
    const scheduler = new TaskScheduler({
      observer: deps.taskObserver,
      bus: deps.bus,
      ledger: deps.ledger,
      runner: deps.runner,
      clock: deps.clock,
      store: deps.store,
      commits: deps.commits,
      registry: deps.registry(),
      options: {
        maxConcurrency: deps.options.maxConcurrency,
        agingMs: deps.options.agingMs,
        abortGraceMs: deps.options.abortGraceMs,
        retainFinished: deps.options.retainFinishedTasks,
        retainFinishedBytes: deps.options.retainFinishedTaskBytes,
        ackOnCommit: deps.options.durability === 'strict' && deps.store.persistent,
        keepUnfinished: deps.store.persistent,
        idempotencyTtlMs: deps.options.idempotencyTtlMs,
      },
    });
    // Rate limits: those stored by an earlier engine, then those of the config (which win).
    scheduler.rateLimits.restore(deps.store, deps.options.rateLimits);
    const stopSteps = deps.stepIntake?.serve(
      (task, paramsChecked) => scheduler.execute(task, { paramsChecked }),
      (task, done) => scheduler.executeStep(task, done),
    );
    return {
      handlers: { task: taskHandlers(scheduler, deps.clock), ratelimit: rateLimitHandlers(scheduler) },
      recover: () => {
        // Lanes of the sessions that were open, before the tasks that run in them come back.
        for (const session of storedSessions(deps, 'active'))
          scheduler.openLane(session.sessionId, session.mode, session.maxParallelTasks);
        return scheduler.recover();
      },
      drain: (graceMs) => scheduler.drain(graceMs),
      dispose: () => {
        stopSteps?.();
        scheduler.dispose();
      },
    };
  });
}
