/**
 * The behaviour every Store must have: round trips of each record type, the journal's cursor and filters, and
 * atomic batches. Each implementation's test file calls `storeConformance` with a factory (one suite, every store:
 * memory, SQLite, PostgreSQL).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/index.js';
import { RECORD_KINDS } from '../../src/index.js';
import { emptyBatch } from '../../src/store/store.js';
import { busEvent, storedTask } from './helpers.js';

export interface ConformanceOptions {
  /** Opens the same database again after the store was drained and closed (durable stores). */
  reopen?: (closed: Store) => Store | Promise<Store>;
}

export function storeConformance(
  name: string,
  makeStore: () => Store | Promise<Store>,
  options: ConformanceOptions = {},
): void {
  describe(`Store conformance: ${name}`, () => {
    const open: Store[] = [];
    const store = async (): Promise<Store> => {
      const s = await makeStore();
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open.splice(0)) {
        await s.drain?.();
        s.close();
      }
    });

    it('round-trips tasks of every status with spec, result, attempts and timestamps', async () => {
      const s = await store();
      const statuses = [
        'pending',
        'ready',
        'running',
        'retrying',
        'completed',
        'failed',
        'timed_out',
        'cancelled',
        'skipped',
      ] as const;
      const tasks = statuses.map((st, i) => storedTask(`t${i}`, st));
      s.putTasks(tasks);
      for (const t of tasks) {
        expect(s.getTask(t.spec.id)).toEqual(t);
        expect(s.getTaskStatus(t.spec.id)).toBe(t.status);
      }
      expect(s.getTaskStatuses(['t4', 'missing', 't0'])).toEqual(
        new Map([
          ['t4', 'completed'],
          ['t0', 'pending'],
        ]),
      );
      expect(s.getTask('missing')).toBeUndefined();
      expect(s.getTaskStatus('missing')).toBeUndefined();
      expect(s.listTasks().map((t) => t.spec.id)).toEqual(tasks.map((t) => t.spec.id));
      expect(s.listTasks({ status: ['running', 'retrying'] }).map((t) => t.status)).toEqual(['running', 'retrying']);
      expect(s.listTasks({ limit: 2 })).toHaveLength(2);
      // Pages, newest first: what `task list --limit N --offset M` shows.
      expect(s.listTasks({ newest: true, limit: 3 }).map((t) => t.spec.id)).toEqual(['t8', 't7', 't6']);
      expect(s.listTasks({ newest: true, limit: 2, offset: 3 }).map((t) => t.spec.id)).toEqual(['t5', 't4']);
      expect(s.listTasks({ offset: 7 }).map((t) => t.spec.id)).toEqual(['t7', 't8']);
      expect(
        s.listTasks({ newest: true, status: ['pending', 'completed', 'skipped'], offset: 1 }).map((t) => t.spec.id),
      ).toEqual(['t4', 't0']);
    });

    it('updates a task in place, keeping its first-write order', async () => {
      const s = await store();
      s.putTasks([storedTask('a', 'ready'), storedTask('b', 'ready')]);
      const done = storedTask('a', 'completed');
      s.putTasks([done]);
      expect(s.getTask('a')).toEqual(done);
      expect(s.listTasks().map((t) => t.spec.id)).toEqual(['a', 'b']);
    });

    it('journals events with a growing cursor, read by afterSeq, limit and type', async () => {
      const s = await store();
      s.commit({ ...emptyBatch(), events: [busEvent(1), busEvent(2), busEvent(3)] });
      s.commit({
        ...emptyBatch(),
        events: [{ type: 'engine_started', seq: 9, timestamp: 5, data: { engineId: 'e', threads: 2 } }, busEvent(4)],
      });
      const all = s.readEvents();
      expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(all[0]).toEqual({ seq: 1, type: 'task_queued', timestamp: 1001, data: busEvent(1).data });
      expect(s.lastEventSeq()).toBe(5);
      expect(s.readEvents({ afterSeq: 2 }).map((e) => e.seq)).toEqual([3, 4, 5]);
      expect(s.readEvents({ afterSeq: 1, limit: 2 }).map((e) => e.seq)).toEqual([2, 3]);
      expect(s.readEvents({ types: ['engine_started'] })).toEqual([
        { seq: 4, type: 'engine_started', timestamp: 5, data: { engineId: 'e', threads: 2 } },
      ]);
      expect(s.readEvents({ afterSeq: 5 })).toEqual([]);
    });

    it('round-trips, lists and deletes records of every kind', async () => {
      const s = await store();
      for (const kind of RECORD_KINDS) {
        s.commit({
          ...emptyBatch(),
          records: [
            { kind, id: `${kind}-1`, parent: 'p1', status: 'running', data: { kind, n: 1, list: [1, 2] } },
            { kind, id: `${kind}-2`, parent: 'p2', status: 'done', data: { kind, n: 2 } },
            { kind, id: `${kind}-3`, data: 'plain' },
          ],
        });
        expect(s.getRecord(kind, `${kind}-1`)).toMatchObject({
          id: `${kind}-1`,
          parent: 'p1',
          status: 'running',
          data: { kind, n: 1, list: [1, 2] },
        });
        expect(s.getRecord(kind, `${kind}-3`)).toMatchObject({ parent: null, status: null, data: 'plain' });
        expect(s.listRecords(kind).map((r) => r.id)).toEqual([`${kind}-1`, `${kind}-2`, `${kind}-3`]);
        expect(s.listRecords(kind, { parent: 'p2' }).map((r) => r.id)).toEqual([`${kind}-2`]);
        expect(s.listRecords(kind, { status: ['running'] }).map((r) => r.id)).toEqual([`${kind}-1`]);
        expect(s.listRecords(kind, { limit: 1 })).toHaveLength(1);
        s.commit({
          ...emptyBatch(),
          records: [
            { kind, id: `${kind}-1`, status: 'done', data: { n: 10 } },
            { kind, id: `${kind}-2`, delete: true },
          ],
        });
        const updated = s.getRecord(kind, `${kind}-1`);
        expect(updated).toMatchObject({ status: 'done', parent: null, data: { n: 10 } });
        expect(updated!.updatedAt).toBeGreaterThanOrEqual(updated!.createdAt);
        expect(s.getRecord(kind, `${kind}-2`)).toBeUndefined();
      }
      // Kinds are separate tables: the same id in two kinds is two records.
      expect(s.getRecord('sessions', 'workflow_runs-3')).toBeUndefined();
    });

    it('pages records with a cursor (after) and bounds them by creation time', async () => {
      const s = await store();
      const t0 = Date.now();
      s.commit({
        ...emptyBatch(),
        records: Array.from({ length: 6 }, (_, i) => ({
          kind: 'workflow_runs' as const,
          id: `page-${i}`,
          parent: i % 2 ? 'odd' : 'even',
          status: 'done',
          data: { i },
        })),
      });
      expect(s.listRecords('workflow_runs', { newest: true, limit: 2 }).map((r) => r.id)).toEqual(['page-5', 'page-4']);
      expect(s.listRecords('workflow_runs', { newest: true, limit: 2, after: 'page-4' }).map((r) => r.id)).toEqual([
        'page-3',
        'page-2',
      ]);
      expect(s.listRecords('workflow_runs', { after: 'page-3' }).map((r) => r.id)).toEqual(['page-4', 'page-5']);
      expect(s.listRecords('workflow_runs', { newest: true, parent: 'odd', after: 'page-5' }).map((r) => r.id)).toEqual(
        ['page-3', 'page-1'],
      );
      expect(s.listRecords('workflow_runs', { after: 'no-such-record' })).toEqual([]);
      expect(s.listRecords('workflow_runs', { createdFrom: t0 - 60_000 }).map((r) => r.id)).toHaveLength(6);
      expect(s.listRecords('workflow_runs', { createdFrom: Date.now() + 60_000 })).toEqual([]);
      expect(s.listRecords('workflow_runs', { createdTo: t0 - 60_000 })).toEqual([]);
    });

    it('keeps meta values', async () => {
      const s = await store();
      s.commit({ ...emptyBatch(), meta: { 'scheduler.executing': 'true', other: 'x' } });
      s.commit({ ...emptyBatch(), meta: { 'scheduler.executing': 'false' } });
      expect(s.getMeta('scheduler.executing')).toBe('false');
      expect(s.getMeta('other')).toBe('x');
      expect(s.getMeta('missing')).toBeUndefined();
      expect(s.listMeta()).toMatchObject({ 'scheduler.executing': 'false', other: 'x' });
    });

    it('refuses writes once closed', async () => {
      const s = await store();
      s.close();
      expect(() => s.putTasks([storedTask('x', 'ready')])).toThrow(/closed/);
      expect(() => s.checkWritable()).toThrow(/closed/);
    });
    it.runIf(options.reopen !== undefined)(
      'keeps what was committed when opened again, and carries on the journal cursor',
      async () => {
        const s = await store();
        s.commit({
          tasks: [storedTask('kept', 'completed'), storedTask('open', 'retrying')],
          events: [busEvent(1), busEvent(2)],
          records: [{ kind: 'workflow_runs', id: 'run-1', parent: 'wf', status: 'running', data: { steps: ['a'] } }],
          meta: { 'scheduler.executing': 'true' },
        });
        await s.drain?.();
        s.close();
        const again = await options.reopen!(s);
        open.push(again);
        expect(again.getTask('kept')).toEqual(storedTask('kept', 'completed'));
        expect(again.listTasks({ status: ['retrying'] }).map((t) => t.spec.id)).toEqual(['open']);
        expect(again.getRecord('workflow_runs', 'run-1')).toMatchObject({
          parent: 'wf',
          status: 'running',
          data: { steps: ['a'] },
        });
        expect(again.getMeta('scheduler.executing')).toBe('true');
        again.commit({ ...emptyBatch(), events: [busEvent(3)] });
        expect(again.readEvents().map((e) => e.seq)).toEqual([1, 2, 3]);
      },
    );

    it('writes a large batch through commitAsync whole (tasks, events and records), in first-write order', async () => {
      const s = await store();
      const n = 5000;
      const tasks = Array.from({ length: n }, (_, i) => storedTask(`bulk-${i}`, 'ready'));
      const batch = {
        tasks,
        events: Array.from({ length: 900 }, (_, i) => busEvent(i + 1)),
        records: Array.from({ length: 2500 }, (_, i) => ({
          kind: 'sessions' as const,
          id: `s${i}`,
          status: 'active',
          data: { i },
        })),
        meta: { bulk: 'done' },
      };
      if (s.commitAsync) await s.commitAsync(batch);
      else s.commit(batch);
      expect(s.listTasks().map((t) => t.spec.id)).toEqual(tasks.map((t) => t.spec.id));
      expect(s.readEvents({ limit: 10_000 })).toHaveLength(900);
      expect(s.lastEventSeq()).toBe(900);
      expect(s.listRecords('sessions', { status: ['active'] })).toHaveLength(2500);
      expect(s.getMeta('bulk')).toBe('done');
    });
  });
}
