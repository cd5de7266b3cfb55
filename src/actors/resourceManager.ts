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
import { RecordQueue } from '../store/commits.js';
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

/**
 * Keeps resources added at run time and holds of users and sessions in the store (task holds are not kept: a task
 * takes its holds again when it runs again), and puts them back at start.
 */
export class ResourcePersistence {
  readonly #records: RecordQueue;
  readonly #deps: ComponentDeps;

  constructor(deps: ComponentDeps) {
    this.#deps = deps;
    this.#records = new RecordQueue(deps.commits);
    deps.bus.events$('resource_allocated').subscribe((e) => {
      if (e.type !== 'resource_allocated' || e.data.holderId.startsWith('task:')) return;
      const a = deps.ledger.allocations(e.data.holderId).find((x) => x.allocationId === e.data.allocationId);
      if (a) this.#records.write('allocations', a.allocationId, { kind: 'allocations', id: a.allocationId, parent: a.holderId, status: 'held', data: a });
    });
    deps.bus.events$('resource_released').subscribe((e) => {
      if (e.type !== 'resource_released' || e.data.holderId.startsWith('task:')) return;
      this.#records.write('allocations', e.data.allocationId, { kind: 'allocations', id: e.data.allocationId, delete: true });
    });
  }

  added(resource: ResourceInput): void {
    this.#records.write('resources', resource.id, { kind: 'resources', id: resource.id, status: 'active', data: { ...resource } });
  }

  removed(id: string): void {
    this.#records.write('resources', id, { kind: 'resources', id, delete: true });
  }

  /** Re-adds stored resources, then restores holds (releasing, as expired, those whose TTL passed meanwhile). */
  recover(): { resources: number; restored: number; expired: number; refused: number } {
    const { store, ledger } = this.#deps;
    const out = { resources: 0, restored: 0, expired: 0, refused: 0 };
    for (const r of store.listRecords<ResourceInput>('resources')) {
      if (ledger.has(r.id)) continue;
      try {
        ledger.add(r.data);
        out.resources++;
      } catch {
        // A stored resource the ledger refuses now (it changed shape) is left out.
      }
    }
    for (const r of store.listRecords<Allocation>('allocations')) {
      const result = ledger.restore(r.data);
      out[result]++;
      if (result === 'refused') this.#records.write('allocations', r.id, { kind: 'allocations', id: r.id, delete: true });
    }
    return out;
  }
}

export function resourceManagerLogic(deps: ComponentDeps) {
  return fromCallback<ComponentControl>(({ sendBack, receive }) => {
    const persistence = deps.store.persistent ? new ResourcePersistence(deps) : null;
    const recovered = persistence?.recover();
    if (recovered) {
      deps.bus.publish('recovery', {
        component: 'resourceManager',
        store: deps.store.location,
        resumed: recovered.restored,
        byStatus: recovered,
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
