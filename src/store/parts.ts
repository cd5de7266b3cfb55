/**
 * Sending a commit to a store's thread (SQLite's writer, PostgreSQL's connection): whole, or in parts when large. A
 * batch of many rows (one big `addTasks` call is one commit) is encoded and sent a part at a time, yielding to the
 * event loop between parts, and the thread writes all the parts in one transaction (see `WriterRequest`). The
 * engine's thread never encodes or copies the whole batch in one go, and the commit stays all or nothing.
 */
import { ShuttingDownError } from '../errors.js';
import type { WriteBatch } from './store.js';
import type { BatchEncoder, EncodedBatch } from './sqliteWrites.js';

/** A thread that takes a large batch in parts and writes them in one transaction (SQLite's or PostgreSQL's). */
export interface PartWriter {
  sendPart(bulk: number, batch: EncodedBatch): void;
  writeParts(bulk: number, count: number, batch: EncodedBatch): Promise<void>;
  discardParts(bulk: number): void;
}

/** Tasks (or journal events, or records) per part. */
export const PART_ROWS = 2000;

/** Whether a batch is sent in parts. */
export function needsParts(batch: WriteBatch): boolean {
  return batch.tasks.length + batch.events.length + batch.records.length > PART_ROWS;
}

/** The batch cut into parts of at most `rows` tasks, events or records each; meta goes with the last part. */
export function splitBatch(batch: WriteBatch, rows = PART_ROWS): WriteBatch[] {
  const parts: WriteBatch[] = [];
  const cut = <T>(list: T[], put: (part: WriteBatch, slice: T[]) => void): void => {
    for (let i = 0; i < list.length; i += rows) {
      const part: WriteBatch = { tasks: [], events: [], records: [], meta: {} };
      put(part, list.slice(i, i + rows));
      parts.push(part);
    }
  };
  cut(batch.tasks, (p, s) => (p.tasks = s));
  cut(batch.events, (p, s) => (p.events = s));
  cut(batch.records, (p, s) => (p.records = s));
  const last = parts[parts.length - 1];
  if (last) last.meta = batch.meta;
  else parts.push({ tasks: [], events: [], records: [], meta: batch.meta });
  return parts;
}

let nextBulk = 0;

const yieldTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Encodes and sends `batch` in parts, yielding between them, and resolves once the thread committed all of them
 * in one transaction. On any failure nothing is written: the parts kept by the thread are dropped, the journal
 * sequence numbers handed out are taken back, and the error is thrown.
 */
export async function commitInParts(
  thread: PartWriter,
  encoder: BatchEncoder,
  batch: WriteBatch,
  closed: () => boolean,
): Promise<void> {
  const bulk = ++nextBulk;
  const parts = splitBatch(batch);
  let first: EncodedBatch | null = null;
  let sent = 0;
  try {
    for (let i = 0; i < parts.length - 1; i++) {
      // Closed meanwhile: no part may start a new writer thread.
      if (closed())
        throw new ShuttingDownError('the store closed while a large commit was being sent; nothing of it was written');
      const encoded = encoder.encode(parts[i] as WriteBatch);
      first ??= encoded.events ? encoded : null;
      thread.sendPart(bulk, encoded);
      sent++;
      await yieldTurn();
    }
    if (closed())
      throw new ShuttingDownError('the store closed while a large commit was being sent; nothing of it was written');
    const last = encoder.encode(parts[parts.length - 1] as WriteBatch);
    first ??= last.events ? last : null;
    await thread.writeParts(bulk, sent, last);
  } catch (err) {
    if (sent > 0) thread.discardParts(bulk);
    // Every part's sequence numbers come after the first one's: taking back from there takes back all.
    if (first) encoder.rollback(first);
    throw err;
  }
}

/** A store's thread: writes a batch whole, or takes it in parts. */
export interface BatchThread extends PartWriter {
  write(batch: EncodedBatch): Promise<void>;
}

/**
 * Encodes `batch` and has `thread` write it in one transaction (in parts when large): resolves once it is committed.
 * On a failure the journal's sequence numbers handed out are taken back and `wrap(error)` is thrown.
 */
export async function commitOnThread(
  thread: BatchThread,
  encoder: BatchEncoder,
  batch: WriteBatch,
  closed: () => boolean,
  wrap: (err: unknown) => Error,
): Promise<void> {
  if (needsParts(batch)) {
    try {
      await commitInParts(thread, encoder, batch, closed);
      return;
    } catch (err) {
      throw wrap(err);
    }
  }
  const encoded = encoder.encode(batch);
  try {
    await thread.write(encoded);
  } catch (err) {
    encoder.rollback(encoded);
    throw wrap(err);
  }
}

/** What the engine sends a store's thread for a large commit before its last part: a part, or the commit given up. */
export type PartMessage = { type: 'part'; bulk: number; batch: EncodedBatch } | { type: 'discard'; bulk: number };

/**
 * The thread's side (SQLite's writer, PostgreSQL's connection): the parts of the large commit received so far,
 * until its last part comes with the `write` (or a `discard` drops them). Parts of another commit drop the ones kept.
 */
export class ReceivedParts {
  #parts: { bulk: number; batches: EncodedBatch[] } | null = null;

  /** Keeps a `part` or drops what a `discard` names; true when `req` was one of them (and so is handled). */
  take<R extends { type: string }>(req: R): req is Extract<R, PartMessage> {
    const m = req as unknown as PartMessage;
    if (m.type === 'part') {
      if (this.#parts?.bulk !== m.bulk) this.#parts = { bulk: m.bulk, batches: [] };
      this.#parts.batches.push(m.batch);
      return true;
    }
    if (m.type === 'discard') {
      if (this.#parts?.bulk === m.bulk) this.#parts = null;
      return true;
    }
    return false;
  }

  /**
   * Every part of the commit `parts.bulk`, `last` at the end, and forgets them; throws `missing(have, count)` when
   * some never came (the thread was restarted meanwhile): then nothing may be written.
   */
  finish(
    parts: { bulk: number; count: number },
    last: EncodedBatch,
    missing: (have: number, count: number) => Error,
  ): EncodedBatch[] {
    const kept = this.#parts?.bulk === parts.bulk ? this.#parts.batches : [];
    this.#parts = null;
    if (kept.length !== parts.count) throw missing(kept.length, parts.count);
    kept.push(last);
    return kept;
  }
}
