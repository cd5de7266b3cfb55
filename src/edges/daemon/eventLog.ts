/**
 * The daemon's log of its engine's events: recovery, runs, schedules and triggers, failed tasks, store and component
 * errors at their levels, and every event at `debug`.
 */
import type { OrchestrationEngine } from '../../actors/engine/engine.js';
import type { Logger } from './logger.js';

/** Logs the engine's notable events (all of them at `debug`). */
export function logEngineEvents(e: OrchestrationEngine, log: Logger): void {
  e.registerEventHandler('recovery', (_, d) => log.info(d, 'recovered from the store'));
  e.registerEventHandler('definition_skipped', (_, d) =>
    log.warn({ file: d.file, err: d.error.message }, 'workflow definition skipped'),
  );
  e.registerEventHandler('workflow_started', (_, d) => log.info(d, 'workflow started'));
  e.registerEventHandler('workflow_completed', (_, d) =>
    d.success ? log.info(d, 'workflow completed') : log.warn(d, 'workflow ended without success'),
  );
  e.registerEventHandler('schedule_fired', (_, d) => log.info(d, 'schedule fired'));
  e.registerEventHandler('schedule_skipped', (_, d) =>
    log.info({ ...d, error: d.error?.message }, 'schedule slot skipped'),
  );
  e.registerEventHandler('schedule_missed', (_, d) =>
    log.warn(d, 'schedule slots missed (older than the catch-up window)'),
  );
  e.registerEventHandler('trigger_fired', (_, d) => log.info(d, 'trigger fired'));
  e.registerEventHandler('trigger_rejected', (_, d) => log.warn(d, 'trigger message rejected'));
  e.registerEventHandler('task_failed', (_, d) =>
    log.warn({ taskId: d.taskId, name: d.name, err: d.error.message }, 'task failed'),
  );
  e.registerEventHandler('store_failed', (_, d) => log.error(d, 'store failing'));
  e.registerEventHandler('store_recovered', (_, d) => log.info(d, 'store recovered'));
  e.registerEventHandler('component_error', (_, d) => log.error(d, 'component error'));
  e.registerEventHandler('handler_error', (_, d) => log.warn(d, 'event handler error'));
  if (log.isLevelEnabled('debug')) e.registerEventHandler('*', (event, data) => log.debug({ event, data }, 'event'));
}
