/**
 * Graph utilities shared by tasks and workflows. Nodes are string ids; `deps(id)` lists what a node depends on.
 */

/**
 * Finds a dependency cycle among `nodes` (following only edges to nodes in the set), iteratively so deep graphs
 * cannot overflow the stack. Returns the cycle as a path whose last element repeats the first (`a -> b -> a`), or
 * null.
 */
export function findCycle(
  nodes: Iterable<string>,
  deps: (id: string) => readonly string[] | undefined,
): string[] | null {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Map<string, number>();
  const all = [...nodes];
  for (const n of all) color.set(n, WHITE);
  for (const start of all) {
    if (color.get(start) !== WHITE) continue;
    // Each frame keeps its node's dependency list: asking `deps` once per node keeps this linear in the edges.
    const stack: { id: string; i: number; ds: readonly string[] }[] = [{ id: start, i: 0, ds: deps(start) ?? [] }];
    color.set(start, GREY);
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (!top) break;
      const ds = top.ds;
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
          stack.push({ id: next, i: 0, ds: deps(next) ?? [] });
        }
      } else {
        color.set(top.id, BLACK);
        stack.pop();
      }
    }
  }
  return null;
}

/** A DAG given as node ids in definition order and each node's dependencies. */
export interface Dag {
  nodes: readonly string[];
  /** The ids a node depends on. */
  deps: (id: string) => readonly string[];
}

/**
 * Kahn's algorithm by levels: level 0 has no dependencies, level n depends only on levels below it. Within a
 * level, nodes keep definition order. Throws if the graph has a cycle (check with {@link findCycle} first).
 */
export function topologicalLevels(dag: Dag): string[][] {
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const n of dag.nodes) indegree.set(n, 0);
  for (const n of dag.nodes) {
    for (const d of dag.deps(n)) {
      if (!indegree.has(d)) continue;
      indegree.set(n, (indegree.get(n) ?? 0) + 1);
      let list = dependents.get(d);
      if (!list) dependents.set(d, (list = []));
      list.push(n);
    }
  }
  const order = new Map(dag.nodes.map((n, i) => [n, i]));
  let level = dag.nodes.filter((n) => indegree.get(n) === 0);
  const levels: string[][] = [];
  let seen = 0;
  while (level.length) {
    levels.push(level);
    seen += level.length;
    const next: string[] = [];
    for (const n of level) {
      for (const m of dependents.get(n) ?? []) {
        const left = (indegree.get(m) ?? 0) - 1;
        indegree.set(m, left);
        if (left === 0) next.push(m);
      }
    }
    next.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    level = next;
  }
  if (seen !== dag.nodes.length) throw new Error('topologicalLevels: the graph has a cycle');
  return levels;
}

/** Topological order: levels flattened. */
export function topologicalOrder(dag: Dag): string[] {
  return topologicalLevels(dag).flat();
}

/** Every node `id` depends on, directly or not. */
export function transitiveDependencies(dag: Dag, id: string): Set<string> {
  const out = new Set<string>();
  const stack = [...dag.deps(id)];
  while (stack.length) {
    const n = stack.pop();
    if (n === undefined || out.has(n)) continue;
    out.add(n);
    stack.push(...dag.deps(n));
  }
  return out;
}

/** Every node that depends on `id`, directly or not. */
export function transitiveDependents(dag: Dag, id: string): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const n of dag.nodes) {
    for (const d of dag.deps(n)) {
      let list = dependents.get(d);
      if (!list) dependents.set(d, (list = []));
      list.push(n);
    }
  }
  const out = new Set<string>();
  const stack = [...(dependents.get(id) ?? [])];
  while (stack.length) {
    const n = stack.pop();
    if (n === undefined || out.has(n)) continue;
    out.add(n);
    stack.push(...(dependents.get(n) ?? []));
  }
  return out;
}

/**
 * The longest path through the DAG by node weight (e.g. expected duration; 1 each by default): the chain of steps
 * that bounds the run's time however many run in parallel.
 */
export function criticalPath(dag: Dag, weight: (id: string) => number = () => 1): { path: string[]; length: number } {
  const best = new Map<string, { length: number; prev: string | null }>();
  for (const n of topologicalOrder(dag)) {
    let top: { length: number; prev: string | null } = { length: 0, prev: null };
    for (const d of dag.deps(n)) {
      const b = best.get(d);
      if (b && b.length > top.length) top = { length: b.length, prev: d };
    }
    best.set(n, { length: top.length + weight(n), prev: top.prev });
  }
  let end: string | null = null;
  let length = 0;
  for (const [n, b] of best) {
    if (b.length > length) {
      length = b.length;
      end = n;
    }
  }
  const path: string[] = [];
  for (let n = end; n !== null; n = best.get(n)?.prev ?? null) path.unshift(n);
  return { path, length };
}

/** A Mermaid `graph TD` of the DAG; `label` adds text under each node id (e.g. its module.action or status). */
export function toMermaid(dag: Dag, label: (id: string) => string | undefined = () => undefined): string {
  const key = new Map(dag.nodes.map((n, i) => [n, `n${i}`]));
  const esc = (s: string): string => s.replace(/"/g, '#quot;');
  const lines = ['graph TD'];
  for (const n of dag.nodes) {
    const text = label(n);
    lines.push(`  ${key.get(n)}["${esc(n)}${text ? `<br/>${esc(text)}` : ''}"]`);
  }
  for (const n of dag.nodes)
    for (const d of dag.deps(n)) if (key.has(d)) lines.push(`  ${key.get(d)} --> ${key.get(n)}`);
  return lines.join('\n');
}
