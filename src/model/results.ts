/**
 * What an action returned, checked on its worker thread before the reply is sent: a value that cannot be cloned
 * back (a function, a Symbol, a Promise) would kill the thread while Piscina posts it ("worker crashed", retried),
 * so it is reported as the action's error instead; a result past `LIMITS.maxResultBytes` is refused the same way.
 * The size found (an estimate of its stored JSON) bounds the finished results held in memory; `binary` says the
 * result holds bytes (a Buffer, a typed array), which the store encodes as base64 rather than one key per byte.
 * A result's `written` list (the files its action declares it wrote) is checked here too, and read back by
 * {@link declaredWritten}.
 */
import { types } from 'node:util';
import { LIMITS } from './limits.js';

export interface ResultReport {
  /** Why the result cannot be sent back or kept, naming where in it (`result.files[2].read`), or null. */
  problem: string | null;
  /** Estimated bytes of the result as stored. */
  bytes: number;
  /** It holds binary data. */
  binary: boolean;
}

/**
 * Walks a result (iteratively: a deep result does not overflow the stack). Cycles are walked once. A result nested
 * deeper than `LIMITS.maxResultDepth` is refused (Node drops a message it cannot deserialize, silently, so the
 * reply would never arrive), and so is a Proxy or a value whose reading throws (a getter): structured clone cannot
 * send them either.
 */
export function inspectResult(value: unknown, maxBytes: number = LIMITS.maxResultBytes): ResultReport {
  let bytes = 0;
  let binary = false;
  const seen = new Set<object>();
  const stack: [unknown, string, number][] = [[value, 'result', 0]];
  const tooLarge = `result: larger than ${maxBytes} bytes (limit maxResultBytes, estimated as stored); write large outputs to a file and return its path`;
  let at = 'result';
  try {
    while (stack.length) {
      const [v, where, depth] = stack.pop() as [unknown, string, number];
      at = where;
      const problem = visit(v, where, depth);
      if (problem) return { problem, bytes, binary };
      if (bytes > maxBytes) return { problem: tooLarge, bytes, binary };
    }
    at = 'result.written';
    const problem = writtenProblem(value);
    if (problem) return { problem, bytes, binary };
  } catch (err) {
    return {
      problem: `${at}: reading it threw (${err instanceof Error ? err.message : String(err)}); return plain data`,
      bytes,
      binary,
    };
  }
  return { problem: null, bytes, binary };

  function visit(v: unknown, where: string, depth: number): string | null {
    switch (typeof v) {
      case 'string':
        bytes += v.length + 2;
        break;
      case 'number':
      case 'bigint':
      case 'boolean':
      case 'undefined':
        bytes += 8;
        break;
      case 'function':
        return `${where}: a function cannot be sent back from the worker thread (objects with methods neither); return plain data`;
      case 'symbol':
        return `${where}: a Symbol cannot be sent back from the worker thread; return a string`;
      case 'object': {
        if (v === null) {
          bytes += 4;
          break;
        }
        if (seen.has(v)) break;
        seen.add(v);
        if (types.isProxy(v)) return `${where}: a Proxy cannot be sent back from the worker thread; return plain data`;
        if (depth >= LIMITS.maxResultDepth)
          return `result: nested deeper than ${LIMITS.maxResultDepth} levels (limit maxResultDepth); return flatter data`;
        if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) {
          binary = true;
          bytes += Math.ceil((v.byteLength * 4) / 3) + 32;
          break;
        }
        if (v instanceof Promise)
          return `${where}: a Promise cannot be sent back from the worker thread; await it and return its value`;
        if (v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef)
          return `${where}: a weak collection cannot be sent back from the worker thread; return plain data`;
        if (v instanceof Date || v instanceof RegExp) {
          bytes += 32;
          break;
        }
        if (Array.isArray(v)) {
          bytes += 2;
          // Every item takes at least 2 bytes: a (sparse) array too long to fit is refused before its items are walked.
          if (bytes + 2 * v.length > maxBytes) return tooLarge;
          for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${where}[${i}]`, depth + 1]);
        } else if (v instanceof Map) {
          let i = 0;
          for (const [k, e] of v) {
            stack.push([k, `${where}.<key ${i}>`, depth + 1], [e, `${where}.<value ${i}>`, depth + 1]);
            i++;
          }
        } else if (v instanceof Set) {
          let i = 0;
          for (const e of v) stack.push([e, `${where}.<item ${i++}>`, depth + 1]);
        } else {
          bytes += 2;
          for (const k of Object.keys(v)) {
            bytes += k.length + 3;
            stack.push([(v as Record<string, unknown>)[k], `${where}.${k}`, depth + 1]);
          }
        }
        break;
      }
    }
    return null;
  }
}

/**
 * The key of a result that declares the files its action wrote: `{ ..., written: ['reports/a.md'] }`. The CLI's
 * "reports and files written" and the MCP run summary's `files` list these declarations and nothing else.
 */
export const WRITTEN_KEY = 'written';

/** A character a declared path may not hold: control characters (a newline, an escape sequence for a terminal). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A declared path: a non-empty string of at most `LIMITS.maxWrittenPathLength` characters, no control characters. */
const isWrittenPath = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= LIMITS.maxWrittenPathLength && !CONTROL.test(v);

/** `written` of a plain-object result (the action declared something), else undefined. */
function writtenOf(result: unknown): unknown {
  if (typeof result !== 'object' || result === null || Array.isArray(result) || !Object.hasOwn(result, WRITTEN_KEY))
    return undefined;
  return (result as Record<string, unknown>)[WRITTEN_KEY];
}

/**
 * What is wrong with a result's `written` declaration, naming the field, or null (no declaration, or a good one):
 * an array of at most `LIMITS.maxWrittenFiles` paths, each a non-empty string of at most
 * `LIMITS.maxWrittenPathLength` characters without control characters. Checked on the worker thread, so a bad
 * declaration fails the attempt (non-retryable) with this message.
 */
export function writtenProblem(result: unknown): string | null {
  const written = writtenOf(result);
  if (written === undefined) return null;
  const rename = 'the files the action wrote, an array of paths; rename the field if it means something else';
  if (!Array.isArray(written))
    return `result.written: must list ${rename} (got ${written === null ? 'null' : typeof written})`;
  if (written.length > LIMITS.maxWrittenFiles)
    return `result.written: ${written.length} paths, over maxWrittenFiles ${LIMITS.maxWrittenFiles}; declare the folder they were written to instead`;
  for (let i = 0; i < written.length; i++) {
    const v: unknown = written[i];
    if (!isWrittenPath(v))
      return `result.written[${i}]: must be a path (a non-empty string of at most ${LIMITS.maxWrittenPathLength} characters, no control characters; got ${typeof v === 'string' ? `a string of ${v.length}` : v === null ? 'null' : typeof v}); written lists ${rename}`;
  }
  return null;
}

/**
 * The paths a result declares its action wrote (its `written` list), as the action named them. Never throws: a
 * result without a good declaration (an older one, one from a worker of another version) declares nothing beyond
 * its first `LIMITS.maxWrittenFiles` valid paths.
 */
export function declaredWritten(result: unknown): string[] {
  const written = writtenOf(result);
  if (!Array.isArray(written)) return [];
  const out: string[] = [];
  const n = Math.min(written.length, LIMITS.maxWrittenFiles);
  for (let i = 0; i < n; i++) {
    const v: unknown = written[i];
    if (isWrittenPath(v)) out.push(v);
  }
  return out;
}
