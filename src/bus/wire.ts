/**
 * The wire form of the NATS bus: JSON bodies, the reply envelope, the error form and the size limit. Subjects:
 * a command `<component>.<verb>` travels as `<prefix>.cmd.<component>.<verb>` (request/reply), an event as
 * `<prefix>.evt.<event>`.
 */
import { z } from 'zod';
import type { SerializedError } from '../errors.js';
import {
  BusError,
  CodomyrmexError,
  ErrorCode,
  ValidationError,
  serializedErrorSchema,
  serializeError,
} from '../errors.js';
import { rebuildError } from '../rebuildError.js';
import type { BusEvent } from './protocol.js';
import { isEventName } from './schemas.js';

/** Every reply on a command subject: the result, or the error in its one wire form. */
export type ReplyEnvelope = { ok: true; result: unknown } | { ok: false; error: SerializedError };

const replyEnvelopeSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: serializedErrorSchema }),
]);
/**
 * A command's result as the server's handler typed it. Replies have no schema of their own: both ends are
 * codomyrmex on one protocol, and the server's handler map is checked by the compiler against `CommandReply`.
 */
const trusted = z.custom<never>();

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The first token of every subject when no prefix is given: `codomyrmex.cmd.workflow.start`, `codomyrmex.evt.task_completed`. */
export const DEFAULT_SUBJECT_PREFIX = 'codomyrmex';
const PREFIX_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Checks a subject prefix (dot-separated tokens of letters, digits, `_` and `-`, no wildcards). */
export function checkSubjectPrefix(prefix: string): string {
  if (!PREFIX_RE.test(prefix)) {
    throw new ValidationError(
      `subjectPrefix: "${prefix}" is not a NATS subject prefix; use tokens of letters, digits, _ and - separated by dots, e.g. "codomyrmex" or "team-a.codomyrmex"`,
    );
  }
  return prefix;
}

/** JSON bytes of a value, or a `ValidationError` naming what could not be encoded. */
export function encodeJson(value: unknown, what: string): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new ValidationError(
      `${what}: cannot be sent as JSON (${err instanceof Error ? err.message : String(err)}); send plain data (no cycles, BigInt or functions)`,
    );
  }
  return encoder.encode(text ?? 'null');
}

/** Parses JSON bytes; an empty body is `undefined`. Throws a `ValidationError` for malformed JSON. */
export function decodeJson(data: Uint8Array, what: string): unknown {
  if (data.length === 0) return undefined;
  const text = decoder.decode(data);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const excerpt = text.length > 60 ? `${text.slice(0, 60)}...` : text;
    throw new ValidationError(
      `${what}: not valid JSON (${err instanceof Error ? err.message : String(err)}) in ${JSON.stringify(excerpt)}; send a JSON object`,
    );
  }
}

/**
 * Refuses a message bigger than the server takes (`max_payload` from the server's info). The server would close
 * the connection on such a message; this says why instead, on the sending side.
 */
export function checkPayloadSize(bytes: number, maxPayload: number | undefined, what: string): void {
  if (maxPayload !== undefined && bytes > maxPayload) {
    throw new ValidationError(
      `${what}: ${bytes} bytes is over the NATS server's max_payload of ${maxPayload} bytes; send less (e.g. a file path instead of inline data) or raise max_payload on the server`,
    );
  }
}

export function okReply(result: unknown): ReplyEnvelope {
  return { ok: true, result };
}

export function errorReply(err: unknown): ReplyEnvelope {
  return { ok: false, error: serializeError(err) };
}

/**
 * Reads a reply envelope: the result, or the error rebuilt as its class with everything its wire form carries.
 * `T` is what the command replies: the envelope's shape is checked, its result is the server's typed reply.
 */
export function readReply<T>(
  data: Uint8Array,
  subject: string,
): { ok: true; result: T } | { ok: false; error: CodomyrmexError } {
  let body: unknown;
  try {
    body = decodeJson(data, `reply on "${subject}"`);
  } catch (err) {
    return {
      ok: false,
      error: new BusError(err instanceof Error ? err.message : String(err), ErrorCode.BUS_UNAVAILABLE),
    };
  }
  const parsed = replyEnvelopeSchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      error: new CodomyrmexError(
        `reply on "${subject}" is not a codomyrmex reply envelope ({ ok, result | error }); is another service answering on this subject?`,
      ),
    };
  }
  const reply = parsed.data;
  return reply.ok ? { ok: true, result: trusted.parse(reply.result) } : { ok: false, error: rebuildError(reply.error) };
}

/** Reads an event message; null when it is not a codomyrmex event of a known name. */
export function readEvent(data: Uint8Array, name: string): BusEvent | null {
  if (!isEventName(name)) return null;
  let body: unknown;
  try {
    body = decodeJson(data, 'event');
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const e = body as { type?: unknown; data?: unknown; timestamp?: unknown; seq?: unknown };
  if (
    e.type !== name ||
    typeof e.timestamp !== 'number' ||
    typeof e.seq !== 'number' ||
    typeof e.data !== 'object' ||
    e.data === null
  )
    return null;
  return e as BusEvent;
}
