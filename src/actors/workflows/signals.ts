/**
 * Signals sent to runs before a step waited for them: kept per run, in arrival order, and written to the store's
 * `workflow_signals` table (one record per signal, `parent` = its run) so a restart keeps them too. A waiting step
 * takes the oldest of its name; a run's kept signals are dropped when it ends.
 */
import type { StoredRecord } from '../../store/store.js';
import type { RecordQueue } from '../../store/commits.js';

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
    this.#records?.write('workflow_signals', kept.id, { kind: 'workflow_signals', id: kept.id, parent: runId, status: 'pending', data: kept });
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
    for (const k of list) this.#records?.write('workflow_signals', k.id, { kind: 'workflow_signals', id: k.id, delete: true });
  }

  #list(runId: string): KeptSignal[] {
    let list = this.#byRun.get(runId);
    if (!list) this.#byRun.set(runId, (list = []));
    return list;
  }
}
