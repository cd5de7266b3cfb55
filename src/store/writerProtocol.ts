/**
 * The protocol between a SQLite store and its writer thread: one answered request per commit, in order; errors
 * cross as `{ message, code }` (SQLite's code, e.g. `SQLITE_FULL`).
 */
import type { EncodedBatch, JournalLimits, RetentionLimits } from './sqliteWrites.js';

/** What the writer thread is started with (its `workerData`). */
export interface WriterInit {
  path: string;
  durability: 'strict' | 'relaxed';
  busyTimeoutMs: number;
  walAutocheckpointPages: number;
  journal: JournalLimits;
  recordKinds: readonly string[];
  retention?: RetentionLimits;
}

/**
 * `write` commits one batch in one transaction. A large batch is sent in parts first (`part`, not answered: the
 * thread keeps them), then its last part as a `write` naming how many parts came before (`parts`): the thread
 * writes all of them in one transaction, or none when one is missing (a thread that died and was replaced).
 * `discard` drops the parts kept (the sender gave up before the last part). `ready` is answered once the thread
 * has opened its connection (failed with the open's error when it could not).
 */
export type WriterRequest =
  | { type: 'write'; id: number; batch: EncodedBatch; parts?: { bulk: number; count: number } }
  | { type: 'part'; bulk: number; batch: EncodedBatch }
  | { type: 'discard'; bulk: number }
  | { type: 'close'; id: number }
  | { type: 'ready'; id: number };

export type WriterReply =
  { type: 'done'; id: number } | { type: 'failed'; id: number; error: { message: string; code: string | null } };
