import { describe, expect, it } from 'vitest';
import { RecentMap } from '../../src/model/recentMap.js';

describe('RecentMap', () => {
  it('remembers at least the last `limit` keys set and forgets older ones, the newest value winning', () => {
    const m = new RecentMap<string, number>(100);
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i);
    for (let i = 900; i < 1000; i++) expect(m.get(`k${i}`)).toBe(i);
    // Never more than a quarter over the limit.
    expect(m.get('k874')).toBeUndefined();
    expect(m.get('k799')).toBeUndefined();
    expect(m.get('k0')).toBeUndefined();
    m.set('k950', -1);
    expect(m.get('k950')).toBe(-1);
    m.delete('k950');
    m.delete('k999');
    expect(m.get('k950')).toBeUndefined();
    expect(m.get('k999')).toBeUndefined();
    expect(m.get('k998')).toBe(998);
  });

  it('lists each key once (the newest value), keeps a key set again on each use, and remembers nothing at limit 0', () => {
    const m = new RecentMap<string, number>(3);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3); // a, b, c roll over to the older generation
    m.set('a', 10); // a again: recent again
    expect([...m.entries()]).toEqual([
      ['b', 2],
      ['c', 3],
      ['a', 10],
    ]);
    expect([...m.values()]).toEqual([2, 3, 10]);
    m.set('d', 4);
    m.set('e', 5); // a, d, e roll over; b and c are forgotten
    expect(m.has('a')).toBe(true);
    expect(m.has('b')).toBe(false);
    expect(m.get('c')).toBeUndefined();
    const none = new RecentMap<string, number>(0);
    none.set('a', 1);
    expect(none.has('a')).toBe(false);
    expect([...none.entries()]).toEqual([]);
  });
});
