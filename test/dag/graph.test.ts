import { describe, expect, it } from 'vitest';
import { findCycle } from '../../src/dag/graph.js';

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
