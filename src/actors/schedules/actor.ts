/**
 * The Schedules component: an actor (systemId `schedules`) that owns a {@link ScheduleManager} and serves the
 * `schedule.*` commands. It loads the stored schedules at once and starts firing on `engine_started` (once the
 * workflow definitions from files are loaded, so a slot due at start finds its workflow), unless the engine's
 * `fireSchedules` is off (the one-shot CLI manages schedules without firing them).
 */
import type { CommandHandlers } from '../../bus/bus.js';
import { serializeError } from '../../errors.js';
import { componentLogic } from '../component.js';
import type { ComponentDeps } from '../deps.js';
import { ScheduleManager } from './manager.js';

/** The `schedule.*` commands over one manager. */
export function scheduleHandlers(manager: ScheduleManager): CommandHandlers<'schedule'> {
  return {
    'schedule.create': (p) => manager.create(p),
    'schedule.list': () => manager.list(),
    'schedule.get': (p) => manager.get(p.name),
    'schedule.pause': (p) => manager.pause(p.name),
    'schedule.resume': (p) => manager.resume(p.name),
    'schedule.delete': (p) => manager.delete(p.name),
    'schedule.trigger': (p) => manager.trigger(p.name),
    'schedule.backfill': ({ name, ...range }) => manager.backfill(name, range),
  };
}

/** The actor logic, closed over the engine's shared parts. */
export function schedulesLogic(deps: ComponentDeps) {
  return componentLogic('schedules', deps, () => {
    const { bus } = deps;
    const manager = new ScheduleManager({ bus, clock: deps.clock, store: deps.store, commits: deps.commits });
    const started = bus.events$('engine_started').subscribe(() => {
      started.unsubscribe();
      if (!deps.options.fireSchedules) return;
      manager.start().catch((err: unknown) =>
        bus.publish('component_error', {
          component: 'schedules',
          operation: 'start firing schedules',
          error: serializeError(err),
        }),
      );
    });
    return {
      handlers: { schedule: scheduleHandlers(manager) },
      recover: () => {
        const loaded = manager.load();
        return loaded > 0
          ? { resumed: loaded, byStatus: { schedules: loaded }, ids: [], rerun: [], executing: true }
          : null;
      },
      drain: () => manager.close(),
      dispose: () => {
        started.unsubscribe();
        manager.close();
      },
    };
  });
}
