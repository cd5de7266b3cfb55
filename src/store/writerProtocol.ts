/**
 * The protocol between a SQLite store and its writer thread: one request per commit, answered in order; errors
 * cross as `{ message, code }` (SQLite's code, e.g. `SQLITE_FULL`).
 */
import type { EncodedBatch, JournalLimits, RetentionLimits } from './sqliteWrites.js';

/** What the writer thread is started with (its `workerData`). */
export interface WriterInit {
  path: string;
  durability: 'strict' | 'relaxed';
  busyTimeoutMs: number;
  journal: JournalLimits;
  recordKinds: readonly string[];
  retention?: RetentionLimits;
}

export type WriterRequest = { type: 'write'; id: number; batch: EncodedBatch } | { type: 'close'; id: number };

export type WriterReply = { type: 'done'; id: number } | { type: 'failed'; id: number; error: { message: string; code: string | null } };
