/**
 * `store copy`: moves an installation's state from one store to another (an embedded SQLite file to PostgreSQL),
 * then checks the copy row by row count against the source. The target must be empty: a copy never merges.
 */
import { ErrorCode, StoreError } from '../errors.js';
import type { Store, WriteBatch } from './store.js';
import { RECORD_KINDS, emptyBatch } from './store.js';

/** One kind of row: how many the source has, how many were written, how many the target has after. */
export interface CopiedKind {
  kind: string;
  source: number;
  copied: number;
  target: number;
}

export interface CopyReport {
  from: string;
  to: string;
  kinds: CopiedKind[];
  /** Every kind's target count equals its source count. */
  ok: boolean;
  durationMs: number;
}

/** Rows per commit. */
const CHUNK = 2000;

/** What the target already holds, by kind (a non-empty target is refused). */
function held(store: Store): string[] {
  const out: string[] = [];
  if (store.listTasks({ limit: 1 }).length > 0) out.push('tasks');
  if (store.lastEventSeq() > 0) out.push('events');
  for (const kind of RECORD_KINDS) if (store.listRecords(kind, { limit: 1 }).length > 0) out.push(kind);
  return out;
}

async function write(target: Store, batch: WriteBatch): Promise<void> {
  if (target.commitAsync) await target.commitAsync(batch);
  else target.commit(batch);
}

/**
 * Copies everything `source` holds into the empty `target` (opened with `reopenTarget` once more, so its journal
 * carries on the source's sequence numbers), then counts both. Task rows keep their timestamps; records are
 * stamped with the time of the copy. Resolves with the report; rejects with a `StoreError` when the target is not
 * empty (nothing is written then).
 */
export async function copyStore(source: Store, openTarget: () => Store | Promise<Store>): Promise<CopyReport> {
  const t0 = performance.now();
  let target = await openTarget();
  try {
    const there = held(target);
    if (there.length > 0) {
      throw new StoreError(
        `the target ${target.location} is not empty (it holds ${there.join(', ')}); copy into an empty database, or drop its codomyrmex_ tables first`,
        ErrorCode.STORE_UNAVAILABLE,
      );
    }
    const kinds: CopiedKind[] = [];
    // The journal's sequence numbers are kept: the target's cursor starts where the source's oldest kept entry does.
    const first = source.readEvents({ limit: 1 })[0]?.seq ?? source.lastEventSeq() + 1;
    const meta = source.listMeta();
    await write(target, { ...emptyBatch(), meta: { ...pick(meta), 'journal.last_seq': String(first - 1) } });
    await target.drain?.();
    target.close();
    target = await openTarget();

    const tasks = source.listTasks();
    for (let i = 0; i < tasks.length; i += CHUNK)
      await write(target, { ...emptyBatch(), tasks: tasks.slice(i, i + CHUNK) });
    kinds.push({ kind: 'tasks', source: tasks.length, copied: tasks.length, target: target.listTasks().length });

    let events = 0;
    for (let after = 0; ;) {
      const page = source.readEvents({ afterSeq: after, limit: CHUNK });
      const last = page[page.length - 1];
      if (!last) break;
      await write(target, {
        ...emptyBatch(),
        events: page.map(
          (e) => ({ type: e.type, seq: e.seq, timestamp: e.timestamp, data: e.data }) as WriteBatch['events'][number],
        ),
      });
      events += page.length;
      after = last.seq;
    }
    kinds.push({ kind: 'events', source: countEvents(source), copied: events, target: countEvents(target) });

    for (const kind of RECORD_KINDS) {
      const records = source.listRecords(kind);
      for (let i = 0; i < records.length; i += CHUNK) {
        await write(target, {
          ...emptyBatch(),
          records: records
            .slice(i, i + CHUNK)
            .map((r) => ({ kind, id: r.id, parent: r.parent, status: r.status, data: r.data })),
        });
      }
      kinds.push({ kind, source: records.length, copied: records.length, target: target.listRecords(kind).length });
    }
    const copiedMeta = Object.keys(pick(meta)).length;
    kinds.push({
      kind: 'meta',
      source: copiedMeta,
      copied: copiedMeta,
      target: Object.keys(pick(target.listMeta())).length,
    });
    return {
      from: source.location,
      to: target.location,
      kinds,
      ok: kinds.every((k) => k.source === k.target && k.copied === k.source),
      durationMs: performance.now() - t0,
    };
  } finally {
    await target.drain?.();
    target.close();
  }
}

/** The meta values that belong to the state (not to one file or engine: owner, heartbeat, migration stamps). */
function pick(meta: Record<string, string>): Record<string, string> {
  const local = new Set(['owner', 'heartbeat', 'created_at', 'migrated_at', 'migrated_from', 'journal.last_seq']);
  return Object.fromEntries(Object.entries(meta).filter(([k]) => !local.has(k)));
}

function countEvents(store: Store): number {
  let n = 0;
  for (let after = 0; ;) {
    const page = store.readEvents({ afterSeq: after, limit: 10_000 });
    const last = page[page.length - 1];
    if (!last) return n;
    n += page.length;
    after = last.seq;
  }
}
