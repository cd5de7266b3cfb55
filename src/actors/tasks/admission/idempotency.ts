/**
 * Idempotency keys: a task (or workflow run) submitted with an `idempotencyKey` already used within the TTL answers with the first
 * task's id (and so its result) instead of adding a second. Keys are kept in memory and written to the store with
 * the task's own commit, so a restarted engine still knows them; a key past its TTL is free again. A key equal to
 * the task's own id dedupes nothing (workflow steps pass their task id as the default key to their action).
 */
import type { Clock } from '../../../model/clock.js';
import type { RecordQueue } from '../../../store/commits.js';
import type { Store } from '../../../store/store.js';

/** A key as stored: the task (`taskId`) or run (`runId`) that took it, and when. */
interface KeyRecord {
  taskId?: string;
  runId?: string;
  at: number;
}

/** Where the keys of tasks and of workflow runs are kept. */
const KINDS = {
  task: { kind: 'idempotency_keys', field: 'taskId' },
  run: { kind: 'run_idempotency_keys', field: 'runId' },
} as const;

export class IdempotencyKeys {
  readonly #store: Store;
  readonly #records: RecordQueue | null;
  readonly #kind: (typeof KINDS)[keyof typeof KINDS];
  readonly #clock: Clock;
  readonly #ttlMs: number;
  /** Keys in the order they were taken (the oldest first, so expired ones leave from the front). */
  readonly #recent = new Map<string, KeyRecord>();
  /** Submissions answered with an earlier task's id. */
  deduplicated = 0;

  /** `records` null: keys are not written (a store that is not durable); `of`: whose keys these are. */
  constructor(store: Store, records: RecordQueue | null, clock: Clock, ttlMs: number, of: keyof typeof KINDS = 'task') {
    this.#store = store;
    this.#kind = KINDS[of];
    this.#records = records;
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  /** The id of the task (or run) that took `key` within the TTL, or null. */
  find(key: string): string | null {
    const now = this.#clock.now();
    this.#prune(now);
    const { kind, field } = this.#kind;
    const hit = this.#recent.get(key);
    if (hit) return hit[field] ?? null;
    const stored = this.#store.getRecord<KeyRecord>(kind, key);
    if (!stored || stored.data.at + this.#ttlMs <= now) return null;
    return stored.data[field] ?? null;
  }

  /** Records that the task (or run) `id` took `key` now. */
  remember(key: string, id: string): void {
    const { kind, field } = this.#kind;
    const rec: KeyRecord = { [field]: id, at: this.#clock.now() };
    this.#recent.delete(key);
    this.#recent.set(key, rec);
    this.#records?.write(kind, key, {
      kind,
      id: key,
      parent: id,
      status: field === 'taskId' ? 'task' : 'run',
      data: rec,
    });
  }

  #prune(now: number): void {
    for (const [key, rec] of this.#recent) {
      if (rec.at + this.#ttlMs > now) return;
      this.#recent.delete(key);
      this.#records?.write(this.#kind.kind, key, { kind: this.#kind.kind, id: key, delete: true });
    }
  }
}
