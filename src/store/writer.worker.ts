/**
 * The writer thread of a SQLite store: owns one connection to the database and writes each batch it is sent in
 * one transaction (commit, fsync and WAL checkpoints happen here, off the engine's thread), answering in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ReceivedParts } from './parts.js';
import { BatchWriter } from './sqliteWrites.js';
import type { WriterInit, WriterReply, WriterRequest } from './writerProtocol.js';

const init = workerData as WriterInit;
const port = parentPort;
let writer: BatchWriter | null = null;
let db: Database.Database | null = null;
let openError: unknown = null;
/** The parts of a large batch received so far (see `WriterRequest`). */
const received = new ReceivedParts();

try {
  db = new Database(init.path, { fileMustExist: true });
  db.pragma(`busy_timeout = ${init.busyTimeoutMs}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${init.durability === 'relaxed' ? 'NORMAL' : 'FULL'}`);
  db.pragma(`wal_autocheckpoint = ${init.walAutocheckpointPages}`);
  writer = new BatchWriter(db, init.journal, init.recordKinds, init.retention);
} catch (err) {
  openError = err;
}

function failure(id: number, err: unknown): WriterReply {
  const code = (err as { code?: unknown }).code;
  return {
    type: 'failed',
    id,
    error: { message: err instanceof Error ? err.message : String(err), code: typeof code === 'string' ? code : null },
  };
}

port?.on('message', (req: WriterRequest) => {
  if (received.take(req)) return;
  if (req.type === 'close') {
    db?.close();
    db = null;
    writer = null;
    port.postMessage({ type: 'done', id: req.id } satisfies WriterReply);
    return;
  }
  if (!writer) {
    port.postMessage(failure(req.id, openError ?? new Error('the writer thread is closed')));
    return;
  }
  if (req.type === 'ready') {
    port.postMessage({ type: 'done', id: req.id } satisfies WriterReply);
    return;
  }
  try {
    if (req.parts)
      writer.writeAll(
        received.finish(
          req.parts,
          req.batch,
          (have, count) =>
            new Error(
              `the writer thread has ${have} of the ${count} parts of this commit (it was restarted meanwhile); nothing was written`,
            ),
        ),
      );
    else writer.write(req.batch);
    port.postMessage({ type: 'done', id: req.id } satisfies WriterReply);
  } catch (err) {
    port.postMessage(failure(req.id, err));
  }
});
