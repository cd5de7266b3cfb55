/**
 * The admission gate a ready task passes on its way out of the ready queue: its concurrency keys and rate-limit
 * units, then the resources it declares (all or none), then, for a routing runner, a worker that can take it. A
 * task that can never pass is refused (it fails without running); one that must wait is parked or left waiting
 * for the key or limit that holds it back.
 */
import { ResourceUnavailableError, ValidationError } from '../../../errors.js';
import type { Clock } from '../../../model/clock.js';
import type { ResourceLedger } from '../../resources/ledger.js';
import type { ReadyTasks } from '../ready.js';
import type { TaskRecord } from '../record.js';
import type { TaskRunner } from '../../../workers/runner.js';
import { placementQuery } from '../../../workers/runner.js';
import type { FlowControl } from './flow.js';

/** What the gate reads, and how it refuses a task for good (the lifecycle fails it). */
export interface GateDeps {
  flow: FlowControl;
  ledger?: ResourceLedger | undefined;
  ready: ReadyTasks;
  runner: TaskRunner;
  clock: Clock;
  /** Ends a task that can never be admitted: `why` says what can never fit. */
  refuse: (rec: TaskRecord, why: string) => void;
}

export class AdmissionGate {
  readonly #deps: GateDeps;
  /** {@link admit}, bound once (the ready queue calls it per task). */
  readonly admitFn = (rec: TaskRecord, byResources: boolean): boolean => this.admit(rec, byResources);
  /** {@link place}, bound once; undefined when the runner does not route. */
  readonly placeFn: ((rec: TaskRecord) => boolean) | undefined;

  constructor(deps: GateDeps) {
    this.#deps = deps;
    this.placeFn = deps.runner.place ? (rec) => this.place(rec) : undefined;
  }

  /**
   * Admits a task: its concurrency keys and rate-limit units (it waits for the one that holds it back), then the
   * resources it declares (`byResources`), all or none: parked while they are held by others, failed at once when
   * they can never fit (or are gone). Keys and units are taken only once everything admits.
   */
  admit(rec: TaskRecord, byResources: boolean): boolean {
    if (rec.refusal !== null) return this.#refuse(rec, rec.refusal);
    const { flow, ledger, clock } = this.#deps;
    const now = clock.now();
    if (rec.flow) {
      try {
        if (!flow.check(rec, now)) return false;
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        return this.#refuse(rec, err.message);
      }
    }
    if (byResources && ledger && rec.held) {
      try {
        const alloc = ledger.tryAllocate(`task:${rec.id}`, rec.held, rec.spec.resources);
        if (!alloc) {
          this.#deps.ready.park(rec);
          return false;
        }
        rec.allocationId = alloc.allocationId;
      } catch (err) {
        if (!(err instanceof ResourceUnavailableError)) throw err;
        return this.#refuse(rec, err.message);
      }
    }
    flow.take(rec, now);
    return true;
  }

  /**
   * A routing runner (remote workers) with no free worker for this task: it waits parked until the runner has room
   * again (its onChange), and the next task is tried.
   */
  place(rec: TaskRecord): boolean {
    if (this.#deps.runner.place?.(placementQuery(rec.spec)) == null) return true;
    this.#deps.ready.park(rec);
    return false;
  }

  /** Gives back what admission took for an attempt that ended: its resource hold and its concurrency keys. */
  release(rec: TaskRecord, allocationId: string | null): void {
    if (allocationId !== null) this.#deps.ledger?.release(allocationId);
    this.#deps.flow.release(rec);
  }

  #refuse(rec: TaskRecord, why: string): false {
    this.#deps.refuse(rec, why);
    return false;
  }
}
