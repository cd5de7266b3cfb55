/**
 * The Schedules component: an actor (systemId `schedules`) that owns a {@link ScheduleManager} and serves the
 * `schedule.*` commands. It loads the stored schedules at once and starts firing on `engine_started` (once the
 * workflow definitions from files are loaded, so a slot due at start finds its workflow), unless the engine's
 * `fireSchedules` is off (the one-shot CLI manages schedules without firing them).
 */
import { fromCallback } from 'xstate';
import type { Command } from '../../bus/protocol.js';
import { NotFoundError, serializeError } from '../../errors.js';
import type { ComponentControl } from '../../machines/runtime.js';
import type { ComponentDeps } from '../deps.js';
import { ScheduleManager } from './manager.js';

/** Answers one `schedule.*` command. */
export function handleScheduleCommand(manager: ScheduleManager, command: Command): unknown {
  switch (command.type) {
    case 'schedule.create':
      return manager.create(command.payload);
    case 'schedule.list':
      return manager.list();
    case 'schedule.get':
      return manager.get(command.payload.name);
    case 'schedule.pause':
      return manager.pause(command.payload.name);
    case 'schedule.resume':
      return manager.resume(command.payload.name);
    case 'schedule.delete':
      return manager.delete(command.payload.name);
    case 'schedule.trigger':
      return manager.trigger(command.payload.name);
    case 'schedule.backfill': {
      const { name, ...range } = command.payload;
      return manager.backfill(name, range);
    }
    default:
      throw new NotFoundError(`unknown command "${command.type}"`);
  }
}

/** The actor logic, closed over the engine's shared parts. */
export function schedulesLogic(deps: ComponentDeps) {
  return fromCallback<ComponentControl>(({ sendBack, receive }) => {
    const { bus } = deps;
    const manager = new ScheduleManager({ bus, clock: deps.clock, store: deps.store, commits: deps.commits });
    const t0 = performance.now();
    const loaded = manager.load();
    if (deps.store.persistent && loaded > 0) {
      bus.publish('recovery', { component: 'schedules', store: deps.store.location, resumed: loaded, byStatus: { schedules: loaded }, ids: [], rerun: [], executing: true, durationMs: performance.now() - t0 });
    }
    const started = bus.events$('engine_started').subscribe(() => {
      started.unsubscribe();
      if (!deps.options.fireSchedules) return;
      manager.start().catch((err: unknown) => bus.publish('component_error', { component: 'schedules', operation: 'start firing schedules', error: serializeError(err) }));
    });
    const stop = bus.serve('schedule', (command) => handleScheduleCommand(manager, command));
    receive((event) => {
      if (event.type === 'component.drain') {
        manager.close();
        sendBack({ type: 'component.drained', component: 'schedules' });
      }
    });
    return () => {
      started.unsubscribe();
      manager.close();
      stop();
    };
  });
}
