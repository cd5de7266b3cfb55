import { describe, expect, it } from 'vitest';
import {
  criticalPath,
  findCycle,
  toMermaid,
  topologicalLevels,
  topologicalOrder,
  transitiveDependencies,
  transitiveDependents,
} from '../../src/dag/graph.js';

describe('findCycle', () => {
  const graph = (edges: Record<string, string[]>) => (id: string) => edges[id];

  it('names a two-node cycle', () => {
    expect(findCycle(['a', 'b'], graph({ a: ['b'], b: ['a'] }))).toEqual(['a', 'b', 'a']);
  });

  it('finds a cycle behind an acyclic prefix and returns only the cycle', () => {
    const c = findCycle(['s', 'x', 'y', 'z'], graph({ s: ['x'], x: ['y'], y: ['z'], z: ['x'] }));
    expect(c).toEqual(['x', 'y', 'z', 'x']);
  });

  it('returns null for a DAG, and survives a 100k-long chain', () => {
    expect(findCycle(['a', 'b', 'c'], graph({ a: [], b: ['a'], c: ['a', 'b'] }))).toBeNull();
    const n = 100_000;
    const ids = Array.from({ length: n }, (_, i) => `t${i}`);
    expect(findCycle(ids, (id) => (id === 't0' ? [] : [`t${Number(id.slice(1)) - 1}`]))).toBeNull();
  });
});

describe('DAG utilities', () => {
  const edges: Record<string, string[]> = { a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: ['d'], f: [] };
  const dag = { nodes: Object.keys(edges), deps: (id: string) => edges[id] ?? [] };

  it('orders by levels, keeping definition order within a level', () => {
    expect(topologicalLevels(dag)).toEqual([['a', 'f'], ['b', 'c'], ['d'], ['e']]);
    expect(topologicalOrder(dag)).toEqual(['a', 'f', 'b', 'c', 'd', 'e']);
    expect(() => topologicalLevels({ nodes: ['x', 'y'], deps: (id) => (id === 'x' ? ['y'] : ['x']) })).toThrow(/cycle/);
  });

  it('finds transitive dependencies and dependents', () => {
    expect([...transitiveDependencies(dag, 'e')].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect([...transitiveDependents(dag, 'b')].sort()).toEqual(['d', 'e']);
    expect(transitiveDependents(dag, 'f').size).toBe(0);
  });

  it('finds the critical path by weight', () => {
    expect(criticalPath(dag)).toEqual({ path: ['a', 'b', 'd', 'e'], length: 4 });
    const w: Record<string, number> = { a: 1, b: 1, c: 10, d: 1, e: 1, f: 20 };
    expect(criticalPath(dag, (id) => w[id] ?? 0)).toEqual({ path: ['f'], length: 20 });
  });

  it('renders Mermaid graph TD with labels and quoted names', () => {
    const out = toMermaid({ nodes: ['load "x"', 'b'], deps: (id) => (id === 'b' ? ['load "x"'] : []) }, (id) =>
      id === 'b' ? 'core.noop' : undefined,
    );
    expect(out).toBe(['graph TD', '  n0["load #quot;x#quot;"]', '  n1["b<br/>core.noop"]', '  n0 --> n1'].join('\n'));
  });
});
