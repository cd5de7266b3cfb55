/**
 * Flow control of workflow runs, between a run request and the run's start: idempotency keys (a request with a key
 * used within the TTL answers the first run), `debounce` (requests with the same key collapse into one run, started
 * after the last of them), and run-level concurrency keys ({@link RunGate}). Sessions' workflow slots come after
 * (the manager's `go`).
 *
 * A run held back (debounced or queued) exists from its request on: it is listed, written to the store with its
 * `debounce` or `queued` field, can be cancelled, and after a restart is held back again where it was.
 */
import { ValidationError } from '../../errors.js';
import type { Clock } from '../../model/clock.js';
import { MAX_FLOW_KEY_LENGTH, resolveFlowKey } from '../../model/flow.js';
import type { StoredWorkflow, WorkflowResult } from '../../model/workflow.js';
import type { RunLineage, RunRequest, WorkflowRun } from '../../model/run.js';
import type { IdempotencyKeys } from '../tasks/admission/idempotency.js';
import type { RunKey } from './runGate.js';
import { RunGate } from './runGate.js';
import type { WorkflowRunExecutor } from './run.js';

/** A run a request started or joined. */
export interface RunHandle {
  runId: string;
  done: Promise<WorkflowResult>;
  /** The request joined an earlier run (an idempotency key, a debounce window) instead of starting one. */
  joined?: 'idempotency' | 'debounce';
}

/** What the manager lends the flow control. */
export interface RunFlowHost {
  now(): number;
  clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  /** Writes the run's record (its hold included). */
  persist(run: WorkflowRunExecutor): void;
  /** Cancels a run, started or held back, with a reason. */
  cancel(runId: string, reason: string): void;
  /** A run by id: live, or ended (held in memory or stored); null when none is known. */
  handleOf(runId: string): RunHandle | null;
  /** The ids of a run's ancestors (parent, grandparent, ...), for the key deadlock check. */
  ancestors(lineage: RunLineage): Set<string>;
}

interface Window {
  run: WorkflowRunExecutor;
  first: number;
  until: number;
  submissions: number;
  timer: ReturnType<Clock['setTimeout']> | null;
  go: () => void;
}

/** Requests that took part in flow control, for status and metrics. */
export interface RunFlowCounts {
  deduplicated: number;
  debounced: number;
  cancelledByKey: number;
}

export class RunFlow {
  readonly #host: RunFlowHost;
  readonly #keys: IdempotencyKeys | null;
  readonly gate: RunGate;
  readonly #windows = new Map<string, Window>();
  /** The window key of each debounced run. */
  readonly #windowOf = new Map<string, string>();
  readonly counts: RunFlowCounts = { deduplicated: 0, debounced: 0, cancelledByKey: 0 };

  constructor(host: RunFlowHost, keys: IdempotencyKeys | null) {
    this.#host = host;
    this.#keys = keys;
    this.gate = new RunGate(() => host.now());
  }

  /** Debounce and keys apply to runs requested directly: not to a sub-workflow's child or a re-run. */
  #direct(lineage: RunLineage): boolean {
    return !lineage.parentRunId && !lineage.retryOf;
  }

  /**
   * Checks what flow control reads from a request before anything starts (a key template that does not resolve is
   * refused, naming the field), and answers the earlier run the request joins, or null for a new run.
   */
  join(wf: StoredWorkflow, req: RunRequest, lineage: RunLineage): RunHandle | null {
    const params = { ...wf.params, ...(req.params ?? {}) };
    this.resolveKeys(wf, params);
    if (req.idempotencyKey !== undefined) {
      if (
        typeof req.idempotencyKey !== 'string' ||
        req.idempotencyKey.length === 0 ||
        req.idempotencyKey.length > MAX_FLOW_KEY_LENGTH
      ) {
        throw new ValidationError(`idempotencyKey: must be 1 to ${MAX_FLOW_KEY_LENGTH} characters`);
      }
      const first = this.#keys?.find(req.idempotencyKey);
      const handle = first ? this.#host.handleOf(first) : null;
      if (handle) {
        this.counts.deduplicated++;
        return { ...handle, joined: 'idempotency' };
      }
    }
    if (wf.debounce && this.#direct(lineage)) {
      const key = this.#windowKey(wf, params);
      const w = this.#windows.get(key);
      if (w && !w.run.started) {
        w.run.replaceParams(req.params ?? {});
        w.submissions++;
        const max = wf.debounce.maxWaitSeconds;
        w.until = Math.min(
          this.#host.now() + wf.debounce.seconds * 1000,
          max === undefined ? Infinity : w.first + max * 1000,
        );
        this.#arm(key, w);
        this.counts.debounced++;
        this.#host.persist(w.run);
        return { runId: w.run.runId, done: w.run.done, joined: 'debounce' };
      }
    }
    return null;
  }

  /** Remembers a new run's idempotency key (after `join` answered null and the run exists). */
  took(req: RunRequest, runId: string): void {
    if (req.idempotencyKey !== undefined) this.#keys?.remember(req.idempotencyKey, runId);
  }

  #windowKey(wf: StoredWorkflow, params: Record<string, unknown>): string {
    const d = wf.debounce;
    if (!d) return '';
    return `${wf.name}\n${this.#resolve(d.key, params, 'debounce.key')}`;
  }

  #resolve(key: string | number, params: Record<string, unknown>, field: string): string {
    try {
      return resolveFlowKey(key, { params }, field);
    } catch (err) {
      throw new ValidationError(err instanceof Error ? err.message : String(err));
    }
  }

  /** The run-level keys of a workflow for these parameters; throws a ValidationError naming the field. */
  resolveKeys(wf: StoredWorkflow, params: Record<string, unknown>): RunKey[] {
    const rules = wf.concurrency ?? [];
    if (wf.debounce) this.#resolve(wf.debounce.key, params, 'debounce.key');
    return rules.map((r, i) => ({
      key: this.#resolve(r.key, params, `concurrency${rules.length > 1 ? `[${i}]` : ''}.key`),
      limit: r.limit,
      strategy: r.strategy ?? 'queue',
      rule: String(r.key),
    }));
  }

  /**
   * Admits a new run: through its debounce window, then its concurrency keys; `go` (the session slot, then the start)
   * is called when both let it through. A run refused by a key (`cancel_newest`, an ancestor's key) ends cancelled.
   */
  admit(run: WorkflowRunExecutor, lineage: RunLineage, go: () => void): void {
    const wf = run.workflow;
    if (wf.debounce && this.#direct(lineage)) {
      const key = this.#windowKey(wf, run.params);
      const now = this.#host.now();
      const w: Window = {
        run,
        first: now,
        until: now + wf.debounce.seconds * 1000,
        submissions: 1,
        timer: null,
        go: () => this.#keyed(run, lineage, go),
      };
      this.#windows.set(key, w);
      this.#arm(key, w);
      this.#host.persist(run);
      return;
    }
    this.#keyed(run, lineage, go);
  }

  #arm(key: string, w: Window): void {
    this.#windowOf.set(w.run.runId, key);
    if (w.timer !== null) this.#host.clock.clearTimeout(w.timer);
    w.run.hold.debounce = {
      key: key.slice(key.indexOf('\n') + 1),
      until: w.until,
      first: w.first,
      submissions: w.submissions,
    };
    w.timer = this.#host.clock.setTimeout(() => this.#fire(key, w), Math.max(0, w.until - this.#host.now()));
  }

  #fire(key: string, w: Window): void {
    if (this.#windows.get(key) === w) this.#windows.delete(key);
    this.#windowOf.delete(w.run.runId);
    w.timer = null;
    w.run.hold.debounce = null;
    w.go();
  }

  #keyed(run: WorkflowRunExecutor, lineage: RunLineage, go: () => void): void {
    let keys: RunKey[];
    try {
      keys = this.resolveKeys(run.workflow, run.params);
    } catch (err) {
      this.#host.cancel(run.runId, err instanceof Error ? err.message : String(err));
      return;
    }
    if (keys.length === 0) return go();
    const decision = this.gate.offer(
      run.runId,
      keys,
      () => {
        run.hold.queued = undefined;
        // Settled while it waited (cancelled): the keys it was just given go on to the next.
        if (run.started) this.gate.release(run.runId);
        else go();
      },
      this.#host.ancestors(lineage),
    );
    if (decision.outcome === 'rejected') {
      this.counts.cancelledByKey++;
      this.#host.cancel(run.runId, decision.reason);
      return;
    }
    if (decision.outcome === 'queued') {
      run.hold.queued = () => this.gate.queuedOn(run.runId);
      this.#host.persist(run);
      return;
    }
    for (const victim of decision.cancelled) {
      this.counts.cancelledByKey++;
      this.#host.cancel(
        victim,
        `cancelled by run ${run.runId}: concurrency key "${keys.find((k) => k.strategy === 'cancel_in_progress')?.key ?? ''}" is at its limit and its strategy is cancel_in_progress (the newest run goes on)`,
      );
    }
    go();
  }

  /**
   * A run read back at a start: a run that was held back is held back again (its window re-armed, or queued on its
   * keys after the runs that were running); one that was running holds its keys again. True when flow control
   * starts it (through `go`), false when the caller starts it now.
   */
  resume(run: WorkflowRunExecutor, stored: WorkflowRun, lineage: RunLineage, go: () => void): boolean {
    if (stored.debounce && run.workflow.debounce) {
      const d = stored.debounce;
      const key = `${run.workflow.name}\n${d.key}`;
      const w: Window = {
        run,
        first: d.first,
        until: d.until,
        submissions: d.submissions,
        timer: null,
        go: () => this.#keyed(run, lineage, go),
      };
      this.#windows.set(key, w);
      this.#arm(key, w);
      return true;
    }
    if (stored.queued) {
      this.#keyed(run, lineage, go);
      return true;
    }
    try {
      this.gate.take(run.runId, this.resolveKeys(run.workflow, run.params));
    } catch {
      // Keys that no longer resolve (a definition changed under a stored run) hold nothing.
    }
    return false;
  }

  /** A run ended: its keys go to the next queued runs. */
  ended(runId: string): void {
    this.gate.release(runId);
  }

  /** A held-back run was cancelled: it leaves its debounce window or key queue. */
  drop(run: WorkflowRunExecutor): void {
    this.gate.forget(run.runId);
    const key = this.#windowOf.get(run.runId);
    const w = key === undefined ? undefined : this.#windows.get(key);
    if (key !== undefined && w?.run === run) {
      if (w.timer !== null) this.#host.clock.clearTimeout(w.timer);
      this.#windows.delete(key);
    }
    this.#windowOf.delete(run.runId);
    run.hold = {};
  }

  /** Stops every debounce timer (the engine shuts down; held-back runs stay on disk and are held back again). */
  stop(): void {
    for (const w of this.#windows.values()) if (w.timer !== null) this.#host.clock.clearTimeout(w.timer);
    this.#windows.clear();
    this.#windowOf.clear();
  }

  /** Debounce windows open now. */
  get windows(): number {
    return this.#windows.size;
  }
}
