/**
 * JSON for the store. Values reaching the store are meant to be plain JSON (they also cross the network), but a
 * task may return what structured clone allows and JSON does not (a BigInt, a cycle). One odd value must not fail a
 * whole commit, so those are written in a readable form instead: BigInt as a string, a repeated object as
 * `"[Circular]"`.
 */
export function toJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    const seen = new WeakSet<object>();
    return (
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === 'bigint') return v.toString();
        if (typeof v === 'object' && v !== null) {
          if (seen.has(v)) return '[Circular]';
          seen.add(v);
        }
        return v;
      }) ?? 'null'
    );
  }
}
