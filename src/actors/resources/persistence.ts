/** Writes run-time resources and user holds to the store and restores them at start. */
import { RecordQueue } from '../../store/commits.js';
import type { Allocation, ResourceInput, ResourceLedger } from './ledger.js';
import type { ComponentDeps } from '../deps.js';

/**
 * Keeps resources added at run time and holds of users and sessions in the store (task holds are not kept: a task
 * takes its holds again when it runs again), and puts them back at start.
 */
export class ResourcePersistence {
  readonly #records: RecordQueue;
  readonly #deps: ComponentDeps & { ledger: ResourceLedger };
  readonly #subs: { unsubscribe(): void }[];

  constructor(deps: ComponentDeps & { ledger: ResourceLedger }) {
    this.#deps = deps;
    this.#records = new RecordQueue(deps.commits);
    const allocated = deps.bus.events$('resource_allocated').subscribe((e) => {
      if (e.type !== 'resource_allocated' || e.data.holderId.startsWith('task:')) return;
      const a = deps.ledger.allocations(e.data.holderId).find((x) => x.allocationId === e.data.allocationId);
      if (a)
        this.#records.write('allocations', a.allocationId, {
          kind: 'allocations',
          id: a.allocationId,
          parent: a.holderId,
          status: 'held',
          data: a,
        });
    });
    const released = deps.bus.events$('resource_released').subscribe((e) => {
      if (e.type !== 'resource_released' || e.data.holderId.startsWith('task:')) return;
      this.#records.write('allocations', e.data.allocationId, {
        kind: 'allocations',
        id: e.data.allocationId,
        delete: true,
      });
    });
    this.#subs = [allocated, released];
  }

  /** Stops following the ledger's events. */
  dispose(): void {
    for (const s of this.#subs.splice(0)) s.unsubscribe();
  }

  added(resource: ResourceInput): void {
    this.#records.write('resources', resource.id, {
      kind: 'resources',
      id: resource.id,
      status: 'active',
      data: { ...resource },
    });
  }

  removed(id: string): void {
    this.#records.write('resources', id, { kind: 'resources', id, delete: true });
  }

  /** Re-adds stored resources, then restores holds (releasing, as expired, those whose TTL passed meanwhile). */
  recover(): { resources: number; restored: number; expired: number; refused: number; problems: string[] } {
    const { store, ledger } = this.#deps;
    const out = { resources: 0, restored: 0, expired: 0, refused: 0, problems: [] as string[] };
    for (const r of store.listRecords<ResourceInput>('resources')) {
      if (ledger.has(r.id)) continue;
      try {
        ledger.add(r.data);
        out.resources++;
      } catch (err) {
        // A stored resource the ledger refuses now (it changed shape) is left out, and said so.
        out.problems.push(`resource "${r.id}" was not restored: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (const r of store.listRecords<Allocation>('allocations')) {
      const result = ledger.restore(r.data);
      out[result]++;
      if (result === 'refused')
        this.#records.write('allocations', r.id, { kind: 'allocations', id: r.id, delete: true });
    }
    return out;
  }
}
