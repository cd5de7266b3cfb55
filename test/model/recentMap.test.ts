import { describe, expect, it } from 'vitest';
import { RecentMap } from '../../src/traces/recent.js';

describe('RecentMap', () => {
  it('remembers at least the last `limit` keys set and forgets older ones, the newest value winning', () => {
    const m = new RecentMap<string, number>(100);
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i);
    for (let i = 900; i < 1000; i++) expect(m.get(`k${i}`)).toBe(i);
    // Never more than twice the limit.
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
});
