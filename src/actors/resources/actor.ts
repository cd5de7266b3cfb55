/**
 * The ResourceManager component: an actor (systemId `resourceManager`) serving `resource.*` over the engine's
 * {@link ResourceLedger}, which the task orchestrator also reads to admit tasks that declare resources.
 * {@link ResourceManagerClient} is the seed's `getResourceManager()` view.
 */
import type { CommandHandlers } from '../../bus/bus.js';
import { RecoveryError } from '../../errors.js';
import { componentLogic } from '../component.js';
import type { ComponentDeps } from '../deps.js';
import type { ResourceLedger } from './ledger.js';
import { ResourcePersistence } from './persistence.js';

/** The `resource.*` commands over one ledger; with `persistence`, added and removed resources are stored. */
export function resourceHandlers(
  ledger: ResourceLedger,
  persistence: ResourcePersistence | null = null,
): CommandHandlers<'resource'> {
  return {
    'resource.add': (p) => {
      const usage = ledger.add(p.resource);
      persistence?.added(p.resource);
      return usage;
    },
    'resource.remove': (p) => {
      const removed = ledger.remove(p.id);
      if (removed) persistence?.removed(p.id);
      return { removed };
    },
    'resource.list': () => ledger.usage(),
    'resource.allocate': (p) =>
      ledger.allocate(p.holderId, p.requirements, { ttlSeconds: p.ttlSeconds, waitSeconds: p.waitSeconds }),
    'resource.deallocate': ({ holderId }) => {
      const released = ledger.deallocate(holderId);
      return {
        holderId,
        released,
        message: released
          ? `released ${released} hold(s) of "${holderId}"`
          : `"${holderId}" holds nothing; nothing to release`,
      };
    },
    'resource.allocations': (p) => ledger.allocations(p.holderId),
  };
}

export function resourceManagerLogic(deps: ComponentDeps & { ledger: ResourceLedger }) {
  return componentLogic('resourceManager', deps, () => {
    const persistence = deps.store.persistent ? new ResourcePersistence(deps) : null;
    return {
      handlers: { resource: resourceHandlers(deps.ledger, persistence) },
      recover: () => {
        if (!persistence) return null;
        const { problems, ...counts } = persistence.recover();
        for (const problem of problems)
          deps.bus.publish('component_error', {
            component: 'resourceManager',
            operation: 'recovery',
            error: new RecoveryError(problem).toJSON(),
          });
        return { resumed: counts.restored, byStatus: counts, problems, ids: [], rerun: [], executing: true };
      },
      dispose: () => persistence?.dispose(),
    };
  });
}
