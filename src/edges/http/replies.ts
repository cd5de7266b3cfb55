/**
 * The HTTP edge's JSON answers: an envelope (`{ ok, result }` or `{ ok: false, error }`) with the HTTP status of its
 * error code, a request body read up to its size limit, and a wait for a response to drain.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReplyEnvelope } from '../../bus/wire.js';
import { ErrorCode, ValidationError } from '../../errors.js';

/** HTTP status of an error reply, by code. */
export function statusOf(code: string): number {
  switch (code) {
    case ErrorCode.VALIDATION:
    case ErrorCode.CYCLE:
      return 400;
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.RESOURCE_UNAVAILABLE:
      return 409;
    case ErrorCode.SHUTTING_DOWN:
    case ErrorCode.BUS_UNAVAILABLE:
    case ErrorCode.STORE_WRITE_FAILED:
      return 503;
    case ErrorCode.BUS_TIMEOUT:
      return 504;
    default:
      return 500;
  }
}

/** A request body past the limit: bad input (`VALIDATION`, not retryable as it is). */
export class PayloadTooLargeError extends ValidationError {
  override readonly name = 'PayloadTooLargeError';
  constructor(limit: number) {
    super(
      `request body over ${limit} bytes; send less (a file path instead of inline data), or raise the limit (http.maxBodyBytes)`,
    );
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, head = false): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : text);
}

export function sendEnvelope(res: ServerResponse, envelope: ReplyEnvelope, head = false): void {
  sendJson(
    res,
    envelope.ok ? 200 : envelope.error.name === 'PayloadTooLargeError' ? 413 : statusOf(envelope.error.code),
    envelope,
    head,
  );
}

/** Reads a body of at most `limit` bytes; rejects with {@link PayloadTooLargeError} past it (without reading on). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new PayloadTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/**
 * Resolves once `out` drains or closes, and leaves no listener on it: a download that meets backpressure on every
 * chunk waits here once per chunk.
 */
export function drainedOrClosed(out: Pick<NodeJS.EventEmitter, 'on' | 'off'>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
