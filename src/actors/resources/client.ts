/** The seed's `getResourceManager()` view: a thin client of the bus. */
import { BusClient } from '../client.js';
import type { AllocateOptions, Allocation, Resource, ResourceInput, ResourceUsage } from './ledger.js';

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

  /** Every resource with its capacity and what is allocated. */
  listResources(): Promise<ResourceUsage[]> {
    return this.request(() => this.bus.request('resource.list', {}));
  }

  /**
   * Holds all of `requirements` for `holderId` or none: refuses at once what can never fit, and otherwise grants
   * now, waits up to `waitSeconds` in FIFO order, or refuses naming what blocks it. `ttlSeconds` releases the hold
   * by itself.
   */
  allocateResources(
    holderId: string,
    requirements: Record<string, Record<string, number>>,
    options: AllocateOptions = {},
  ): Promise<Allocation> {
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

  /** Every allocation, or those of one holder (a task or session id). */
  getAllocations(holderId?: string): Promise<Allocation[]> {
    return this.request(() => this.bus.request('resource.allocations', holderId === undefined ? {} : { holderId }));
  }

  /** Capacity, allocated, free, utilization and holders per resource. */
  getUsage(): Promise<ResourceUsage[]> {
    return this.request(() => this.bus.request('resource.list', {}));
  }
}
