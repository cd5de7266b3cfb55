/**
 * Issue 16 item 4: a binary result is stored as binary (base64), not one JSON key per byte; results have a size
 * limit (LIMITS.maxResultBytes) with a clear error past it; finished results in memory are bounded by size too.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { LIMITS } from '../../src/model/limits.js';
import { fromJson, toJson } from '../../src/store/json.js';
import { testEngine } from '../helpers.js';

const MB = 1024 * 1024;
let dir: string;
let engine: OrchestrationEngine;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codomyrmex-hostile-results-'));
  engine = testEngine({
    threads: 1,
    store: 'sqlite',
    dbPath: join(dir, 'state.db'),
    moduleDirs: [packagePath('dist', 'test', 'fixtures', 'hostileResults')],
    retainFinishedTaskBytes: MB,
  });
  await engine.ready();
});
afterAll(async () => {
  await engine.shutdown();
  await rm(dir, { recursive: true, force: true });
});

const dbBytes = async (): Promise<number> => {
  let total = 0;
  for (const f of ['state.db', 'state.db-wal'])
    total += await stat(join(dir, f)).then(
      (s) => s.size,
      () => 0,
    );
  return total;
};

describe('binary and large results', () => {
  it('stores a 10 MB Buffer as base64 and reads it back as bytes once it has left memory', async () => {
    const before = await dbBytes();
    const first = await engine.tasks.executeTask({ module: 'results', action: 'bytes', parameters: { size: 10 * MB } });
    expect(first.status).toBe('completed');
    expect((first.result as Uint8Array).byteLength).toBe(10 * MB);
    // A second big result pushes the first out of memory (retainFinishedTaskBytes: 1 MB): it is read from the store.
    await engine.tasks.executeTask({ module: 'results', action: 'bytes', parameters: { size: 2 * MB } });
    await engine.flush();
    const back = await engine.tasks.getTask(first.taskId);
    const bytes = back?.result.result as Buffer;
    expect(Buffer.isBuffer(bytes)).toBe(true); // revived from the store, not the in-memory Uint8Array
    expect(bytes.byteLength).toBe(10 * MB);
    expect(bytes[0]).toBe(7);
    expect(bytes[10 * MB - 1]).toBe(7);
    // base64 of 12 MB is 16 MB; one key per byte was over 120 MB for 10 MB alone. The WAL may hold a copy.
    expect((await dbBytes()) - before).toBeLessThan(40 * MB);
  });

  it(`fails a result past maxResultBytes (${LIMITS.maxResultBytes}) as the action's error, naming the limit`, async () => {
    const r = await engine.tasks.executeTask({
      module: 'results',
      action: 'text',
      parameters: { size: LIMITS.maxResultBytes + 10 },
      maxRetries: 2,
    });
    expect(r).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'NON_RETRYABLE' } });
    expect(r.error?.message).toBe(
      `results.text returned a value it cannot: result: larger than ${LIMITS.maxResultBytes} bytes (limit maxResultBytes, estimated as stored); write large outputs to a file and return its path`,
    );
    const big = await engine.tasks.executeTask({
      module: 'results',
      action: 'bytes',
      parameters: { size: LIMITS.maxResultBytes },
    });
    expect(big.error?.message).toMatch(/limit maxResultBytes/);
  });

  it('toJson writes bytes nested anywhere as base64 when asked, and fromJson reads them back', () => {
    const text = toJson({ a: [Buffer.from('hi'), new Uint8Array([1, 2])] }, true);
    expect(text).toBe('{"a":[{"$codomyrmex.bytes":"aGk="},{"$codomyrmex.bytes":"AQI="}]}');
    const back = fromJson<{ a: Buffer[] }>(text);
    expect(back.a.map((b) => [...b])).toEqual([
      [104, 105],
      [1, 2],
    ]);
  });
});

describe('the memory store bounds finished results by bytes (issue 20 item 6)', () => {
  it('keeps at most retainFinishedTaskBytes of results: the oldest big results leave the store too', async () => {
    const mem = testEngine({
      threads: 1,
      store: 'memory',
      moduleDirs: [packagePath('dist', 'test', 'fixtures', 'hostileResults')],
      retainFinishedTaskBytes: 4 * MB,
    });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++)
        ids.push((await mem.tasks.executeTask({ module: 'results', action: 'text', parameters: { size: MB } })).taskId);
      // 12 MB of results against a 4 MB bound: the first are gone from memory and from the (memory) store.
      expect(await mem.tasks.getTask(ids[0]!)).toBeNull();
      const last = await mem.tasks.getTask(ids.at(-1)!);
      expect((last?.result.result as string).length).toBe(MB);
      const keptNow = async () => (await Promise.all(ids.map((id) => mem.tasks.getTask(id)))).filter((t) => t !== null);
      // Eviction runs when a task finishes and keeps results a commit has not written yet (under load the last
      // commits may still be on their way): wait for the commits, and finish a small task, until they have landed.
      let kept = await keptNow();
      for (let i = 0; i < 50 && kept.length > 4; i++) {
        await mem.flush();
        await mem.tasks.executeTask({ module: 'results', action: 'text', parameters: { size: 1 } });
        kept = await keptNow();
      }
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThanOrEqual(4);
    } finally {
      await mem.shutdown();
    }
  });
});
