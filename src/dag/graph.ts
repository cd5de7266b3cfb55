/**
 * Graph utilities shared by tasks and workflows. Nodes are string ids; `deps(id)` lists what a node depends on.
 */

/**
 * Finds a dependency cycle among `nodes` (following only edges to nodes in the set), iteratively so deep graphs
 * cannot overflow the stack. Returns the cycle as a path whose last element repeats the first (`a -> b -> a`), or
 * null.
 */
export function findCycle(nodes: Iterable<string>, deps: (id: string) => readonly string[] | undefined): string[] | null {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Map<string, number>();
  const all = [...nodes];
  for (const n of all) color.set(n, WHITE);
  for (const start of all) {
    if (color.get(start) !== WHITE) continue;
    const stack: { id: string; i: number }[] = [{ id: start, i: 0 }];
    color.set(start, GREY);
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (!top) break;
      const ds = deps(top.id) ?? [];
      if (top.i < ds.length) {
        const next = ds[top.i++];
        if (next === undefined || !color.has(next)) continue;
        const c = color.get(next);
        if (c === GREY) {
          const from = stack.findIndex((f) => f.id === next);
          return [...stack.slice(from).map((f) => f.id), next];
        }
        if (c === WHITE) {
          color.set(next, GREY);
          stack.push({ id: next, i: 0 });
        }
      } else {
        color.set(top.id, BLACK);
        stack.pop();
      }
    }
  }
  return null;
}
