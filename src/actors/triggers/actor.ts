/**
 * The Triggers component: an actor (systemId `triggers`) that owns a {@link TriggerManager} and serves the
 * `trigger.*` commands. Stored triggers start taking messages on `engine_started` (unless `fireSchedules` is off);
 * NATS triggers listen once the engine has a transport (the daemon's NATS edge attaches one).
 */
import type { CommandHandlers } from '../../bus/bus.js';
import { componentLogic } from '../component.js';
import type { Observable } from 'rxjs';
import type { ComponentDeps } from '../deps.js';
import type { TriggerTransport } from './transport.js';
import { TriggerManager } from './manager.js';

/** The `trigger.*` commands over one manager. */
export function triggerHandlers(manager: TriggerManager): CommandHandlers<'trigger'> {
  return {
    'trigger.create': (p) => manager.create(p),
    'trigger.list': () => manager.list(),
    'trigger.delete': (p) => manager.delete(p.name),
    'trigger.pause': (p) => manager.setPaused(p.name, true),
    'trigger.resume': (p) => manager.setPaused(p.name, false),
    'trigger.http': (p) => manager.http(p.path, p.body, p.signature),
  };
}

/** The actor logic, closed over the engine's shared parts. */
export function triggersLogic(deps: ComponentDeps & { triggerTransport$?: Observable<TriggerTransport | null> }) {
  return componentLogic('triggers', deps, () => {
    const { bus } = deps;
    const manager = new TriggerManager({ bus, store: deps.store, commits: deps.commits });
    let transport: { unsubscribe(): void } | null = null;
    const started = bus.events$('engine_started').subscribe(() => {
      started.unsubscribe();
      if (!deps.options.fireSchedules) return;
      manager.start();
      transport = deps.triggerTransport$?.subscribe((t) => manager.setTransport(t)) ?? null;
    });
    return {
      handlers: { trigger: triggerHandlers(manager) },
      recover: () => {
        const loaded = manager.load();
        return loaded > 0
          ? { resumed: loaded, byStatus: { triggers: loaded }, ids: [], rerun: [], executing: true }
          : null;
      },
      drain: () => manager.close(),
      dispose: () => {
        started.unsubscribe();
        transport?.unsubscribe();
        manager.close();
      },
    };
  });
}
