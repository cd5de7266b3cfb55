/**
 * Intake: what the scheduler checks before it accepts tasks (all or none), and the task graph: linking a task to
 * the dependencies it still waits on. Adding tasks and restoring them after a restart link them the same way.
 */
import { findCycle } from '../../dag/graph.js';
import { CycleError, NotFoundError, ValidationError } from '../../errors.js';
import type { TaskMachineEvent } from '../../machines/task.js';
import type { Held } from '../../model/resource.js';
import type { TaskSpec, TaskStatus } from '../../model/task.js';
import { isTerminal, TAG_RE } from '../../model/task.js';
import { parseTaskInput } from '../../model/taskInput.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import type { ResourceLedger } from '../resources/ledger.js';
import type { TaskRecord } from './record.js';
import type { FlowTicket } from './admission/ticket.js';
import { flowTicket } from './admission/ticket.js';

/** A task that passed intake: its spec, whether its action uses a channel, its resources in base units. */
export interface Accepted {
  spec: TaskSpec;
  channel: boolean;
  held: Held[] | null;
  /** Its concurrency keys and rate-limit use, resolved (null: none). */
  flow: FlowTicket | null;
  /** Its id was made here (the input named none): a fresh uuid no task can have, so it is not looked up. */
  minted: boolean;
}

/** A call's decision: the tasks to add, store statuses looked up, and the ids to answer when some were deduplicated. */
export interface Decided {
  accepted: Accepted[];
  /** Read only (a call that looked nothing up shares one empty map). */
  stored: Map<string, TaskStatus>;
  /** The id each input answers with, in input order; null when no input was deduplicated (the accepted ids). */
  answer: string[] | null;
  /** Inputs answered with an earlier task's id (their idempotency key was taken). */
  deduplicated: number;
}

export interface IntakeContext {
  registry: ModuleRegistry;
  ledger?: ResourceLedger | undefined;
  /** Whether a session's lane is open for new tasks. */
  laneOpen(sessionId: string | undefined): boolean;
  /** A task held in memory. */
  record(id: string): TaskRecord | undefined;
  /** An id taken by a large call whose records are being added (not all held yet). */
  reserved?(id: string): boolean;
  /** Statuses of tasks not in memory, read from the store in one lookup. */
  storedStatuses(ids: string[]): Map<string, TaskStatus>;
  /** How many finished tasks were dropped from memory so far (a counter; see {@link Intake.lookup}). */
  evictions?(): number;
  /** The task that took an idempotency key within its TTL, or null. */
  idempotent?(key: string): string | null;
  /** The problem with a task's use of a named rate limit (unknown, too many units), or null. */
  rateLimitProblem?(use: { name: string; units?: number | undefined }, field: string): string | null;
}

/** The store statuses of a call that looked none up (its readers only read it: see {@link Decided.stored}). */
const NONE_STORED = new Map<string, TaskStatus>();

/** Parameter schemas known to accept `{}` (zod schemas are immutable: the answer holds for as long as the schema). */
const emptyOk = new WeakMap<object, boolean>();

/** Whether an action's parameter schema accepts empty parameters (asked once per schema). */
function acceptsEmpty(schema: { safeParse(value: unknown): { success: boolean } }): boolean {
  let ok = emptyOk.get(schema);
  if (ok === undefined) emptyOk.set(schema, (ok = schema.safeParse({}).success));
  return ok;
}

/** A plain object with no keys at all: a schema reads in it exactly what it reads in `{}`. */
function isEmptyPlain(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype &&
    Reflect.ownKeys(value).length === 0
  );
}

/**
 * Validates a call's inputs, all or none: each input's schema, its action and parameters, unique ids, an open
 * session, resources the ledger knows, dependencies that exist (in the call, in memory or in the store), and no
 * cycle among them. Throws a `ValidationError` listing every problem, or a `CycleError` naming the cycle.
 * `paramsChecked`: the parameters were validated against the actions' schemas before (a workflow step without
 * templates, by `createWorkflow`); they are not parsed again here (the worker thread still parses them). Empty
 * parameters are not parsed either when the action's schema is known to accept `{}`.
 */
export function accept(inputs: readonly unknown[], ctx: IntakeContext, paramsChecked = false): Decided {
  const intake = new Intake(ctx, inputs.length, paramsChecked);
  for (let i = 0; i < inputs.length; i++) intake.take(inputs[i], i);
  return intake.finish();
}

/**
 * {@link accept} in two steps, so a large call can check its inputs a slice at a time (yielding between slices)
 * and decide once, all or none, in {@link finish}.
 */
export class Intake {
  readonly #ctx: IntakeContext;
  readonly #multi: boolean;
  // One intake per call, and most calls are one task: what only some calls need is made when first needed.
  readonly #problems: string[] = [];
  readonly #accepted: Accepted[] = [];
  /** The call's specs by the ids they named: the first alone, a map from the second on (see {@link spec}). */
  #first: TaskSpec | null = null;
  #batch: Map<string, TaskSpec> | null = null;
  /** Ids already reported as taken, so {@link finish} does not report them twice. */
  #taken: Set<string> | null = null;
  /** Store statuses of the ids looked up so far (see {@link lookup}). */
  #stored: Map<string, TaskStatus> | null = null;
  /** Inputs before this index are looked up and checked against the store. */
  #looked = 0;
  /** The eviction counter at the first lookup (-1: none yet, or no counter). */
  #lookedEvictions = -1;
  /** Inputs with a dependency not known when they were looked up (later in the call, or missing). */
  #unresolved: number[] | null = null;
  /** Ids of inputs with a dependency in the call: the only ones that can be on a cycle among its tasks. */
  #linked: string[] | null = null;
  /** Idempotency keys taken by inputs of this call, and the id each one answers with. */
  #keys: Map<string, string> | null = null;
  /**
   * The id each input answers with (its own, or the earlier task's with its idempotency key); made at the first
   * input answered with another's id (until then each answers with its own: the accepted ids).
   */
  #answer: string[] | null = null;
  #deduplicated = 0;

  /** The inputs' parameters were validated against their actions' schemas before (see {@link accept}). */
  readonly #paramsChecked: boolean;

  constructor(ctx: IntakeContext, total: number, paramsChecked = false) {
    this.#ctx = ctx;
    this.#multi = total > 1;
    this.#paramsChecked = paramsChecked;
  }

  /** Checks input `i` on its own (its schema, action, parameters, id, session, resources). */
  take(input: unknown, i: number): void {
    const ctx = this.#ctx;
    const problems = this.#problems;
    const where = this.#multi ? `tasks[${i}]` : 'task';
    let spec: TaskSpec;
    try {
      spec = parseTaskInput(input, where);
    } catch (err) {
      if (err instanceof ValidationError) problems.push(...err.issues);
      else throw err;
      return;
    }
    // Parsed, so an object: without an id of its own, its id is a uuid just made.
    const minted = (input as { id?: unknown }).id === undefined;
    const key = spec.idempotencyKey;
    if (key !== undefined && key !== spec.id && ctx.idempotent) {
      const first = this.#keys?.get(key) ?? ctx.idempotent(key);
      if (first !== null) {
        // The inputs before this one answer with their own ids (one that failed to parse fails the call).
        this.#answer ??= this.#accepted.map((a) => a.spec.id);
        this.#answer[i] = first;
        this.#deduplicated++;
        return;
      }
      (this.#keys ??= new Map()).set(key, spec.id);
    }
    if (this.#answer) this.#answer[i] = spec.id;
    const label = `task "${spec.name}"`;
    let channel = false;
    try {
      const def = ctx.registry.resolve(spec.module, spec.action);
      channel = def.channel === true;
      if (def.placement !== undefined) placeByModule(spec, def.placement, label, problems);
      if (!this.#paramsChecked && !(isEmptyPlain(spec.parameters) && acceptsEmpty(def.params)))
        ctx.registry.parseParams(spec.module, spec.action, spec.parameters, `${label}.parameters`);
    } catch (err) {
      if (err instanceof NotFoundError) problems.push(`${label}.module/action: ${err.message}`);
      else if (err instanceof ValidationError) problems.push(...err.issues);
      else throw err;
    }
    if (!minted && (this.#spec(spec.id) !== undefined || ctx.record(spec.id) || ctx.reserved?.(spec.id) === true)) {
      (this.#taken ??= new Set()).add(spec.id);
      problems.push(`${label}.id: a task with id "${spec.id}" already exists; ids must be unique`);
    }
    if (!ctx.laneOpen(spec.sessionId))
      problems.push(
        `${label}.sessionId: no open session "${spec.sessionId}"; create one with engine.createSession({ userId })`,
      );
    let held: Held[] | null = null;
    if (Object.keys(spec.resources).length) {
      if (!ctx.ledger) problems.push(`${label}.resources: this engine has no resource ledger`);
      else {
        try {
          held = ctx.ledger.parse(spec.resources, `${label}.resources`);
        } catch (err) {
          if (err instanceof ValidationError) problems.push(...err.issues);
          else throw err;
        }
      }
    }
    let flow: FlowTicket | null = null;
    if (spec.concurrency !== undefined || spec.rateLimit !== undefined) {
      try {
        flow = flowTicket(spec, label);
      } catch (err) {
        problems.push((err as Error).message);
      }
      const rateProblem = spec.rateLimit
        ? (ctx.rateLimitProblem?.(spec.rateLimit, `${label}.rateLimit`) ?? null)
        : null;
      if (rateProblem !== null) problems.push(rateProblem);
    }
    // A made id is named by no input nor other call (no dependency, no duplicate to find): it is not kept by id.
    if (!minted) this.#keep(spec);
    this.#accepted.push({ spec, channel, held, flow, minted });
  }

  /**
   * The ids the inputs taken so far named (those of the call, once all are taken): what another call could name
   * while this one is added (ids made here cannot be named).
   */
  get ids(): ReadonlyMap<string, TaskSpec> {
    if (this.#batch) return this.#batch;
    const first = this.#first;
    return new Map(first ? [[first.id, first]] : []);
  }

  /** The spec of the call with this id. */
  #spec(id: string): TaskSpec | undefined {
    if (this.#batch) return this.#batch.get(id);
    const first = this.#first;
    return first !== null && first.id === id ? first : undefined;
  }

  #keep(spec: TaskSpec): void {
    const first = this.#first;
    if (this.#batch) this.#batch.set(spec.id, spec);
    else if (first === null) this.#first = spec;
    else {
      this.#batch = new Map([[first.id, first]]);
      this.#batch.set(spec.id, spec);
    }
  }

  /**
   * Checks the inputs taken since the last lookup against the store (their ids, their dependencies), in one store
   * read, so a large call spreads that work over its slices. {@link finish} looks up the rest, and looks again at
   * what was not found when finished tasks were dropped from memory meanwhile (one could have been added, run and
   * dropped in between).
   */
  lookup(): void {
    const ctx = this.#ctx;
    const accepted = this.#accepted;
    if (this.#looked === 0) this.#lookedEvictions = ctx.evictions?.() ?? -1;
    const ids: string[] = [];
    for (let i = this.#looked; i < accepted.length; i++) {
      const { spec, minted } = accepted[i] as Accepted;
      if (!minted && !ctx.record(spec.id)) ids.push(spec.id);
      for (const dep of spec.dependencies) if (this.#spec(dep) === undefined && !ctx.record(dep)) ids.push(dep);
    }
    this.#read(ids);
    for (let i = this.#looked; i < accepted.length; i++) {
      const spec = (accepted[i] as Accepted).spec;
      if (spec.dependencies.length === 0) continue;
      let unresolved = false;
      let linked = false;
      for (const dep of spec.dependencies) {
        if (dep === spec.id) unresolved = true;
        else if (this.#spec(dep) !== undefined) linked = true;
        else if (!ctx.record(dep) && this.#stored?.has(dep) !== true) unresolved = true;
      }
      if (unresolved) (this.#unresolved ??= []).push(i);
      else if (linked) (this.#linked ??= []).push(spec.id);
    }
    this.#looked = accepted.length;
  }

  /** Reads statuses from the store; an id of the call found there is taken. */
  #read(ids: string[]): void {
    if (ids.length === 0) return;
    for (const [id, status] of this.#ctx.storedStatuses(ids)) {
      (this.#stored ??= new Map()).set(id, status);
      const spec = this.#spec(id);
      if (spec && this.#taken?.has(id) !== true) {
        (this.#taken ??= new Set()).add(id);
        this.#problems.push(`task "${spec.name}".id: a task with id "${id}" already exists; ids must be unique`);
      }
    }
  }

  /** Looks again for the ids (and dependencies) of the inputs looked up so far that the store did not have. */
  #reread(): void {
    const ctx = this.#ctx;
    const ids: string[] = [];
    const stored = this.#stored;
    for (let i = 0; i < this.#looked; i++) {
      const { spec, minted } = this.#accepted[i] as Accepted;
      if (!minted && !ctx.record(spec.id) && stored?.has(spec.id) !== true) ids.push(spec.id);
      for (const dep of spec.dependencies)
        if (this.#spec(dep) === undefined && !ctx.record(dep) && stored?.has(dep) !== true) ids.push(dep);
    }
    this.#read(ids);
  }

  /** The decision, all or none: dependencies, ids taken meanwhile, cycles. Throws like {@link accept}. */
  finish(): Decided {
    const ctx = this.#ctx;
    const problems = this.#problems;
    const accepted = this.#accepted;
    // Lookups made slice by slice still hold unless finished tasks left memory meanwhile.
    if (this.#looked > 0 && (this.#lookedEvictions < 0 || ctx.evictions?.() !== this.#lookedEvictions)) this.#reread();
    this.lookup();
    const stored = this.#stored ?? NONE_STORED;
    // Ids another call took while this one was checked.
    for (const { spec, minted } of accepted) {
      if (!minted && this.#taken?.has(spec.id) !== true && (ctx.record(spec.id) || ctx.reserved?.(spec.id) === true)) {
        (this.#taken ??= new Set()).add(spec.id);
        problems.push(`task "${spec.name}".id: a task with id "${spec.id}" already exists; ids must be unique`);
      }
    }
    const linked = this.#linked ?? [];
    for (const i of this.#unresolved ?? []) {
      const spec = (accepted[i] as Accepted).spec;
      let inCall = false;
      spec.dependencies.forEach((dep, j) => {
        if (dep === spec.id) problems.push(`task "${spec.name}".dependencies[${j}]: a task cannot depend on itself`);
        else if (this.#spec(dep) !== undefined) inCall = true;
        else if (!ctx.record(dep) && !stored.has(dep)) {
          problems.push(
            ctx.reserved?.(dep) === true
              ? `task "${spec.name}".dependencies[${j}]: task "${dep}" is still being added by an addTasks call that has not answered; add this task once that call has answered`
              : `task "${spec.name}".dependencies[${j}]: unknown task id "${dep}"; add that task first or in the same call`,
          );
        }
      });
      if (inCall) linked.push(spec.id);
    }
    if (problems.length) throw new ValidationError(problems);
    const cycle = linked.length ? findCycle(linked, (id) => this.#spec(id)?.dependencies) : null;
    if (cycle)
      throw new CycleError(
        cycle.map((id) => this.#spec(id)?.name ?? id),
        'task dependency',
      );
    return { accepted, stored, answer: this.#deduplicated ? this.#answer : null, deduplicated: this.#deduplicated };
  }
}

/**
 * Links a task to the dependencies it still waits on: counts them in `waitingOn` and registers it as a dependent
 * of those in memory. Returns the event that moves it on: `task.deps_met` when it waits on nothing, `task.dep_failed`
 * (with `rec.reason` set) when one ended otherwise than completed or is gone, null while it waits.
 */
export function link(
  rec: TaskRecord,
  record: (id: string) => TaskRecord | undefined,
  storedStatus: (id: string) => TaskStatus | undefined,
): TaskMachineEvent | null {
  let failed: string | null = null;
  for (const dep of rec.spec.dependencies) {
    const d = record(dep);
    const status = d ? d.status : storedStatus(dep);
    if (status === 'completed') continue;
    if (status === undefined || isTerminal(status)) {
      failed ??=
        status === undefined
          ? `dependency ${dep} is not in the store`
          : `dependency "${d?.spec.name ?? dep}" (${dep}) ended ${status}`;
      continue;
    }
    rec.waitingOn++;
    if (d) (d.dependents ??= []).push(rec.id);
  }
  if (failed !== null) {
    rec.reason = failed;
    return { type: 'task.dep_failed' };
  }
  return rec.waitingOn === 0 ? { type: 'task.deps_met' } : null;
}

/** What a finished task means for one of its dependents: the event to send it, or null while it still waits. */
export function release(dep: TaskRecord, finished: TaskRecord): TaskMachineEvent | null {
  if (dep.status !== 'pending') return null;
  if (finished.status === 'completed') return --dep.waitingOn === 0 ? { type: 'task.deps_met' } : null;
  dep.reason = `dependency "${finished.spec.name}" (${finished.id}) ended ${finished.status}`;
  return { type: 'task.dep_failed' };
}

/** Adds the tags an action declares (`placement.tags` of its definition) to the task's own. */
function placeByModule(spec: TaskSpec, placement: { tags?: unknown }, label: string, problems: string[]): void {
  const declared = Array.isArray(placement.tags) ? (placement.tags as unknown[]) : [];
  const bad = declared.filter((t) => typeof t !== 'string' || !TAG_RE.test(t));
  if (bad.length || !Array.isArray(placement.tags)) {
    problems.push(
      `${label}.module/action: ${spec.module}.${spec.action} declares placement.tags that are not tags (${JSON.stringify(placement.tags)}); fix the module`,
    );
    return;
  }
  if (declared.length === 0) return;
  spec.placement = { tags: [...new Set([...(spec.placement?.tags ?? []), ...(declared as string[])])].sort() };
}
