/**
 * The engine starts its SQLite writer thread while it starts (`Store.warm`), so the first write after `ready()`
 * does not wait for a thread to boot. `warm` answers once the thread has opened the database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite.js';
import { RECORD_KINDS } from '../../src/store/store.js';
import { WriterThread } from '../../src/store/writerThread.js';
import { composeEngine } from '../../src/edges/library.js';
import { testEngine } from '../helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDb(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'codomyrmex-writer-warm-'));
  dirs.push(dir);
  return join(dir, 'state.db');
}
const init = (path: string) => ({
  path,
  durability: 'strict' as const,
  busyTimeoutMs: 1000,
  walAutocheckpointPages: 1000,
  journal: { maxEvents: 0, maxAgeMs: 0 },
  recordKinds: RECORD_KINDS,
});

describe('warming the writer thread', () => {
  it('answers once the thread opened the database, and with the open error when it could not', async () => {
    const path = await tempDb();
    const store = SqliteStore.open({ path, writerThread: false });
    const good = new WriterThread(init(path));
    await expect(good.warm()).resolves.toBeUndefined();
    await good.close();
    store.close();
    const missing = new WriterThread(init(join(path, '..', 'absent.db')));
    await expect(missing.warm()).rejects.toThrow(/absent\.db|unable to open|does not exist/i);
    await missing.close();
  });

  it('is part of the engine start: ready() waits for it', async () => {
    const path = await tempDb();
    const engine = testEngine({ store: 'sqlite', dbPath: path, threads: 1 });
    const store = engine.store as SqliteStore;
    let warmed = 0;
    const warm = store.warm.bind(store);
    store.warm = async () => {
      await warm();
      warmed++;
    };
    await engine.ready();
    expect(warmed).toBe(1);
    await engine.getTaskOrchestrator().executeTask({ module: 'core', action: 'noop' });
    await engine.shutdown();
  });

  it('is left to the first write when the composition says so (the CLI: one command, often a read)', async () => {
    const engine = composeEngine({ store: 'sqlite', dbPath: await tempDb(), threads: 1 }, {}, { warmStore: false });
    const store = engine.store as SqliteStore;
    let warmed = 0;
    store.warm = async () => {
      warmed++;
    };
    await engine.ready();
    expect(warmed).toBe(0);
    await engine.getTaskOrchestrator().executeTask({ module: 'core', action: 'noop' });
    await engine.shutdown();
  });
});
