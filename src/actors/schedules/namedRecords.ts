/**
 * The store side the schedule and trigger components share: one record per name (kind `schedules` or
 * `triggers`), grouped under its workflow, with status `paused` or `active`. Writes go through a
 * {@link RecordQueue} (built at the next commit, so the latest state is what is written) and only when the store
 * is persistent; with a memory store nothing is queued and {@link NamedRecords.durable} resolves at once.
 */
import type { GroupCommitter } from '../../store/commits.js';
import { RecordQueue } from '../../store/commits.js';
import type { Store } from '../../store/store.js';

/** What a schedule's or a trigger's record holds at the least: its spec (name, workflow) and whether it is paused. */
export interface NamedRecord {
  spec: { name: string; workflow: string };
  paused: boolean;
}

export class NamedRecords {
  readonly #kind: 'schedules' | 'triggers';
  readonly #commits: GroupCommitter;
  readonly #records: RecordQueue | null;

  constructor(kind: 'schedules' | 'triggers', store: Store, commits: GroupCommitter) {
    this.#kind = kind;
    this.#commits = commits;
    this.#records = store.persistent ? new RecordQueue(commits) : null;
  }

  /** Queues the write of `rec` for the next commit (the record is built then, from `rec` as it is at that time). */
  save(rec: NamedRecord): void {
    const kind = this.#kind;
    this.#records?.write(kind, rec.spec.name, () => ({
      kind,
      id: rec.spec.name,
      parent: rec.spec.workflow,
      status: rec.paused ? 'paused' : 'active',
      data: rec,
    }));
  }

  /** Queues the delete of the record named `name`. */
  delete(name: string): void {
    this.#records?.write(this.#kind, name, { kind: this.#kind, id: name, delete: true });
  }

  /** Resolves once what was queued so far is committed (at once without a durable store). */
  async durable(): Promise<void> {
    if (this.#records) await this.#commits.afterCommit(undefined);
  }
}
