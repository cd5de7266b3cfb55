import type { CompiledOptions } from '../config/options.js';
import { MemoryStore } from './memory.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

/** The store the options ask for. Throws a `StoreError` naming the file when a SQLite database cannot be opened. */
export function openStore(options: CompiledOptions, engineId: string): Store {
  if (options.store === 'memory') return new MemoryStore({ journalMaxEvents: options.journalMaxEvents });
  return SqliteStore.open({
    path: options.dbPath,
    durability: options.durability,
    busyTimeoutMs: options.busyTimeoutMs,
    journalMaxEvents: options.journalMaxEvents,
    journalMaxAgeMs: options.journalMaxAgeMs,
    retention: options.storeRetention,
    writerThread: options.writerThread,
    walAutocheckpointPages: options.walAutocheckpointPages,
    engineId,
  });
}
