import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/index.js';
import { ErrorCode, SCHEMA_VERSION, SqliteStore } from '../../src/index.js';
import { emptyBatch } from '../../src/store/store.js';
import { busEvent, storedTask, tempDirs } from './helpers.js';

const dirs = tempDirs();
const open: Store[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(() => dirs.cleanup());

function openStore(path: string, options: Partial<Parameters<typeof SqliteStore.open>[0]> = {}): SqliteStore {
  const s = SqliteStore.open({ path, ...options });
  open.push(s);
  return s;
}

describe('SqliteStore', () => {
  it('creates its folder and the database, in WAL mode, at the current schema version', () => {
    const path = join(dirs.make(), 'nested', 'deeper', 'state.db');
    const s = openStore(path);
    expect(existsSync(path)).toBe(true);
    expect(s.location).toBe(path);
    expect(s.persistent).toBe(true);
    expect(s.pragma('journal_mode')).toBe('wal');
    expect(s.pragma('user_version')).toBe(SCHEMA_VERSION);
    expect(s.openedAtVersion).toBe(0);
  });

  it('fsyncs every commit in strict mode (synchronous=FULL) and not in relaxed mode (NORMAL)', () => {
    const dir = dirs.make();
    expect(openStore(join(dir, 'strict.db'), { durability: 'strict' }).pragma('synchronous')).toBe(2);
    expect(openStore(join(dir, 'relaxed.db'), { durability: 'relaxed' }).pragma('synchronous')).toBe(1);
    expect(openStore(join(dir, 'busy.db'), { busyTimeoutMs: 1234 }).pragma('busy_timeout')).toBe(1234);
  });

  it('strict: commits a batch nobody is answered on (deferSync) without its fsync, and syncs the next one again', () => {
    const dir = dirs.make();
    const strict = openStore(join(dir, 'strict.db'), { durability: 'strict' });
    strict.commit({ ...emptyBatch(), tasks: [storedTask('started', 'running')], deferSync: true });
    expect(strict.pragma('synchronous')).toBe(1);
    expect(strict.getTask('started')?.status).toBe('running');
    strict.commit({ ...emptyBatch(), tasks: [storedTask('started', 'completed')] });
    expect(strict.pragma('synchronous')).toBe(2);
    expect(strict.getTask('started')?.status).toBe('completed');
    // Relaxed never syncs a commit: deferSync changes nothing there.
    const relaxed = openStore(join(dir, 'relaxed.db'), { durability: 'relaxed' });
    relaxed.commit({ ...emptyBatch(), tasks: [storedTask('r', 'completed')] });
    expect(relaxed.pragma('synchronous')).toBe(1);
  });

  it('strict: writes a small commit nobody is answered on at once on this thread while the writer thread is idle', async () => {
    const s = openStore(join(dirs.make(), 'inline.db'), { durability: 'strict' });
    const commitAsync = s.commitAsync;
    if (!commitAsync) throw new Error('a file store has commitAsync');
    const row = commitAsync({ ...emptyBatch(), tasks: [storedTask('row', 'ready')], deferSync: true });
    // Already written when commitAsync returned: no round trip to the writer thread.
    expect(s.getTaskStatus('row')).toBe('ready');
    await row;
    // The synced commit that follows goes through the writer thread, behind it.
    await commitAsync({ ...emptyBatch(), tasks: [storedTask('row', 'completed')], events: [busEvent(1)] });
    expect(s.getTaskStatus('row')).toBe('completed');
    expect(s.readEvents().map((e) => e.seq)).toEqual([1]);
    await s.drain();
  });

  it('keeps everything across close and reopen; the journal cursor goes on where it stopped', () => {
    const path = join(dirs.make(), 'state.db');
    const a = openStore(path);
    a.commit({
      tasks: [storedTask('t1', 'completed'), storedTask('t2', 'retrying')],
      events: [busEvent(1), busEvent(2)],
      records: [
        { kind: 'workflow_runs', id: 'run-1', parent: 'etl', status: 'running', data: { steps: { a: 'done' } } },
      ],
      meta: { 'scheduler.executing': 'true' },
    });
    a.close();
    const b = openStore(path);
    expect(b.openedAtVersion).toBe(SCHEMA_VERSION);
    expect(b.getTask('t1')).toEqual(storedTask('t1', 'completed'));
    expect(b.getTask('t2')?.retryAt).toBe(5000);
    expect(b.getRecord('workflow_runs', 'run-1')).toMatchObject({
      parent: 'etl',
      status: 'running',
      data: { steps: { a: 'done' } },
    });
    expect(b.getMeta('scheduler.executing')).toBe('true');
    expect(b.lastEventSeq()).toBe(2);
    b.commit({ ...emptyBatch(), events: [busEvent(3)] });
    expect(b.readEvents().map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('bounds the journal by count, deleting the oldest entries in chunks', () => {
    const s = openStore(join(dirs.make(), 'state.db'), { journalMaxEvents: 100 });
    let seq = 0;
    for (let c = 0; c < 150; c++)
      s.commit({ ...emptyBatch(), events: Array.from({ length: 10 }, () => busEvent(++seq)) });
    expect(s.lastEventSeq()).toBe(1500);
    const kept = s.readEvents({ limit: 10_000 });
    expect(kept[kept.length - 1]?.seq).toBe(1500);
    // Pruned when 100 + slack (1000) is passed, down to the newest 100 (whole commits).
    expect(kept[0]!.seq).toBeGreaterThan(1);
    expect(kept.length).toBeLessThanOrEqual(1100 + 10);
    expect(kept.length).toBeGreaterThanOrEqual(100);
  });

  it('bounds the journal by age', () => {
    const s = openStore(join(dirs.make(), 'state.db'), { journalMaxAgeMs: 60_000 });
    const old = Date.now() - 3_600_000;
    s.commit({ ...emptyBatch(), events: [busEvent(1, old), busEvent(2, old)] });
    s.close();
    // Age pruning runs at most once a minute per open store: a fresh one prunes at its first commit.
    const again = openStore(s.location, { journalMaxAgeMs: 60_000 });
    again.commit({ ...emptyBatch(), events: [busEvent(3, Date.now())] });
    expect(again.readEvents().map((e) => e.seq)).toEqual([3]);
  });

  it('writes nothing when it is told to keep no journal', () => {
    const s = openStore(join(dirs.make(), 'state.db'), { journalMaxEvents: 0 });
    s.commit({ ...emptyBatch(), events: [busEvent(1)], tasks: [storedTask('t', 'ready')] });
    expect(s.readEvents()).toEqual([]);
    expect(s.getTask('t')).toBeDefined();
  });

  it('stores values JSON cannot hold (BigInt, cycles) in a readable form instead of failing the commit', () => {
    const s = openStore(join(dirs.make(), 'state.db'));
    const cyclic: Record<string, unknown> = { n: 10n };
    cyclic['self'] = cyclic;
    const t = storedTask('odd', 'completed');
    t.result.result = cyclic;
    s.putTasks([t]);
    expect(s.getTask('odd')?.result.result).toEqual({ n: '10', self: '[Circular]' });
  });

  it('opens read-only beside a writer: sees what is committed, takes no lock, refuses writes', () => {
    const path = join(dirs.make(), 'state.db');
    const writer = openStore(path);
    writer.commit({ ...emptyBatch(), events: [busEvent(1)], tasks: [storedTask('a', 'running')] });
    const reader = openStore(path, { readonly: true });
    expect(reader.getTask('a')?.status).toBe('running');
    writer.commit({ ...emptyBatch(), events: [busEvent(2)] });
    expect(reader.lastEventSeq()).toBe(2);
    expect(reader.readEvents({ afterSeq: 1 }).map((e) => e.seq)).toEqual([2]);
    expect(() => reader.putTasks([storedTask('b', 'ready')])).toThrow(
      expect.objectContaining({ code: ErrorCode.STORE_WRITE_FAILED }) as Error,
    );
  });

  it('refuses to open a missing database read-only', () => {
    expect(() => SqliteStore.open({ path: join(dirs.make(), 'none.db'), readonly: true })).toThrow(
      /no database at .*none\.db/,
    );
  });

  it('checkWritable writes a heartbeat', () => {
    const s = openStore(join(dirs.make(), 'state.db'));
    s.checkWritable();
    expect(Date.parse(s.getMeta('heartbeat') ?? '')).toBeGreaterThan(0);
  });
});
