import { afterAll, describe, expect, it } from 'vitest';
import type { CommitSource, StoreError, WriteBatch } from '../../src/index.js';
import { ErrorCode, GroupCommitter, MemoryStore } from '../../src/index.js';
import { RecordQueue } from '../../src/store/commits.js';
import { AsyncStore, FlakyStore } from './flakyStore.js';
import { storedTask } from './helpers.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The committer's fault reports, and a promise of the next time it reports the store healthy again. */
function faultReports(): {
  faults: (string | null)[];
  healed: () => Promise<void>;
  onFault: (e: StoreError | null) => void;
} {
  const faults: (string | null)[] = [];
  let wake: (() => void) | null = null;
  return {
    faults,
    healed: () => new Promise<void>((resolve) => (wake = resolve)),
    onFault: (e) => {
      faults.push(e ? e.code : null);
      if (e === null) wake?.();
    },
  };
}

/** A source that hands over whatever was pushed into it, and records what it was told. */
class Source implements CommitSource {
  pending: string[] = [];
  committedCalls = 0;
  failures: StoreError[] = [];
  #inFlight: string[] = [];
  collect(batch: WriteBatch): void {
    this.#inFlight = this.pending;
    this.pending = [];
    for (const id of this.#inFlight) batch.tasks.push(storedTask(id, 'ready'));
  }
  committed(): void {
    this.committedCalls++;
  }
  failed(error: StoreError): void {
    this.failures.push(error);
    this.pending = this.#inFlight.concat(this.pending);
  }
}

const committers: GroupCommitter[] = [];
afterAll(async () => {
  for (const c of committers) await c.close();
});
function committer(
  store: MemoryStore | FlakyStore,
  options: ConstructorParameters<typeof GroupCommitter>[1] = {},
): GroupCommitter {
  const c = new GroupCommitter(store, options);
  committers.push(c);
  return c;
}

describe('GroupCommitter', () => {
  it('writes every change of one event-loop turn in one commit, then runs the acks', async () => {
    const store = new FlakyStore();
    const c = committer(store);
    const source = new Source();
    c.register(source);
    const acked: string[] = [];
    for (let i = 0; i < 100; i++) {
      source.pending.push(`t${i}`);
      c.schedule();
    }
    c.onCommit(
      () => acked.push('ack'),
      () => acked.push('fail'),
    );
    expect(store.commits).toBe(0);
    expect(acked).toEqual([]);
    await turn();
    expect(store.commits).toBe(1);
    expect(store.getTask('t99')).toBeDefined();
    expect(acked).toEqual(['ack']);
    expect(source.committedCalls).toBe(1);
  });

  it('waits up to delayMs, or commits at the next turn once maxBatch changes wait', async () => {
    const store = new FlakyStore();
    const c = committer(store, { delayMs: 10_000, maxBatch: 3 });
    const source = new Source();
    c.register(source);
    source.pending.push('a');
    c.schedule();
    await turn();
    expect(store.commits).toBe(0);
    source.pending.push('b', 'c');
    c.schedule();
    c.schedule();
    await turn();
    expect(store.commits).toBe(1);
    expect(store.listTasks().map((t) => t.spec.id)).toEqual(['a', 'b', 'c']);

    const shortDelay = committer(new FlakyStore(), { delayMs: 5 });
    await shortDelay.afterCommit('done').then((v) => expect(v).toBe('done'));
  });

  it('with a window (delayMs): a change somebody waits for goes at the end of its turn while the writer is idle; under load it waits for the commit in flight', async () => {
    const store = new AsyncStore();
    const c = committer(store, { delayMs: 60_000 });
    const source = new Source();
    c.register(source);
    // Nobody waits: it waits for the window.
    source.pending.push('unawaited');
    c.schedule();
    await turn();
    expect(store.inFlight).toBe(0);
    // Somebody waits, the writer is idle: at the end of this turn, with what waited for the window.
    source.pending.push('awaited');
    const ack = c.afterCommit('a');
    await turn();
    expect(store.inFlight).toBe(1);
    expect(store.sent[0]?.tasks.map((t) => t.spec.id)).toEqual(['unawaited', 'awaited']);
    // The writer is busy: what is asked for meanwhile waits for its answer, then goes together, at once.
    source.pending.push('b');
    const ackB = c.afterCommit('b');
    await turn();
    source.pending.push('c');
    const ackC = c.afterCommit('c');
    await turn();
    expect(store.sent).toHaveLength(1);
    store.release();
    await expect(ack).resolves.toBe('a');
    expect(store.inFlight).toBe(1);
    expect(store.sent[1]?.tasks.map((t) => t.spec.id)).toEqual(['b', 'c']);
    store.release();
    await expect(Promise.all([ackB, ackC])).resolves.toEqual(['b', 'c']);
  });

  it('on a failed commit: tells the sources, fails the acks, reports the fault, and retries until the store writes again', async () => {
    const store = new FlakyStore();
    const { faults, healed, onFault } = faultReports();
    const c = committer(store, { retryMs: 5, onFault });
    const source = new Source();
    c.register(source);
    store.failing = true;
    source.pending.push('lost-then-kept');
    const ack = c.afterCommit('x');
    c.schedule();
    await expect(ack).rejects.toMatchObject({
      code: ErrorCode.STORE_WRITE_FAILED,
      message: expect.stringMatching(/disk is full/) as string,
    });
    expect(c.fault?.code).toBe(ErrorCode.STORE_WRITE_FAILED);
    expect(source.failures).toHaveLength(1);
    expect(faults).toEqual([ErrorCode.STORE_WRITE_FAILED]);
    expect(store.getTask('lost-then-kept')).toBeUndefined();
    const back = healed();
    store.failing = false;
    // The retry timer writes what the source kept, and the committer reports the store healthy.
    await back;
    expect(c.fault).toBeNull();
    expect(store.getTask('lost-then-kept')).toBeDefined();
    expect(faults).toEqual([ErrorCode.STORE_WRITE_FAILED, null]);
  });

  it('probes a failing store with a real write even when nothing waits', async () => {
    const store = new FlakyStore();
    const { healed, onFault } = faultReports();
    const c = committer(store, { retryMs: 5, onFault });
    store.failing = true;
    await expect(c.afterCommit(1)).resolves.toBe(1); // nothing to write: nothing can fail yet
    c.register({ collect: (b) => (b.meta['k'] = 'v'), committed: () => undefined, failed: () => undefined });
    c.schedule();
    await turn();
    expect(c.fault).not.toBeNull();
    const probesBefore = store.probes;
    const back = healed();
    store.failing = false;
    await back;
    expect(c.fault).toBeNull();
    expect(store.probes).toBeGreaterThan(probesBefore);
  });

  it('with a store that writes off-thread: one commit in flight; what changes meanwhile goes in the next one, at once', async () => {
    const store = new AsyncStore();
    const c = committer(store);
    const source = new Source();
    c.register(source);
    const order: string[] = [];
    source.pending.push('a');
    c.onCommit(
      () => order.push('ack a'),
      () => order.push('fail a'),
    );
    await turn();
    expect(store.inFlight).toBe(1);
    // Changes and acks while the first commit is in flight wait for the second.
    source.pending.push('b');
    c.onCommit(
      () => order.push('ack b'),
      () => order.push('fail b'),
    );
    await turn();
    expect(store.inFlight).toBe(1);
    store.release();
    await turn();
    expect(order).toEqual(['ack a']);
    expect(source.committedCalls).toBe(1);
    // The answer started the next commit without waiting for another turn.
    expect(store.inFlight).toBe(1);
    expect(store.sent[1]?.tasks.map((t) => t.spec.id)).toEqual(['b']);
    store.failing = true;
    store.release();
    await turn();
    expect(order).toEqual(['ack a', 'fail b']);
    expect(source.failures).toHaveLength(1);
    store.failing = false;
    const closed = c.close();
    // close() waits for the retry's write: it carries what the failed commit held.
    await store.inFlightSoon();
    store.release();
    expect(await closed).toBe(true);
    expect(store.getTask('b')).toBeDefined();
  });

  it('marks a commit nobody is answered on deferSync, and syncs the one an ack waits on', async () => {
    const store = new AsyncStore();
    const c = committer(store);
    const source = new Source();
    c.register(source);
    source.pending.push('unawaited');
    c.schedule();
    await store.inFlightSoon();
    expect(store.sent[0]?.deferSync).toBe(true);
    store.release();
    source.pending.push('answered');
    const ack = c.afterCommit('ok');
    await store.inFlightSoon();
    expect(store.sent[1]?.deferSync).toBeUndefined();
    store.release();
    await expect(ack).resolves.toBe('ok');
  });

  it('with unawaitedDelayMs: holds changes nobody waits for until somebody does (one commit), and idle() writes them', async () => {
    const store = new FlakyStore();
    const c = committer(store, { unawaitedDelayMs: 60_000 });
    const source = new Source();
    c.register(source);
    source.pending.push('started');
    c.schedule();
    await turn();
    await turn();
    expect(store.commits).toBe(0);
    // An answer waits now: the held change goes with it, in the same commit, at the end of the turn.
    source.pending.push('ended');
    const ack = c.afterCommit('answered');
    await turn();
    expect(store.commits).toBe(1);
    await expect(ack).resolves.toBe('answered');
    expect(store.listTasks().map((t) => t.spec.id)).toEqual(['started', 'ended']);
    // A source holding work for its commit counts as somebody waiting.
    let held = true;
    c.register({
      collect: () => undefined,
      committed: () => (held = false),
      failed: () => undefined,
      waiting: () => held,
    });
    source.pending.push('gated');
    c.schedule();
    await turn();
    expect(store.commits).toBe(2);
    expect(held).toBe(false);
    // Nobody waits: held back, until idle() asks for everything to be written.
    source.pending.push('later');
    c.schedule();
    await turn();
    expect(store.commits).toBe(2);
    expect(await c.idle()).toBe(true);
    expect(store.commits).toBe(3);
    expect(store.getTask('later')).toBeDefined();
  });

  it('fails the acks that are still waiting when it closes', async () => {
    const c = new GroupCommitter(new MemoryStore());
    await c.close();
    await expect(c.afterCommit(1)).rejects.toThrow(/closed/);
  });
});

describe('RecordQueue', () => {
  it('coalesces writes of one record, encodes thunks at commit time, and writes a failed batch again', async () => {
    const store = new FlakyStore();
    const c = committer(store, { retryMs: 5 });
    const q = new RecordQueue(c);
    let version = 0;
    q.write('sessions', 's1', { kind: 'sessions', id: 's1', status: 'active', data: { v: 'first' } });
    q.write('sessions', 's1', () => ({ kind: 'sessions', id: 's1', status: 'active', data: { v: ++version } }));
    store.failing = true;
    c.flush();
    expect(store.getRecord('sessions', 's1')).toBeUndefined();
    // Failed: still queued; a newer write of another record joins it.
    q.write('sessions', 's2', { kind: 'sessions', id: 's2', status: 'closed', data: {} });
    store.failing = false;
    await expect.poll(() => store.getRecord('sessions', 's2')?.status).toBe('closed');
    // The thunk was evaluated once per attempt: the failed commit and the one that wrote it.
    expect(store.getRecord('sessions', 's1')?.data).toEqual({ v: 2 });
    q.write('sessions', 's1', { kind: 'sessions', id: 's1', delete: true });
    c.flush();
    await expect.poll(() => store.getRecord('sessions', 's1')).toBeUndefined();
  });
});
