/**
 * The daemon's runner when remote workers are on: the local pool (unless `--no-local-workers`) first, remote
 * workers for the rest. Tasks with placement tags only ever go remote (the daemon's own threads carry no tags). A
 * sticky task (a run with `affinity: "run"`) goes where its run's first sticky attempt went, these threads included.
 */
import type { AttemptHooks, AttemptRequest, PlacementQuery, RunningAttempt, TaskRunner } from './runner.js';
import { LOCAL_WORKER } from './runner.js';
import type { WorkerOutcome } from './jetstream/directory.js';
import type { JetStreamRunner } from './jetstream/runner.js';

export class CombinedRunner implements TaskRunner {
  readonly #local: TaskRunner | null;
  readonly #remote: JetStreamRunner;
  #localInFlight = 0;

  constructor(local: TaskRunner | null, remote: JetStreamRunner) {
    this.#local = local;
    this.#remote = remote;
  }

  get capacity(): number {
    return (this.#local?.capacity ?? 0) + this.#remote.capacity;
  }

  /** Attempts running on the daemon's own threads. */
  get localInFlight(): number {
    return this.#localInFlight;
  }

  #localFree(): boolean {
    return this.#local !== null && this.#localInFlight < this.#local.capacity;
  }

  hasRoom(): boolean {
    return this.#localFree() || this.#remote.hasRoom();
  }

  /** Where a task goes first: `local` (its run sticks to these threads), `remote` (to a remote worker), or either. */
  #sticks(task: PlacementQuery): 'local' | 'remote' | null {
    if (task.affinity === undefined) return null;
    if (this.#local && task.tags.length === 0 && this.#remote.directory.sticky.get(task.affinity) === LOCAL_WORKER)
      return 'local';
    return this.#remote.directory.boundWorker(task) ? 'remote' : null;
  }

  /** The task starts on the daemon's own threads now. */
  #goesLocal(task: PlacementQuery): boolean {
    const sticks = this.#sticks(task);
    return sticks === 'local' ? this.#localFree() : sticks === null && task.tags.length === 0 && this.#localFree();
  }

  place(task: PlacementQuery): string | null {
    if (this.#goesLocal(task)) return null;
    const sticks = this.#sticks(task);
    if (sticks === 'local')
      return `its run sticks to this daemon's own threads, which are busy (${this.#localInFlight} of ${this.#local?.capacity ?? 0})`;
    if (sticks === 'remote') return this.#remote.place(task);
    const why = this.#remote.place(task);
    if (why === null) return null;
    if (this.#local && task.tags.length === 0)
      return `every local thread is busy (${this.#localInFlight} of ${this.#local.capacity}) and ${why}`;
    return why;
  }

  onChange(listener: () => void): () => void {
    return this.#remote.onChange(listener);
  }

  start(req: AttemptRequest, hooks: AttemptHooks): RunningAttempt {
    if (
      this.#local &&
      this.#goesLocal({ module: req.module, action: req.action, tags: req.tags ?? [], affinity: req.affinity })
    ) {
      this.#remote.directory.stick(req.affinity, LOCAL_WORKER);
      this.#localInFlight++;
      const run = this.#local.start(req, hooks);
      const free = (outcome: WorkerOutcome): void => {
        this.#localInFlight--;
        this.#remote.directory.tally.count(LOCAL_WORKER, outcome);
        this.#remote.changed();
      };
      run.reply.then(
        (r) => free(r.type === 'ok' ? 'completed' : 'failed'),
        () => free('crashed'),
      );
      return run;
    }
    return this.#remote.start(req, hooks);
  }
}
