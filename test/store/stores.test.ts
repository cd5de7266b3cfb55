import { join } from 'node:path';
import { afterAll } from 'vitest';
import { MemoryStore, SqliteStore } from '../../src/index.js';
import { storeConformance } from './conformance.js';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

storeConformance('MemoryStore', () => new MemoryStore({ journalMaxEvents: 1000 }));
storeConformance('SqliteStore (file)', () => SqliteStore.open({ path: join(dirs.make(), 'state.db') }), {
  reopen: (s) => SqliteStore.open({ path: s.location }),
});
storeConformance('SqliteStore (:memory:)', () => SqliteStore.open({ path: ':memory:' }));
