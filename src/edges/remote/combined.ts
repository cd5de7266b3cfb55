/**
 * The daemon's runner when remote workers are on: the local pool (unless `--no-local-workers`) first, remote
 * workers for the rest. Tasks with placement tags only ever go remote (the daemon's own threads carry no tags).
 */
import type { AttemptHooks, AttemptRequest, PlacementQuery, RunningAttempt, TaskRunner } from '../../actors/tasks/runner.js';
import { LOCAL_WORKER } from '../../actors/tasks/runner.js';
import type { WorkerOutcome } from './directory.js';
import type { RemoteRunner } from './runner.js';

export class CombinedRunner implements TaskRunner {
  readonly #local: TaskRunner | null;
  readonly #remote: RemoteRunner;
  #localInFlight = 0;

  constructor(local: TaskRunner | null, remote: RemoteRunner) {
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

  place(task: PlacementQuery): string | null {
    if (task.tags.length === 0 && this.#localFree()) return null;
    const why = this.#remote.place(task);
    if (why === null) return null;
    if (this.#local && task.tags.length === 0) return `every local thread is busy (${this.#localInFlight} of ${this.#local.capacity}) and ${why}`;
    return why;
  }

  onChange(listener: () => void): () => void {
    return this.#remote.onChange(listener);
  }

  start(req: AttemptRequest, hooks: AttemptHooks): RunningAttempt {
    if (this.#local && (req.tags ?? []).length === 0 && this.#localFree()) {
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
