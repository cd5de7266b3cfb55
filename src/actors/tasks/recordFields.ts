/**
 * How a task record keeps its fields compactly: a million queued tasks each hold a spec, a status and a place in a
 * queue, and nothing of what a task gathers once it runs (attempts, timers, output, error, holds, graph edges). So
 * those fields live in a side object made at the first write of one of them (reading one never written gives its
 * default), and the booleans share one word of flags. `TaskRecord` (record.ts) extends this.
 */
import type { SerializedError } from '../../errors.js';
import type { ArtifactRef } from '../../model/artifacts.js';
import type { ClockTimer } from '../../model/clock.js';
import type { HeldKey } from '../../model/flow.js';
import type { Held } from '../../model/resource.js';
import type { RunningAttempt } from '../../workers/runner.js';
import type { FlowTicket } from './admission/ticket.js';

/**
 * The fields of a task record that a plain queued task never sets (its attempts, timers, output, error, holds,
 * graph edges, ...): kept in this object, made at the first write of one of them, so that a million queued tasks do
 * not each carry twenty empty fields.
 */
class RecordExtras {
  attempts: number = 0;
  /** Dependencies not yet completed. */
  waitingOn: number = 0;
  dependents: string[] | null = null;
  startedAt: number | null = null;
  endedAt: number | null = null;
  output: unknown = null;
  /** The artifacts its successful attempt stored (null: none). */
  artifacts: ArtifactRef[] | null = null;
  /** Estimated stored size of `output` (from the worker), for the memory bound on finished tasks. */
  outputBytes: number = 0;
  error: SerializedError | null = null;
  /** The attempt in flight, null when none. */
  run: RunningAttempt | null = null;
  /** The worker of the latest attempt (`local` for the engine's own threads); null before the first. */
  worker: string | null = null;
  /** The attempt's timeout, or the backoff before the next attempt. */
  timer: ClockTimer | null = null;
  /** After a cooperative abort: when the attempt's thread is terminated if it has not stopped. */
  graceTimer: ClockTimer | null = null;
  retryAt: number | null = null;
  lastDelayMs: number = 0;
  /** Why it was cancelled or skipped. */
  reason: string = '';
  /** Why it can never be admitted (a resource it declared is gone after a restart); null when nothing is wrong. */
  refusal: string | null = null;
  /** The hold of the attempt in flight. */
  allocationId: string | null = null;
  /** The key it waits for while `keyed`. */
  waitKey: HeldKey | null = null;

  constructor(
    readonly held: Held[] | null,
    readonly flow: FlowTicket | null,
  ) {}
}

/** Bits of task record's flags. */
const USES_CHANNEL = 1;
const BINARY = 2;
const BATCHED = 4;
const ALONE = 8;
const COMMITTED = 16;
const KEYS_HELD = 32;
/** `readyAt` is kept relative to {@link TIME_BASE}. */
const READY_RELATIVE = 64;

/**
 * `readyAt` is kept as its distance from this (ms) while that is a 32-bit integer, as it is for the system clock's
 * times within 24 days of start: V8 then holds it as a small integer in the record, not as a heap number per task.
 */
const TIME_BASE = Date.now();

/** The fields of a task record a queued task does not use, behind accessors (see this module's description). */
export class RecordFields {
  #flags: number;
  #x: RecordExtras | null;
  #ready = 0;

  constructor(usesChannel: boolean, held: Held[] | null, flow: FlowTicket | null) {
    this.#flags = usesChannel ? USES_CHANNEL : 0;
    this.#x = held !== null || flow !== null ? new RecordExtras(held, flow) : null;
  }

  /** The side object, made now if no field of it was written yet. */
  #extras(): RecordExtras {
    return (this.#x ??= new RecordExtras(null, null));
  }

  /** When it last became ready (epoch ms; 0 before). */
  get readyAt(): number {
    return (this.#flags & READY_RELATIVE) !== 0 ? this.#ready + TIME_BASE : this.#ready;
  }
  set readyAt(ms: number) {
    const d = ms - TIME_BASE;
    if ((d | 0) === d) {
      // `| 0` makes it a small integer: the difference of two heap numbers is one too, even when integral.
      this.#ready = d | 0;
      this.#flags |= READY_RELATIVE;
    } else {
      this.#ready = ms;
      this.#flags &= ~READY_RELATIVE;
    }
  }

  /** Its action has a channel (cooperative abort, progress). */
  get usesChannel(): boolean {
    return (this.#flags & USES_CHANNEL) !== 0;
  }
  /** Its resources in base units, checked when it was added (null: none). */
  get held(): Held[] | null {
    return this.#x?.held ?? null;
  }
  /** Its concurrency keys and rate-limit use, resolved (null: none). */
  get flow(): FlowTicket | null {
    return this.#x?.flow ?? null;
  }
  /** The key it is queued under, for round-robin among keys (its first concurrency key). */
  get fairKey(): string | null {
    return this.#x?.flow?.keys[0]?.key ?? null;
  }

  /** `output` holds binary data. */
  get binary(): boolean {
    return (this.#flags & BINARY) !== 0;
  }
  set binary(on: boolean) {
    this.#flags = on ? this.#flags | BINARY : this.#flags & ~BINARY;
  }
  /** Its attempt went out in a batch (see `TaskRunner.startBatch`). */
  get batched(): boolean {
    return (this.#flags & BATCHED) !== 0;
  }
  set batched(on: boolean) {
    this.#flags = on ? this.#flags | BATCHED : this.#flags & ~BATCHED;
  }
  /** A batch it was in lost its thread: it runs alone from now on (so a task that crashes threads fails alone). */
  get alone(): boolean {
    return (this.#flags & ALONE) !== 0;
  }
  set alone(on: boolean) {
    this.#flags = on ? this.#flags | ALONE : this.#flags & ~ALONE;
  }
  /** Its row is in the store (a commit has included it). */
  get committed(): boolean {
    return (this.#flags & COMMITTED) !== 0;
  }
  set committed(on: boolean) {
    this.#flags = on ? this.#flags | COMMITTED : this.#flags & ~COMMITTED;
  }
  /** It holds its concurrency keys (from admission to the end of its attempt). */
  get keysHeld(): boolean {
    return (this.#flags & KEYS_HELD) !== 0;
  }
  set keysHeld(on: boolean) {
    this.#flags = on ? this.#flags | KEYS_HELD : this.#flags & ~KEYS_HELD;
  }
  get attempts(): number {
    return this.#x === null ? 0 : this.#x.attempts;
  }
  set attempts(v: number) {
    if (this.#x !== null || v !== 0) this.#extras().attempts = v;
  }
  /** Dependencies not yet completed. */
  get waitingOn(): number {
    return this.#x === null ? 0 : this.#x.waitingOn;
  }
  set waitingOn(v: number) {
    if (this.#x !== null || v !== 0) this.#extras().waitingOn = v;
  }
  get dependents(): string[] | null {
    return this.#x === null ? null : this.#x.dependents;
  }
  set dependents(v: string[] | null) {
    if (this.#x !== null || v !== null) this.#extras().dependents = v;
  }
  get startedAt(): number | null {
    return this.#x === null ? null : this.#x.startedAt;
  }
  set startedAt(v: number | null) {
    if (this.#x !== null || v !== null) this.#extras().startedAt = v;
  }
  get endedAt(): number | null {
    return this.#x === null ? null : this.#x.endedAt;
  }
  set endedAt(v: number | null) {
    if (this.#x !== null || v !== null) this.#extras().endedAt = v;
  }
  get output(): unknown {
    return this.#x === null ? null : this.#x.output;
  }
  set output(v: unknown) {
    if (this.#x !== null || v !== null) this.#extras().output = v;
  }
  /** The artifacts its successful attempt stored (null: none). */
  get artifacts(): ArtifactRef[] | null {
    return this.#x === null ? null : this.#x.artifacts;
  }
  set artifacts(v: ArtifactRef[] | null) {
    if (this.#x !== null || v !== null) this.#extras().artifacts = v;
  }
  /** Estimated stored size of `output` (from the worker), for the memory bound on finished tasks. */
  get outputBytes(): number {
    return this.#x === null ? 0 : this.#x.outputBytes;
  }
  set outputBytes(v: number) {
    if (this.#x !== null || v !== 0) this.#extras().outputBytes = v;
  }
  get error(): SerializedError | null {
    return this.#x === null ? null : this.#x.error;
  }
  set error(v: SerializedError | null) {
    if (this.#x !== null || v !== null) this.#extras().error = v;
  }
  /** The attempt in flight, null when none. */
  get run(): RunningAttempt | null {
    return this.#x === null ? null : this.#x.run;
  }
  set run(v: RunningAttempt | null) {
    if (this.#x !== null || v !== null) this.#extras().run = v;
  }
  /** The worker of the latest attempt (`local` for the engine's own threads); null before the first. */
  get worker(): string | null {
    return this.#x === null ? null : this.#x.worker;
  }
  set worker(v: string | null) {
    if (this.#x !== null || v !== null) this.#extras().worker = v;
  }
  /** The attempt's timeout, or the backoff before the next attempt. */
  get timer(): ClockTimer | null {
    return this.#x === null ? null : this.#x.timer;
  }
  set timer(v: ClockTimer | null) {
    if (this.#x !== null || v !== null) this.#extras().timer = v;
  }
  /** After a cooperative abort: when the attempt's thread is terminated if it has not stopped. */
  get graceTimer(): ClockTimer | null {
    return this.#x === null ? null : this.#x.graceTimer;
  }
  set graceTimer(v: ClockTimer | null) {
    if (this.#x !== null || v !== null) this.#extras().graceTimer = v;
  }
  get retryAt(): number | null {
    return this.#x === null ? null : this.#x.retryAt;
  }
  set retryAt(v: number | null) {
    if (this.#x !== null || v !== null) this.#extras().retryAt = v;
  }
  get lastDelayMs(): number {
    return this.#x === null ? 0 : this.#x.lastDelayMs;
  }
  set lastDelayMs(v: number) {
    if (this.#x !== null || v !== 0) this.#extras().lastDelayMs = v;
  }
  /** Why it was cancelled or skipped. */
  get reason(): string {
    return this.#x === null ? '' : this.#x.reason;
  }
  set reason(v: string) {
    if (this.#x !== null || v !== '') this.#extras().reason = v;
  }
  /** Why it can never be admitted (a resource it declared is gone after a restart); null when nothing is wrong. */
  get refusal(): string | null {
    return this.#x === null ? null : this.#x.refusal;
  }
  set refusal(v: string | null) {
    if (this.#x !== null || v !== null) this.#extras().refusal = v;
  }
  /** The hold of the attempt in flight. */
  get allocationId(): string | null {
    return this.#x === null ? null : this.#x.allocationId;
  }
  set allocationId(v: string | null) {
    if (this.#x !== null || v !== null) this.#extras().allocationId = v;
  }
  /** The key it waits for while `keyed`. */
  get waitKey(): HeldKey | null {
    return this.#x === null ? null : this.#x.waitKey;
  }
  set waitKey(v: HeldKey | null) {
    if (this.#x !== null || v !== null) this.#extras().waitKey = v;
  }
}
