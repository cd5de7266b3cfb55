import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/index.js';
import { MemoryStore, SqliteStore } from '../../src/index.js';
import { emptyBatch } from '../../src/store/store.js';
import { storedTask, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** Commits one task row the way the scheduler does: first with its spec, then as `specStored` updates. */
function writeTwice(store: Store): void {
  const first = storedTask('t1', 'pending');
  store.commit({ ...emptyBatch(), tasks: [first] });
  // A later write of the same open task: its spec is the same object, and the store may skip writing it.
  store.commit({ ...emptyBatch(), tasks: [{ ...storedTask('t1', 'running'), spec: first.spec, specStored: true }] });
}

describe('specStored: a later write of an open task leaves its stored spec as it is', () => {
  it("SQLite: the spec read back is the first write's, and the new status is written", () => {
    const store = SqliteStore.open({ path: join(dirs.make(), 'state.db') });
    try {
      writeTwice(store);
      const t = store.getTask('t1');
      expect(t?.status).toBe('running');
      expect(t?.spec).toEqual(storedTask('t1', 'pending').spec);
    } finally {
      store.close();
    }
  });

  it('memory: the hint is not kept in the stored task', () => {
    const store = new MemoryStore();
    writeTwice(store);
    const t = store.getTask('t1');
    expect(t?.status).toBe('running');
    expect(t && 'specStored' in t).toBe(false);
    expect(t?.spec).toEqual(storedTask('t1', 'pending').spec);
  });
});
