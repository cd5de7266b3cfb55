/**
 * The protocol between a PostgreSQL store and its thread (postgres.worker.ts), which owns the connections. Every
 * request is answered once, by id, on the channel it came by: the synchronous one (reads, opening; the engine's
 * thread waits on an `Atomics` flag) or the asynchronous one (commits). The thread also tells the store, unasked,
 * when its lease was lost. Errors cross as `{ message, code, kind }`.
 */
import type { EncodedBatch, RetentionLimits } from './sqliteWrites.js';
import type { PgJournalLimits } from './postgresWrites.js';

/** What opening the store asks of the thread. */
export interface PgOpenRequest {
  /** The connection URL (with its password: it stays inside this process). */
  url: string;
  /** The URL as shown in messages (no password). */
  shownUrl: string;
  durability: 'strict' | 'relaxed';
  /** Read only: no migration, no lease, no writes. */
  readonly: boolean;
  /** Run the migrations the database lacks (false: refuse a database that is behind; see `store migrate`). */
  migrate: boolean;
  /** Take the lease (false: migrate only, then close: `store migrate`). */
  lease: boolean;
  /** Who holds the lease (shown to others), and what about it. */
  holder: string;
  holderInfo: Record<string, unknown>;
  /** How long the lease lasts unless renewed (renewed every third of it). */
  leaseTtlMs: number;
  /** Adopt a lease already taken by this holder at this epoch (a standby that won the takeover) instead of taking one. */
  adoptEpoch: number | null;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  journal: PgJournalLimits;
  retention: RetentionLimits | null;
  recordKinds: readonly string[];
}

export interface PgOpened {
  /** The schema version found (0: a new database). */
  version: number;
  /** The lease's epoch this store writes with (0 when read-only). */
  epoch: number;
  /** The newest journal sequence number handed out so far. */
  lastSeq: number;
}

export type PgRequest =
  | { type: 'open'; id: number; open: PgOpenRequest }
  | { type: 'query'; id: number; sql: string; params: unknown[] }
  | { type: 'write'; id: number; batch: EncodedBatch; parts?: { bulk: number; count: number } }
  | { type: 'part'; bulk: number; batch: EncodedBatch }
  | { type: 'discard'; bulk: number }
  | { type: 'close'; id: number; release: boolean };

/** Why a request failed, so the engine's side builds the right `StoreError`. */
export type PgErrorKind = 'unavailable' | 'auth' | 'version' | 'behind' | 'locked' | 'fenced' | 'write' | 'read';

export interface PgWireError {
  message: string;
  /** SQLSTATE, or Node's code (ECONNREFUSED). */
  code: string | null;
  kind: PgErrorKind;
}

export type PgReply = { type: 'done'; id: number; value: unknown } | { type: 'failed'; id: number; error: PgWireError };

/** Sent unasked: the lease could not be renewed because another engine holds it now. */
export interface PgLeaseLost {
  type: 'lease_lost';
  message: string;
}
