/**
 * The TaskOrchestrator component: an actor (XState callback logic, systemId `taskOrchestrator`) that owns a
 * {@link TaskScheduler} and serves the `task.*` commands of the bus.
 */
import { parseTaskBatch, parseTaskListFilter } from '../../model/taskRequests.js';
import { fromCallback } from 'xstate';
import type { Command } from '../../bus/protocol.js';
import { NotFoundError } from '../../errors.js';
import type { ComponentControl, ComponentReport } from '../../machines/runtime.js';
import { TaskScheduler } from './scheduler.js';
import { storedSessions } from '../sessions/manager.js';
import { waitWithin } from '../boundedWait.js';
import type { Clock } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';

import type { ComponentDeps } from '../deps.js';

/** Answers one `task.*` command. Under strict durability, replies that report a change wait for its commit. */
export function handleTaskCommand(scheduler: TaskScheduler, command: Command, clock: Clock = systemClock): unknown {
  switch (command.type) {
    case 'task.add':
      return scheduler.addMany(parseTaskBatch(command.payload.tasks)).then((ids) => scheduler.acked({ ids }));
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
    case 'task.submit':
      return scheduler.acked({ taskId: scheduler.submit(command.payload.task) });
    case 'task.wait_for':
      return waitWithin(scheduler.wait(command.payload.taskId), command.payload.timeoutMs, clock);
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
    case 'task.flow_status':
      return scheduler.flowStatus(command.payload.top);
    case 'ratelimit.create':
      return scheduler.acked(scheduler.createRateLimit(command.payload));
    case 'ratelimit.list':
      return scheduler.listRateLimits();
    case 'ratelimit.delete':
      return scheduler.acked(scheduler.deleteRateLimit(command.payload.name));
  }
}

/** The actor logic, closed over the engine's shared parts. */
export function taskOrchestratorLogic(deps: ComponentDeps) {
  return fromCallback<ComponentControl>(({ sendBack, receive }) => {
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
    scheduler.restoreRateLimits(deps.options.rateLimits);
    // Lanes of the sessions that were open, before the tasks that run in them come back.
    for (const session of storedSessions(deps, 'active')) scheduler.openLane(session.sessionId, session.mode, session.maxParallelTasks);
    const t0 = performance.now();
    const recovered = scheduler.recover();
    if (deps.store.persistent) {
      deps.bus.publish('recovery', { component: 'taskOrchestrator', store: deps.store.location, ...recovered, durationMs: performance.now() - t0 });
    }
    const stopTasks = deps.bus.serve('task', (command) => {
      if (!command.type.startsWith('task.')) throw new NotFoundError(`unknown command "${command.type}"`);
      return handleTaskCommand(scheduler, command, deps.clock);
    });
    const stopLimits = deps.bus.serve('ratelimit', (command) => {
      if (!command.type.startsWith('ratelimit.')) throw new NotFoundError(`unknown command "${command.type}"`);
      return handleTaskCommand(scheduler, command, deps.clock);
    });
    const stop = (): void => {
      stopTasks();
      stopLimits();
    };
    receive((event) => {
      if (event.type === 'component.drain') {
        // Whatever way the drain ends, the runtime hears of it: a rejected drain must not keep shutdown waiting.
        scheduler.drain(event.graceMs).then(
          () => sendBack({ type: 'component.drained', component: 'taskOrchestrator' } satisfies ComponentReport),
          (error: unknown) => sendBack({ type: 'component.drained', component: 'taskOrchestrator', error } satisfies ComponentReport),
        );
      }
    });
    return () => {
      stop();
      scheduler.dispose();
    };
  });
}
