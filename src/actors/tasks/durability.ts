/**
 * The scheduler's durability: which task records changed since the last commit, handing them to the group
 * committer, strict gating (a ready task starts only once its row is committed, so a failed write can be undone),
 * taking back what a failed commit never wrote, and restoring records after a restart.
 */
import { StoreError } from '../../errors.js';
import type { Held } from '../../model/resource.js';
import { isTerminal } from '../../model/task.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import type { GroupCommitter } from '../../store/commits.js';
import type { Store, StoredTask, WriteBatch } from '../../store/store.js';
import type { ResourceLedger } from '../resources/ledger.js';
import type { Lane } from './lanes.js';
import type { FlowTicket } from './admission/ticket.js';
import { flowTicket } from './admission/ticket.js';
import { TaskRecord, toResult } from './record.js';

export interface DurabilityDeps {
  store: Store;
  commits: GroupCommitter;
  /** Strict: answers and starts wait for commits (see `SchedulerOptions.ackOnCommit`). */
  ackOnCommit: boolean;
  /** See {@link UNWRITTEN_MAX}. */
  unwrittenMax: number;
  now: () => number;
  /** Gated records whose rows are now committed: they may queue. */
  released: (recs: TaskRecord[]) => void;
  /** A record a failed commit never wrote, under strict durability: the scheduler forgets it and tells its callers. */
  takeBack: (rec: TaskRecord, err: StoreError) => void;
  /** Called after every successful commit. */
  committed: () => void;
}

/**
 * The records of one large `addTasks` call while they are being added a slice at a time: their changes are kept
 * out of commits and they are kept out of the ready queue until the whole call is in, so the call is committed in
 * one transaction and queued whole (see {@link TaskDurability.beginBulk}).
 */
export class BulkAdd {
  readonly members = new Set<TaskRecord>();
  /** Members changed since they were added: written together by the first commit after the call is in. */
  dirty = new Set<TaskRecord>();
  /** Members that became ready: queued (or gated) together when the call is in. */
  readonly held: TaskRecord[] = [];
  /** Rows of dirty members built slice by slice (see {@link TaskDurability.snapshot}); dropped when one changes. */
  readonly rows = new Map<TaskRecord, StoredTask>();
}

function storedTask(rec: TaskRecord, now: number): StoredTask {
  const t: StoredTask = rec.binary
    ? { spec: rec.spec, status: rec.status, result: toResult(rec), retryAt: rec.retryAt, updatedAt: now, binary: true }
    : { spec: rec.spec, status: rec.status, result: toResult(rec), retryAt: rec.retryAt, updatedAt: now };
  // Committed and still open: its row is there (retention deletes only ended tasks), so its spec need not be sent.
  if (rec.committed && !isTerminal(rec.status)) t.specStored = true;
  return t;
}

/**
 * Changed records not yet written past which a new `addTasks` call waits for the writer to catch up: without it, a
 * client submitting faster than the store writes grows the backlog (and the heap) without bound, and everything
 * slows down as the garbage collector walks it.
 */
export const UNWRITTEN_MAX = 100_000;

export class TaskDurability {
  readonly #deps: DurabilityDeps;
  /** `addTasks` calls waiting for the backlog to fall under `unwrittenMax`. */
  #catchingUp: (() => void)[] = [];
  #dirty = new Set<TaskRecord>();
  /** The large addTasks call being added, if any (one at a time). */
  #bulk: BulkAdd | null = null;
  /** Rows built ahead for records in `#dirty` (a large call's), used by the next collect unless they changed. */
  #rows: Map<TaskRecord, StoredTask> | null = null;
  /** The records of the commit under way (between collect and committed/failed). */
  #batch: Set<TaskRecord> | null = null;
  /** Ready records waiting for their first commit before they may queue (strict). */
  #gated: TaskRecord[] = [];
  /** The `executing` flag to write with the next commit (null: unchanged since the last one). */
  #executing: boolean | null = null;
  /** The value in the commit under way, written again if that commit fails. */
  #sent: boolean | null = null;

  constructor(deps: DurabilityDeps) {
    this.#deps = deps;
    deps.commits.register({
      collect: (b) => this.#collect(b),
      committed: () => this.#committed(),
      failed: (e) => this.#failed(e),
      waiting: () => this.#gated.length > 0,
    });
  }

  get strict(): boolean {
    return this.#deps.ackOnCommit;
  }

  /** Records a change to be written by the next commit. */
  markDirty(rec: TaskRecord): void {
    // A store that keeps nothing across restarts needs only finished tasks (live ones are here), unless callers wait
    // for commits (strict acks), which must then see every change written.
    if (!this.#deps.store.persistent && !this.#deps.ackOnCommit && !isTerminal(rec.status)) return;
    const bulk = this.#bulk;
    if (bulk?.members.has(rec)) {
      bulk.dirty.add(rec);
      bulk.rows.delete(rec);
      return;
    }
    this.#rows?.delete(rec);
    this.#dirty.add(rec);
    this.#deps.commits.schedule();
  }

  /**
   * Records that dispatching was turned on or off by a caller. Written as it was said, not as it is at commit time:
   * a shutdown that stops dispatching must not make the next engine think execution was never started.
   */
  markExecuting(on: boolean): void {
    this.#executing = on;
    this.#deps.commits.schedule();
  }

  /**
   * Starts a large addTasks call: until {@link endBulk}, changes to the records added to `members` are not
   * committed and those that become ready are held out of the queue, so the slices it is added in, with other work
   * running between them, still commit in one transaction and queue together. One call at a time.
   */
  beginBulk(): BulkAdd {
    if (this.#bulk) throw new Error('a large addTasks call is already being added');
    return (this.#bulk = new BulkAdd());
  }

  /**
   * The call is in: its changes go to the next commit, all of them (one transaction), and its ready records queue
   * together (strict: they are gated until that commit, like any new record). Returns what may queue now.
   */
  endBulk(bulk: BulkAdd): TaskRecord[] {
    if (this.#bulk !== bulk) return [];
    this.#bulk = null;
    if (bulk.rows.size) this.#rows = bulk.rows;
    if (bulk.dirty.size) {
      // The larger set absorbs the smaller one (usually the few changes made meanwhile by others).
      if (bulk.dirty.size > this.#dirty.size) {
        for (const rec of this.#dirty) bulk.dirty.add(rec);
        this.#dirty = bulk.dirty;
      } else for (const rec of bulk.dirty) this.#dirty.add(rec);
      bulk.dirty = new Set();
      this.#deps.commits.schedule();
    }
    const ready: TaskRecord[] = [];
    for (const rec of bulk.held) {
      if (rec.where !== 'gated') continue; // cancelled meanwhile
      if (this.#deps.ackOnCommit && !rec.committed) this.#gated.push(rec);
      else {
        rec.where = null;
        ready.push(rec);
      }
    }
    return ready;
  }

  /**
   * Builds now the rows the commit after a large call will write for `recs` (its members changed so far), so that
   * commit does not build them all in one go; a member that changes again gets a fresh row.
   */
  snapshot(bulk: BulkAdd, recs: readonly TaskRecord[]): void {
    if (this.#bulk !== bulk || bulk.dirty.size === 0) return;
    const now = this.#deps.now();
    for (const rec of recs) if (bulk.dirty.has(rec)) bulk.rows.set(rec, storedTask(rec, now));
  }

  /** Holds a ready record out of the queue until its row is committed (strict); false when it may queue now. */
  gate(rec: TaskRecord): boolean {
    const bulk = this.#bulk;
    if (bulk?.members.has(rec)) {
      rec.where = 'gated';
      bulk.held.push(rec);
      return true;
    }
    if (!this.#deps.ackOnCommit || rec.committed) return false;
    rec.where = 'gated';
    this.#gated.push(rec);
    return true;
  }

  /** Its latest state is not committed yet (changed since the last commit, or in a commit still under way). */
  unwritten(rec: TaskRecord): boolean {
    return this.#dirty.has(rec) || this.#batch?.has(rec) === true || this.#bulk?.dirty.has(rec) === true;
  }

  /** Changed records the store has not written yet (waiting for a commit, or in the one under way). */
  get unwrittenCount(): number {
    return this.#dirty.size + (this.#batch?.size ?? 0);
  }

  /**
   * Resolves at once while fewer than `unwrittenMax` changed records wait for the store; else after the
   * commit that brings them under it (or a failed one: the caller then meets {@link refuseWhileFailing}).
   */
  caughtUp(): Promise<void> | null {
    if (this.unwrittenCount < this.#deps.unwrittenMax) return null;
    this.#deps.commits.schedule();
    return new Promise<void>((resolve) => this.#catchingUp.push(resolve));
  }

  #wake(all: boolean): void {
    if (this.#catchingUp.length === 0 || (!all && this.unwrittenCount >= this.#deps.unwrittenMax)) return;
    const waiting = this.#catchingUp;
    this.#catchingUp = [];
    for (const resolve of waiting) resolve();
  }

  /** Throws the store's fault while commits fail: new work is refused rather than run ahead of the disk. */
  refuseWhileFailing(what: string): void {
    const fault = this.#deps.commits.fault;
    if (fault) throw new StoreError(`${fault.message}; ${what}`, fault.code, { cause: fault });
  }

  /** `value` once the changes made so far are durable: at once unless strict, else after the commit holding them. */
  acked<T>(value: T): T | Promise<T> {
    return this.#deps.ackOnCommit ? this.#deps.commits.afterCommit(value) : value;
  }

  #collect(batch: WriteBatch): void {
    if (this.#executing !== null) {
      batch.meta['scheduler.executing'] = String(this.#executing);
      this.#sent = this.#executing;
      this.#executing = null;
    }
    if (this.#dirty.size === 0) return;
    const now = this.#deps.now();
    const rows = this.#rows;
    this.#rows = null;
    if (rows) for (const rec of this.#dirty) batch.tasks.push(rows.get(rec) ?? storedTask(rec, now));
    else for (const rec of this.#dirty) batch.tasks.push(storedTask(rec, now));
    this.#batch = this.#dirty;
    this.#dirty = new Set();
  }

  #committed(): void {
    const batch = this.#batch;
    this.#batch = null;
    this.#sent = null;
    if (batch) for (const rec of batch) rec.committed = true;
    if (this.#gated.length) {
      const gated = this.#gated;
      this.#gated = [];
      const released: TaskRecord[] = [];
      for (const rec of gated) {
        if (rec.where !== 'gated') continue;
        if (rec.committed) released.push(rec);
        else this.#gated.push(rec);
      }
      if (released.length) this.#deps.released(released);
    }
    this.#deps.committed();
    this.#wake(false);
  }

  /**
   * The commit failed: nothing of it is on disk. Under strict durability, records never committed are taken back
   * (their callers get the error, they never started); the others stay to be written by the next commit.
   */
  #failed(err: StoreError): void {
    const batch = this.#batch;
    this.#batch = null;
    this.#executing ??= this.#sent;
    this.#sent = null;
    this.#wake(true);
    if (!batch) return;
    for (const rec of batch) {
      if (this.#deps.ackOnCommit && !rec.committed) {
        this.#dirty.delete(rec);
        if (rec.where === 'gated') rec.where = null;
        this.#deps.takeBack(rec, err);
      } else this.#dirty.add(rec);
    }
  }
}

/** The parts a restored record is rebuilt with. */
export interface RestoreContext {
  registry: ModuleRegistry;
  ledger?: ResourceLedger | undefined;
  laneFor(sessionId: string | undefined): Lane<TaskRecord>;
}

/**
 * A record for a task a previous engine left unfinished, as it was stored (status, attempts, start time), marked
 * committed. An action or resource that is gone does not stop the restore: the worker refuses the action, and
 * admission refuses the resource, each failing the task with the reason.
 */
export function restoreRecord(t: StoredTask, order: number, ctx: RestoreContext): TaskRecord {
  let channel = false;
  try {
    channel = ctx.registry.resolve(t.spec.module, t.spec.action).channel === true;
  } catch {
    // The action is gone (a module folder changed): the worker refuses it and the task fails for good.
  }
  let held: Held[] | null = null;
  try {
    held = Object.keys(t.spec.resources).length && ctx.ledger ? ctx.ledger.parse(t.spec.resources) : null;
  } catch {
    // A resource it declared is gone: admission refuses it and it fails with the reason.
  }
  let flow: FlowTicket | null = null;
  try {
    flow = flowTicket(t.spec, `task "${t.spec.name}"`);
  } catch {
    // Its keys resolved when it was added, from the same spec: they still do.
  }
  const rec = new TaskRecord(t.spec, channel, ctx.laneFor(t.spec.sessionId), order, held, flow);
  rec.status = t.status;
  rec.attempts = t.result.attempts;
  rec.startedAt = t.result.startedAt;
  rec.committed = true;
  return rec;
}
