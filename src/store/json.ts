/**
 * JSON for the store. Values reaching the store are meant to be plain JSON (they also cross the network), and
 * intake refuses what is not (see `checkPayloadLimits`), but a task may return what structured clone allows and
 * JSON does not (a BigInt, a cycle), and a component's record may hold a value whose `toJSON()` throws. One odd
 * value must never fail a whole commit (a commit that fails is retried, so it would fail every later one too), so
 * `toJson` never throws: those values are written in a readable form instead (BigInt as a string, a repeated object
 * as `"[Circular]"`, a throwing `toJSON()` or a function as `"[unencodable: why]"`).
 */
export function toJson(value: unknown, binary = false): string {
  try {
    return (binary ? JSON.stringify(value, binaryReplacer) : JSON.stringify(value)) ?? 'null';
  } catch {
    return JSON.stringify(sanitize(value, new Set())) ?? 'null';
  }
}

/** The key binary data is stored under: `{ "$codomyrmex.bytes": "<base64>" }`, read back as a Buffer. */
export const BYTES_KEY = '$codomyrmex.bytes';

/**
 * Binary data (a Buffer, a typed array, an ArrayBuffer) as base64, not `JSON.stringify`'s one key per byte (10 MB
 * took 7.8 s and 120 MB that way). `this[key]` is the value before its `toJSON` (a Buffer's gives an array).
 */
function binaryReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (ArrayBuffer.isView(raw))
    return { [BYTES_KEY]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  if (raw instanceof ArrayBuffer) return { [BYTES_KEY]: Buffer.from(raw).toString('base64') };
  return value;
}

function bytesReviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const b64 = (value as Record<string, unknown>)[BYTES_KEY];
    if (typeof b64 === 'string' && Object.keys(value).length === 1) return Buffer.from(b64, 'base64');
  }
  return value;
}

/** Parses what {@link toJson} wrote; binary data comes back as Buffers. */
export function fromJson<T = unknown>(text: string): T {
  return (text.includes(BYTES_KEY) ? JSON.parse(text, bytesReviver) : JSON.parse(text)) as T;
}

/** A copy of `value` that `JSON.stringify` cannot throw on. Only walked when plain stringify threw: the rare path. */
function sanitize(value: unknown, ancestors: Set<object>): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  if (ArrayBuffer.isView(value))
    return { [BYTES_KEY]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (ancestors.has(value)) return '[Circular]';
  let v: unknown = value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    try {
      v = (toJSON as () => unknown).call(value);
    } catch (err) {
      return `[unencodable: toJSON() threw ${err instanceof Error ? err.message : String(err)}]`;
    }
    if (typeof v !== 'object' || v === null) return sanitize(v, ancestors);
  }
  ancestors.add(value);
  try {
    if (Array.isArray(v)) return v.map((e: unknown) => sanitize(e, ancestors));
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object)) {
      let e: unknown;
      try {
        e = (v as Record<string, unknown>)[k];
      } catch (err) {
        e = `[unencodable: reading it threw ${err instanceof Error ? err.message : String(err)}]`;
      }
      if (typeof e === 'function' || typeof e === 'symbol' || e === undefined) continue;
      Object.defineProperty(out, k, {
        value: sanitize(e, ancestors),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}
