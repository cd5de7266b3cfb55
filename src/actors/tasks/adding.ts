/**
 * Adding tasks: inputs validated all or none, turned into records in add order, linked to their dependencies and
 * queued together (so priorities and session modes order a call, not its order), with the idempotency keys they
 * took remembered. A large call is checked and added a slice at a time (bulk.ts); the next call waits for it.
 */
import { ShuttingDownError } from '../../errors.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import type { Store } from '../../store/store.js';
import type { ResourceLedger } from '../resources/ledger.js';
import type { FlowControl } from './admission/flow.js';
import type { IdempotencyKeys } from './admission/idempotency.js';
import { ADD_SLICE, addInSlices, takeInSlices } from './bulk.js';
import type { TaskDurability } from './durability.js';
import type { IntakeContext } from './intake.js';
import { accept, Intake, link } from './intake.js';
import type { TaskLifecycle } from './lifecycle.js';
import type { ReadyTasks } from './ready.js';
import { TaskRecord } from './record.js';
import type { StepDone, StepTask } from './stepEntry.js';
import { acceptStep, DEPS_MET } from './stepEntry.js';

/** What adding needs of the scheduler. */
export interface AdderHost {
  registry: ModuleRegistry;
  ledger: ResourceLedger | undefined;
  store: Store;
  durable: TaskDurability;
  life: TaskLifecycle;
  ready: ReadyTasks;
  flow: FlowControl;
  idempotency: IdempotencyKeys;
  /** Whether the scheduler refuses new tasks (it is draining). */
  closing(): boolean;
  /** The next position in add order. */
  nextOrder(): number;
}

export class TaskAdder {
  readonly #host: AdderHost;
  /** A large addTasks call being added (see {@link addMany}); the next one waits for it. */
  #adding: Promise<void> | null = null;
  /** The ids of the large call being added while not all of its records are held yet. */
  #reserved: ReadonlyMap<string, unknown> | null = null;
  /** What intake reads of the scheduler (made once: it reads everything through the host). */
  readonly #ctx: IntakeContext;

  constructor(host: AdderHost) {
    this.#host = host;
    this.#ctx = this.#intakeContext();
  }

  /** The large call being added, if any (drain waits for it). */
  get adding(): Promise<void> | null {
    return this.#adding;
  }

  /**
   * Validates and adds tasks, all or none. Dependencies must name tasks already added or in the same call; a cycle
   * among the new tasks is refused with a `CycleError` naming it. `paramsChecked`: their parameters were validated
   * against their actions' schemas before (a workflow step's, by `createWorkflow`), so intake does not do it again.
   */
  add(inputs: readonly unknown[], paramsChecked = false): string[] {
    if (this.#host.closing()) throw new ShuttingDownError();
    this.#host.durable.refuseWhileFailing('nothing was added');
    return this.#insert(accept(inputs, this.#ctx, paramsChecked));
  }

  /**
   * Adds a workflow step's task built by the workflow layer (stepEntry.ts): accepted without intake when it is
   * plain and nothing is wrong, else through intake like any task (which refuses it naming the problem). `done` is
   * told its end. Its dependencies are the workflow's, so it is queued at once; the caller starts execution.
   */
  addStep(task: StepTask, done: StepDone): void {
    if (this.#host.closing()) throw new ShuttingDownError();
    this.#host.durable.refuseWhileFailing('nothing was added');
    const accepted = acceptStep(task, this.#ctx);
    if (!accepted) {
      this.#insert(accept([task.spec], this.#ctx, task.paramsChecked), done);
      return;
    }
    const { spec, channel } = accepted;
    const life = this.#host.life;
    const rec = new TaskRecord(spec, channel, this.#host.ready.laneFor(spec.sessionId), this.#host.nextOrder(), null);
    rec.waiters = [done];
    life.hold(rec);
    life.added(rec);
    life.push(rec, DEPS_MET);
  }

  /**
   * {@link add} for a call of any size without blocking the event loop for long: past `ADD_SLICE` inputs, the
   * inputs are checked, then added and queued, a slice at a time, yielding to other work between slices. The call
   * is still all or none: the decision is taken once all inputs passed; its tasks are kept out of commits and out
   * of the ready queue until all are in, then committed in one transaction and queued together. Other calls go on
   * meanwhile; another addTasks call waits for this one's tasks to be in before it is decided.
   */
  async addMany(inputs: readonly unknown[]): Promise<string[]> {
    // A store that cannot keep up paces the callers that add work in bulk (a single task is not held back).
    const behind = this.#host.durable.caughtUp();
    if (behind) await behind;
    if (inputs.length <= ADD_SLICE) {
      while (this.#adding) await this.#adding;
      return this.add(inputs);
    }
    if (this.#host.closing()) throw new ShuttingDownError();
    this.#host.durable.refuseWhileFailing('nothing was added');
    const intake = new Intake(this.#ctx, inputs.length);
    await takeInSlices(intake, inputs);
    while (this.#adding) await this.#adding;
    if (this.#host.closing()) throw new ShuttingDownError();
    this.#host.durable.refuseWhileFailing('nothing was added');
    const decided = intake.finish();
    if (decided.accepted.length <= ADD_SLICE) return this.#insert(decided);
    this.#host.idempotency.deduplicated += decided.deduplicated;
    this.#remember(decided.accepted);
    const adding = addInSlices(
      {
        durable: this.#host.durable,
        life: this.#host.life,
        ready: this.#host.ready,
        create: ({ spec, channel, held, flow }) =>
          new TaskRecord(spec, channel, this.#host.ready.laneFor(spec.sessionId), this.#host.nextOrder(), held, flow),
        reserve: (ids) => (this.#reserved = ids),
      },
      decided,
      intake.ids,
    );
    this.#adding = adding.then(
      () => undefined,
      () => undefined,
    );
    try {
      const ids = await adding;
      return decided.answer ?? ids;
    } finally {
      this.#adding = null;
    }
  }

  #intakeContext(): IntakeContext {
    return {
      registry: this.#host.registry,
      ledger: this.#host.ledger,
      laneOpen: (id) => this.#host.ready.laneOpen(id),
      record: (id) => this.#host.life.records.get(id),
      reserved: (id) => this.#reserved?.has(id) === true,
      storedStatuses: (ids) => this.#host.store.getTaskStatuses(ids),
      evictions: () => this.#host.life.retention.evictions,
      idempotent: (key) => this.#host.idempotency.find(key),
      rateLimitProblem: (use, field) => this.#host.flow.rates.problem(use, field),
    };
  }

  /** Records the idempotency keys the accepted tasks took. */
  #remember(accepted: readonly { spec: { id: string; idempotencyKey?: string | undefined } }[]): void {
    for (const { spec } of accepted)
      if (spec.idempotencyKey !== undefined && spec.idempotencyKey !== spec.id)
        this.#host.idempotency.remember(spec.idempotencyKey, spec.id);
  }

  /** Adds what intake accepted; `done`: told the end of the one task of a workflow step's call. */
  #insert({ accepted, stored, answer, deduplicated }: ReturnType<typeof accept>, done?: StepDone): string[] {
    this.#host.idempotency.deduplicated += deduplicated;
    this.#remember(accepted);
    const added = accepted.map(({ spec, channel, held, flow }) => {
      const rec = new TaskRecord(
        spec,
        channel,
        this.#host.ready.laneFor(spec.sessionId),
        this.#host.nextOrder(),
        held,
        flow,
      );
      if (done) rec.waiters = [done];
      this.#host.life.hold(rec);
      this.#host.life.added(rec);
      return rec;
    });
    // Queued together, then drained once: a batch is queued whole before any of it starts, so priorities and
    // session modes order the batch rather than the order of the call.
    for (const rec of added) {
      const event = link(
        rec,
        (id) => this.#host.life.records.get(id),
        (id) => stored.get(id),
      );
      if (event) this.#host.life.push(rec, event);
    }
    this.#host.life.run();
    return answer ?? added.map((r) => r.id);
  }
}
