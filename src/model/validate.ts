import type { ZodError, ZodIssue } from 'zod';

/** Turns zod issues into messages that name the field: `task.timeout: must be a positive number of seconds`. */
export function formatZodIssues(error: ZodError, where: string): string[] {
  return error.issues.flatMap(explainUnion).map((issue) => {
    const path = issue.path.length
      ? `${where}.${issue.path
          .map((p) => (typeof p === 'number' ? `[${p}]` : p))
          .join('.')
          .replace(/\.\[/g, '[')}`
      : where;
    let msg = issue.message;
    if (issue.code === 'unrecognized_keys')
      msg = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove or rename them`;
    return `${path}: ${msg}`;
  });
}

/**
 * An `invalid_union` issue says only "Invalid input": when exactly one branch of the union fits the value's shape
 * (the others failed on its type alone, e.g. an object given where a number or an array was also allowed), that
 * branch's issues say what is wrong, so they stand in for it.
 */
function explainUnion(issue: ZodIssue): ZodIssue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const fitting = issue.unionErrors
    .map((e) => e.issues)
    .filter((branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === issue.path.length));
  const only = fitting.length === 1 ? fitting[0] : undefined;
  return only && only.length > 0 ? only.flatMap(explainUnion) : [issue];
}

/** Limits on parameter objects: they cross threads and the network, so bound them. */
export const PAYLOAD_LIMITS = { maxDepth: 32, maxNodes: 100_000, maxStringLength: 10_000_000 } as const;

/**
 * Walks a value and returns an error message naming the limit it breaks, or null. A key named `__proto__` is
 * refused too: copies made key by key (zod's, most code's) drop it or make it a prototype. So is what cannot be
 * both stored as JSON and structured-cloned to a worker (see {@link unencodable}): a function, a Symbol, a BigInt,
 * a cycle, a `toJSON()` that throws, a Promise or a WeakMap. Binary data counts one value per byte (pass a file
 * path for large inputs).
 */
export function checkPayloadLimits(value: unknown, where: string): string | null {
  let nodes = 0;
  const path: (string | number)[] = [];
  const ancestors = new Set<object>();
  const at = (): string => where + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
  const walk = (v: unknown, depth: number): string | null => {
    if (++nodes > PAYLOAD_LIMITS.maxNodes)
      return `${where}: more than ${PAYLOAD_LIMITS.maxNodes} values (limit maxNodes); pass a file path instead of inline data`;
    if (typeof v === 'string') {
      return v.length > PAYLOAD_LIMITS.maxStringLength
        ? `${at()}: a string longer than ${PAYLOAD_LIMITS.maxStringLength} characters (limit maxStringLength)`
        : null;
    }
    const odd = unencodable(v);
    if (odd) return `${at()}: ${odd}`;
    if (typeof v !== 'object' || v === null) return null;
    if (ancestors.has(v))
      return `${at()}: refers back to an object that contains it (a cycle), which JSON cannot store; pass a tree of plain data`;
    if (depth >= PAYLOAD_LIMITS.maxDepth)
      return `${where}: nested deeper than ${PAYLOAD_LIMITS.maxDepth} levels (limit maxDepth)`;
    let target: unknown = v;
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function' && !(v instanceof Date)) {
      try {
        target = (toJSON as () => unknown).call(v);
      } catch (err) {
        return `${at()}: its toJSON() threw (${err instanceof Error ? err.message : String(err)}), so it cannot be stored; pass plain data`;
      }
      if (target !== v) {
        ancestors.add(v);
        const e = walk(target, depth + 1);
        ancestors.delete(v);
        if (e) return e;
      }
    }
    ancestors.add(v);
    try {
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          path.push(i);
          const e = walk(v[i], depth + 1);
          path.pop();
          if (e) return e;
        }
        return null;
      }
      for (const k in v) {
        if (k === '__proto__')
          return `${at()}: a key named "__proto__" is refused (it would be dropped or become a prototype); rename it`;
        path.push(k);
        let item: unknown;
        try {
          item = (v as Record<string, unknown>)[k];
        } catch (err) {
          return `${at()}: reading it threw (${err instanceof Error ? err.message : String(err)}), so it cannot be stored; pass plain data`;
        }
        const e = walk(item, depth + 1);
        path.pop();
        if (e) return e;
      }
      return null;
    } catch (err) {
      // A Proxy's traps (ownKeys, has) or an array's getters may throw too.
      return `${at()}: reading it threw (${err instanceof Error ? err.message : String(err)}), so it cannot be stored; pass plain data`;
    } finally {
      ancestors.delete(v);
    }
  };
  return walk(value, 0);
}

/**
 * Where a value parsed from outside (JSON from NATS, HTTP or MCP) has an own key named `__proto__`, as a message
 * naming it, or null. Schemas copy objects key by key and drop such a key silently (it would be stored as `{}`), so
 * the raw value is checked first and refused, as in-process input is. Iterative: a deep value cannot overflow.
 */
export function findProtoKey(value: unknown, where: string): string | null {
  // Each entry links to its parent: the path is spelled out only for a hit.
  interface Step {
    v: unknown;
    parent: Step | null;
    key: string | number;
  }
  const stack: Step[] = [{ v: value, parent: null, key: '' }];
  while (stack.length) {
    const step = stack.pop() as Step;
    const v = step.v;
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], parent: step, key: i });
      continue;
    }
    for (const k of Object.keys(v)) {
      if (k === '__proto__') {
        let path = '';
        for (let s: Step | null = step; s?.parent; s = s.parent)
          path = (typeof s.key === 'number' ? `[${s.key}]` : `.${s.key}`) + path;
        return `${where}${path}.__proto__: a key named "__proto__" is refused (it would be dropped or become a prototype); rename it`;
      }
      stack.push({ v: (v as Record<string, unknown>)[k], parent: step, key: k });
    }
  }
  return null;
}

/**
 * Why one value (not its contents) cannot be stored as JSON or structured-cloned to a worker thread, or null.
 * Functions (and so objects with methods as own properties), Symbols and BigInts, Promises and weak collections.
 */
export function unencodable(v: unknown): string | null {
  switch (typeof v) {
    case 'function':
      return 'a function cannot be stored or sent to a worker thread (objects with methods neither); pass plain data';
    case 'symbol':
      return 'a Symbol cannot be stored or sent to a worker thread; pass a string';
    case 'bigint':
      return 'a BigInt cannot be stored as JSON; pass it as a string (or a number when it fits)';
    case 'object':
      if (v instanceof Promise)
        return 'a Promise cannot be stored or sent to a worker thread; await it and pass its value';
      if (v instanceof WeakMap || v instanceof WeakSet || (typeof WeakRef !== 'undefined' && v instanceof WeakRef))
        return 'a weak collection cannot be stored or sent to a worker thread; pass plain data';
      return null;
    default:
      return null;
  }
}

/** Closest candidate by edit distance, for "did you mean" hints. */
export function didYouMean(input: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(input, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(input.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}
