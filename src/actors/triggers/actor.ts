/**
 * The Triggers component: an actor (systemId `triggers`) that owns a {@link TriggerManager} and serves the
 * `trigger.*` commands. Stored triggers start taking messages on `engine_started` (unless `fireSchedules` is off);
 * NATS triggers listen once the engine has a transport (the daemon's NATS edge attaches one).
 */
import { fromCallback } from 'xstate';
import type { Command } from '../../bus/protocol.js';
import { NotFoundError } from '../../errors.js';
import type { ComponentControl } from '../../machines/runtime.js';
import type { ComponentDeps } from '../deps.js';
import { TriggerManager } from './manager.js';

/** Answers one `trigger.*` command. */
export function handleTriggerCommand(manager: TriggerManager, command: Command): unknown {
  switch (command.type) {
    case 'trigger.create':
      return manager.create(command.payload);
    case 'trigger.list':
      return manager.list();
    case 'trigger.delete':
      return manager.delete(command.payload.name);
    case 'trigger.pause':
      return manager.setPaused(command.payload.name, true);
    case 'trigger.resume':
      return manager.setPaused(command.payload.name, false);
    case 'trigger.http':
      return manager.http(command.payload.path, command.payload.body, command.payload.signature);
    default:
      throw new NotFoundError(`unknown command "${command.type}"`);
  }
}

/** The actor logic, closed over the engine's shared parts. */
export function triggersLogic(deps: ComponentDeps) {
  return fromCallback<ComponentControl>(({ sendBack, receive }) => {
    const { bus } = deps;
    const manager = new TriggerManager({ bus, store: deps.store, commits: deps.commits });
    const loaded = manager.load();
    if (deps.store.persistent && loaded > 0) {
      bus.publish('recovery', { component: 'triggers', store: deps.store.location, resumed: loaded, byStatus: { triggers: loaded }, ids: [], rerun: [], executing: true, durationMs: 0 });
    }
    let transport: { unsubscribe(): void } | null = null;
    const started = bus.events$('engine_started').subscribe(() => {
      started.unsubscribe();
      if (!deps.options.fireSchedules) return;
      manager.start();
      transport = deps.triggerTransport$?.subscribe((t) => manager.setTransport(t)) ?? null;
    });
    const stop = bus.serve('trigger', (command) => handleTriggerCommand(manager, command));
    receive((event) => {
      if (event.type === 'component.drain') {
        manager.close();
        sendBack({ type: 'component.drained', component: 'triggers' });
      }
    });
    return () => {
      started.unsubscribe();
      transport?.unsubscribe();
      manager.close();
      stop();
    };
  });
}
