/**
 * Idempotency keys: a task submitted with an `idempotencyKey` already used within the TTL answers with the first
 * task's id (and so its result) instead of adding a second. Keys are kept in memory and written to the store with
 * the task's own commit, so a restarted engine still knows them; a key past its TTL is free again. A key equal to
 * the task's own id dedupes nothing (workflow steps pass their task id as the default key to their action).
 */
import type { Clock } from '../../../model/clock.js';
import type { RecordQueue } from '../../../store/commits.js';
import type { Store } from '../../../store/store.js';

interface KeyRecord {
  taskId: string;
  at: number;
}

export class IdempotencyKeys {
  readonly #store: Store;
  readonly #records: RecordQueue;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  /** Keys in the order they were taken (the oldest first, so expired ones leave from the front). */
  readonly #recent = new Map<string, KeyRecord>();
  /** Submissions answered with an earlier task's id. */
  deduplicated = 0;

  constructor(store: Store, records: RecordQueue, clock: Clock, ttlMs: number) {
    this.#store = store;
    this.#records = records;
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  /** The id of the task that took `key` within the TTL, or null. */
  find(key: string): string | null {
    const now = this.#clock.now();
    this.#prune(now);
    const hit = this.#recent.get(key);
    if (hit) return hit.taskId;
    const stored = this.#store.getRecord<KeyRecord>('idempotency_keys', key);
    if (!stored || stored.data.at + this.#ttlMs <= now) return null;
    return stored.data.taskId;
  }

  /** Records that `taskId` took `key` now. */
  remember(key: string, taskId: string): void {
    const rec = { taskId, at: this.#clock.now() };
    this.#recent.delete(key);
    this.#recent.set(key, rec);
    this.#records.write('idempotency_keys', key, { kind: 'idempotency_keys', id: key, parent: taskId, status: 'task', data: rec });
  }

  #prune(now: number): void {
    for (const [key, rec] of this.#recent) {
      if (rec.at + this.#ttlMs > now) return;
      this.#recent.delete(key);
      this.#records.write('idempotency_keys', key, { kind: 'idempotency_keys', id: key, delete: true });
    }
  }
}
