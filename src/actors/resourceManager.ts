/**
 * The ResourceManager component: an actor (systemId `resourceManager`) serving `resource.*` over the engine's
 * {@link ResourceLedger}, which the task orchestrator also reads to admit tasks that declare resources.
 * {@link ResourceManagerClient} is the seed's `getResourceManager()` view.
 */
import { fromCallback } from 'xstate';
import { BusClient } from './client.js';
import type { Command } from '../bus/protocol.js';
import { NotFoundError } from '../errors.js';
import type { ComponentControl } from '../machines/runtime.js';
import type { AllocateOptions, Allocation, Resource, ResourceInput, ResourceLedger, ResourceUsage } from './resources/ledger.js';
import type { ComponentDeps } from './taskOrchestrator.js';

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
    const stop = deps.bus.serve('resource', (command) => handleResourceCommand(deps.ledger, command));
    receive((event) => {
      if (event.type === 'component.drain') sendBack({ type: 'component.drained', component: 'resourceManager' });
    });
    return stop;
  });
}

/**
 * The resource manager as the seed shows it.
 *
 * @example
 * const rm = getResourceManager();
 * await rm.allocateResources('user123', { cpu: { cores: 2 }, memory: { gb: 4 } });
 * await rm.deallocateResources('user123');
 */
export class ResourceManagerClient extends BusClient {

  /** Registers a resource (`new Resource({...})` or a plain object). */
  addResource(resource: Resource | ResourceInput): Promise<ResourceUsage> {
    return this.request(() => this.bus.request('resource.add', { resource: { ...resource } }));
  }

  /** Removes a resource; refused while anyone holds it. */
  async removeResource(id: string): Promise<boolean> {
    return (await this.request(() => this.bus.request('resource.remove', { id }))).removed;
  }

  listResources(): Promise<ResourceUsage[]> {
    return this.request(() => this.bus.request('resource.list', {}));
  }

  /**
   * Holds all of `requirements` for `holderId` or none: refuses at once what can never fit, and otherwise grants
   * now, waits up to `waitSeconds` in FIFO order, or refuses naming what blocks it. `ttlSeconds` releases the hold
   * by itself.
   */
  allocateResources(holderId: string, requirements: Record<string, Record<string, number>>, options: AllocateOptions = {}): Promise<Allocation> {
    return this.request(() =>
      this.bus.request('resource.allocate', {
        holderId,
        requirements,
        ...(options.ttlSeconds !== undefined ? { ttlSeconds: options.ttlSeconds } : {}),
        ...(options.waitSeconds !== undefined ? { waitSeconds: options.waitSeconds } : {}),
      }),
    );
  }

  /** Releases everything `holderId` holds. Releasing nothing is not an error: `released` is 0 and `message` says so. */
  deallocateResources(holderId: string): Promise<{ holderId: string; released: number; message: string }> {
    return this.request(() => this.bus.request('resource.deallocate', { holderId }));
  }

  getAllocations(holderId?: string): Promise<Allocation[]> {
    return this.request(() => this.bus.request('resource.allocations', holderId === undefined ? {} : { holderId }));
  }

  /** Capacity, allocated, free, utilization and holders per resource. */
  getUsage(): Promise<ResourceUsage[]> {
    return this.request(() => this.bus.request('resource.list', {}));
  }
}
