import type { CompiledOptions } from '../config/options.js';
import { MemoryStore } from './memory.js';
import { SqliteStore } from './sqlite.js';
import { PostgresStore } from './postgres.js';
import type { Store } from './store.js';

/**
 * The store the options ask for. Throws a `StoreError` naming the file (or the URL, without its password) when a
 * database cannot be opened. `adoptEpoch`: a PostgreSQL lease this engine already holds (a standby's takeover).
 */
export function openStore(options: CompiledOptions, engineId: string, adoptEpoch?: number): Store {
  if (options.store === 'memory')
    return new MemoryStore({
      journalMaxEvents: options.journalMaxEvents,
      maxResultBytes: options.retainFinishedTaskBytes,
    });
  if (options.store === 'postgres' && options.postgres) {
    return PostgresStore.open({
      url: options.postgres.url,
      migrate: options.postgres.migrate,
      leaseTtlMs: options.postgres.leaseTtlMs,
      durability: options.durability,
      journalMaxEvents: options.journalMaxEvents,
      journalMaxAgeMs: options.journalMaxAgeMs,
      retention: options.storeRetention,
      engineId,
      ...(adoptEpoch !== undefined ? { adoptEpoch } : {}),
    });
  }
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
