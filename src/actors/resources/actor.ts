/**
 * The ResourceManager component: an actor (systemId `resourceManager`) serving `resource.*` over the engine's
 * {@link ResourceLedger}, which the task orchestrator also reads to admit tasks that declare resources.
 * {@link ResourceManagerClient} is the seed's `getResourceManager()` view.
 */
import { fromCallback } from 'xstate';
import type { Command } from '../../bus/protocol.js';
import { NotFoundError, RecoveryError } from '../../errors.js';
import type { ComponentControl } from '../../machines/runtime.js';
import type { ResourceLedger } from './ledger.js';
import type { ComponentDeps } from '../deps.js';

import { ResourcePersistence } from './persistence.js';

export function handleResourceCommand(ledger: ResourceLedger, command: Command): unknown {
  switch (command.type) {
    case 'resource.add':
      return ledger.add(command.payload.resource);
    case 'resource.remove':
      return { removed: ledger.remove(command.payload.id) };
    case 'resource.list':
      return ledger.usage();
    case 'resource.allocate': {
      const { holderId, requirements, ttlSeconds, waitSeconds } = command.payload;
      return ledger.allocate(holderId, requirements, { ttlSeconds, waitSeconds });
    }
    case 'resource.deallocate': {
      const { holderId } = command.payload;
      const released = ledger.deallocate(holderId);
      return { holderId, released, message: released ? `released ${released} hold(s) of "${holderId}"` : `"${holderId}" holds nothing; nothing to release` };
    }
    case 'resource.allocations':
      return ledger.allocations(command.payload.holderId);
    default:
      throw new NotFoundError(`unknown command "${command.type}"`);
  }
}

export function resourceManagerLogic(deps: ComponentDeps) {
  return fromCallback<ComponentControl>(({ sendBack, receive }) => {
    const persistence = deps.store.persistent ? new ResourcePersistence(deps) : null;
    const recovered = persistence?.recover();
    if (recovered) {
      const { problems, ...counts } = recovered;
      for (const problem of problems) deps.bus.publish('component_error', { component: 'resourceManager', operation: 'recovery', error: new RecoveryError(problem).toJSON() });
      deps.bus.publish('recovery', {
        component: 'resourceManager',
        store: deps.store.location,
        resumed: recovered.restored,
        byStatus: counts,
        problems,
        ids: [],
        rerun: [],
        executing: true,
        durationMs: 0,
      });
    }
    const stop = deps.bus.serve('resource', (command) => {
      const reply = handleResourceCommand(deps.ledger, command);
      if (persistence && command.type === 'resource.add') persistence.added(command.payload.resource);
      if (persistence && command.type === 'resource.remove' && (reply as { removed: boolean }).removed) persistence.removed(command.payload.id);
      return reply;
    });
    receive((event) => {
      if (event.type === 'component.drain') sendBack({ type: 'component.drained', component: 'resourceManager' });
    });
    return () => {
      stop();
      persistence?.dispose();
    };
  });
}
