import { describe, expect, it } from 'vitest';
import { FireWheel } from '../../../src/actors/schedules/wheel.js';

describe('FireWheel', () => {
  it('takes what is due, earliest first, and only that; next() names the earliest time still armed', () => {
    const w = new FireWheel<string>();
    w.add(30, 'c');
    w.add(10, 'a');
    w.add(20, 'b1');
    w.add(20, 'b2');
    w.add(40, 'd');
    w.remove(40, 'd');
    expect(w.next()).toBe(10);
    expect(w.takeDue(25)).toEqual(['a', 'b1', 'b2']);
    expect(w.next()).toBe(30);
    expect(w.takeDue(1000)).toEqual(['c']);
    expect(w.next()).toBeUndefined();
  });

  it('agrees with a plain map under random adds, removes and takes (times re-armed, removed and reached)', () => {
    let seed = 7;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const w = new FireWheel<number>();
    const model = new Map<number, number>(); // item -> its time
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      const op = rand(10);
      const item = rand(300);
      if (op < 5) {
        const old = model.get(item);
        if (old !== undefined) w.remove(old, item);
        const at = now + rand(1000);
        w.add(at, item);
        model.set(item, at);
      } else if (op < 8) {
        const old = model.get(item);
        if (old !== undefined) {
          w.remove(old, item);
          model.delete(item);
        }
      } else {
        now += rand(50);
        const due = [...model].filter(([, at]) => at <= now);
        due.sort((x, y) => x[1] - y[1]);
        const taken = w.takeDue(now);
        expect(new Set(taken)).toEqual(new Set(due.map(([i]) => i)));
        expect(taken.map((i) => model.get(i))).toEqual(due.map(([, at]) => at));
        for (const [i] of due) model.delete(i);
      }
      const earliest = Math.min(...model.values());
      expect(w.next()).toBe(model.size ? earliest : undefined);
    }
  });
});
