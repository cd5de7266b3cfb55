/**
 * What an action returned, checked on its worker thread before the reply is sent: a value that cannot be cloned
 * back (a function, a Symbol, a Promise) would kill the thread while Piscina posts it ("worker crashed", retried),
 * so it is reported as the action's error instead; a result past `LIMITS.maxResultBytes` is refused the same way.
 * The size found (an estimate of its stored JSON) bounds the finished results held in memory; `binary` says the
 * result holds bytes (a Buffer, a typed array), which the store encodes as base64 rather than one key per byte.
 */
import { LIMITS } from './limits.js';

export interface ResultReport {
  /** Why the result cannot be sent back or kept, naming where in it (`result.files[2].read`), or null. */
  problem: string | null;
  /** Estimated bytes of the result as stored. */
  bytes: number;
  /** It holds binary data. */
  binary: boolean;
}

/** Walks a result (iteratively: a deep result does not overflow the stack). Cycles are walked once. */
export function inspectResult(value: unknown, maxBytes: number = LIMITS.maxResultBytes): ResultReport {
  let bytes = 0;
  let binary = false;
  const seen = new Set<object>();
  const stack: [unknown, string][] = [[value, 'result']];
  while (stack.length) {
    const [v, where] = stack.pop() as [unknown, string];
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
        return { problem: `${where}: a function cannot be sent back from the worker thread (objects with methods neither); return plain data`, bytes, binary };
      case 'symbol':
        return { problem: `${where}: a Symbol cannot be sent back from the worker thread; return a string`, bytes, binary };
      case 'object': {
        if (v === null) {
          bytes += 4;
          break;
        }
        if (seen.has(v)) break;
        seen.add(v);
        if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) {
          binary = true;
          bytes += Math.ceil((v.byteLength * 4) / 3) + 32;
          break;
        }
        if (v instanceof Promise) return { problem: `${where}: a Promise cannot be sent back from the worker thread; await it and return its value`, bytes, binary };
        if (v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef) return { problem: `${where}: a weak collection cannot be sent back from the worker thread; return plain data`, bytes, binary };
        if (v instanceof Date || v instanceof RegExp) {
          bytes += 32;
          break;
        }
        if (Array.isArray(v)) {
          bytes += 2;
          for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${where}[${i}]`]);
        } else if (v instanceof Map) {
          let i = 0;
          for (const [k, e] of v) {
            stack.push([k, `${where}.<key ${i}>`], [e, `${where}.<value ${i}>`]);
            i++;
          }
        } else if (v instanceof Set) {
          let i = 0;
          for (const e of v) stack.push([e, `${where}.<item ${i++}>`]);
        } else {
          bytes += 2;
          for (const k of Object.keys(v)) {
            bytes += k.length + 3;
            stack.push([(v as Record<string, unknown>)[k], `${where}.${k}`]);
          }
        }
        break;
      }
    }
    if (bytes > maxBytes) {
      return { problem: `result: larger than ${maxBytes} bytes (limit maxResultBytes, estimated as stored); write large outputs to a file and return its path`, bytes, binary };
    }
  }
  return { problem: null, bytes, binary };
}
