/**
 * Signals sent to runs before a step waited for them: kept per run, in arrival order, and written to the store's
 * `workflow_signals` table (one record per signal, `parent` = its run) so a restart keeps them too. A waiting step
 * takes the oldest of its name; a run's kept signals are dropped when it ends. And the checks a signal request
 * passes before it is delivered or kept.
 */
import { ValidationError } from '../../errors.js';
import { checkPayloadLimits } from '../../model/validate.js';
import type { StoredWorkflow } from '../../model/workflow.js';
import { signalNameSchema } from '../../model/workflow.js';
import type { RecordQueue } from '../../store/commits.js';
import type { StoredRecord } from '../../store/store.js';

/** A kept signal, as stored. */
export interface KeptSignal {
  id: string;
  runId: string;
  signal: string;
  payload: unknown;
  sentAt: number;
}

export class SignalBox {
  readonly #byRun = new Map<string, KeptSignal[]>();
  readonly #records: RecordQueue | null;
  #seq = 0;

  constructor(records: RecordQueue | null) {
    this.#records = records;
  }

  /** Puts back the signals a previous engine kept. */
  restore(records: readonly StoredRecord<KeptSignal>[]): void {
    for (const r of [...records].sort((a, b) => a.data.sentAt - b.data.sentAt)) this.#list(r.data.runId).push(r.data);
  }

  /** Keeps a signal for a step of `runId` that waits for it later. */
  keep(runId: string, signal: string, payload: unknown, now: number): KeptSignal {
    const kept: KeptSignal = { id: `${runId}:${now}:${this.#seq++}`, runId, signal, payload, sentAt: now };
    this.#list(runId).push(kept);
    this.#records?.write('workflow_signals', kept.id, {
      kind: 'workflow_signals',
      id: kept.id,
      parent: runId,
      status: 'pending',
      data: kept,
    });
    return kept;
  }

  /** Takes (and forgets) the oldest signal of this name kept for the run. */
  take(runId: string, signal: string): KeptSignal | null {
    const list = this.#byRun.get(runId);
    const i = list?.findIndex((k) => k.signal === signal) ?? -1;
    if (!list || i < 0) return null;
    const [kept] = list.splice(i, 1);
    if (list.length === 0) this.#byRun.delete(runId);
    if (!kept) return null;
    this.#records?.write('workflow_signals', kept.id, { kind: 'workflow_signals', id: kept.id, delete: true });
    return kept;
  }

  /** The signals kept for a run (names, oldest first). */
  pending(runId: string): string[] {
    return (this.#byRun.get(runId) ?? []).map((k) => k.signal);
  }

  /** A run ended: its kept signals are dropped. */
  drop(runId: string): void {
    const list = this.#byRun.get(runId);
    if (!list) return;
    this.#byRun.delete(runId);
    for (const k of list)
      this.#records?.write('workflow_signals', k.id, { kind: 'workflow_signals', id: k.id, delete: true });
  }

  #list(runId: string): KeptSignal[] {
    let list = this.#byRun.get(runId);
    if (!list) this.#byRun.set(runId, (list = []));
    return list;
  }
}

/** Refuses a signal whose name is not a plain name, or whose payload is past the limits. */
export function checkSignal(signal: string, payload: unknown): void {
  const name = signalNameSchema.safeParse(signal);
  if (!name.success)
    throw new ValidationError(
      `signal: ${name.error.issues[0]?.message ?? 'must be a plain name'} (got ${JSON.stringify(signal)})`,
    );
  const bad = checkPayloadLimits(payload, 'payload');
  if (bad) throw new ValidationError(bad);
}

/** Refuses a signal no step of the run's definition waits for. */
export function checkAwaited(workflow: StoredWorkflow, runId: string, signal: string): void {
  const awaited = [...new Set(workflow.steps.flatMap((s) => (s.waitFor ? [s.waitFor.signal] : [])))];
  if (awaited.includes(signal)) return;
  throw new ValidationError(
    `signal: no step of workflow "${workflow.name}" (run ${runId}) waits for signal "${signal}"; ${awaited.length ? `its steps wait for: ${awaited.join(', ')}` : 'none of its steps waits for a signal'}`,
  );
}
