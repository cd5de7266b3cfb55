/**
 * Named rate limits as the `ratelimit.*` commands see them: created (or replaced) and deleted, written to the
 * store's `rate_limits` records so they survive a restart, and restored at start with the config's over them.
 */
import type { RateLimitView } from '../../../model/taskView.js';
import type { RecordQueue } from '../../../store/commits.js';
import type { Store } from '../../../store/store.js';
import type { RateLimits } from './rateLimits.js';
import { parseRateLimit } from './rateLimits.js';

export class RateLimitDefs {
  readonly #rates: RateLimits;
  readonly #records: RecordQueue;
  readonly #changed: () => void;

  /** `changed`: a limit was set or removed (waiting tasks may go on). */
  constructor(rates: RateLimits, records: RecordQueue, changed: () => void) {
    this.#rates = rates;
    this.#records = records;
    this.#changed = changed;
  }

  /** Creates (or replaces) a named rate limit; tasks spend it with `rateLimit: { name, key?, units? }`. */
  create(input: unknown): RateLimitView {
    const def = parseRateLimit(input);
    this.#rates.set(def);
    this.#records.write('rate_limits', def.name, {
      kind: 'rate_limits',
      id: def.name,
      status: 'active',
      data: { name: def.name, limit: def.limit, per: def.per },
    });
    this.#changed();
    return this.#rates.view(def.name);
  }

  /** Restores the rate limits an earlier engine stored, then sets those given (the config's, which win). */
  restore(store: Store, configured: readonly unknown[]): void {
    for (const r of store.listRecords('rate_limits')) {
      try {
        this.#rates.set(parseRateLimit(r.data));
      } catch {
        // A stored limit this version cannot read: left out (create it again).
      }
    }
    for (const c of configured) this.create(c);
  }

  /** Deletes a named rate limit; tasks waiting on it go on without it. */
  delete(name: string): { name: string; deleted: boolean } {
    const deleted = this.#rates.delete(name);
    if (deleted) this.#records.write('rate_limits', name, { kind: 'rate_limits', id: name, delete: true });
    this.#changed();
    return { name, deleted };
  }

  /** Every rate limit with its level and its busiest per-key buckets. */
  list(): RateLimitView[] {
    return this.#rates.list();
  }
}
