import { describe, expect, it } from 'vitest';
import { ReadyQueue } from '../../src/actors/tasks/queue.js';
import type { TaskPriority } from '../../src/model/task.js';

interface Entry {
  name: string;
  priority: TaskPriority;
  readyAt: number;
  live: boolean;
}
const e = (name: string, priority: TaskPriority, readyAt = 0): Entry => ({ name, priority, readyAt, live: true });

function drain(q: ReadyQueue<Entry>, now: number): string[] {
  const out: string[] = [];
  for (let x = q.pop(now); x; x = q.pop(now)) out.push(x.name);
  return out;
}

describe('ReadyQueue', () => {
  it('listing its entries and stopping early (as explainTask does) leaves every entry queued', () => {
    const q = new ReadyQueue<Entry>(0);
    for (const x of [e('a', 'normal'), e('b', 'normal'), e('c', 'normal'), e('d', 'normal')]) q.push(x);
    for (const x of q.entries()) if (x.name === 'b') break;
    expect(q.size).toBe(4);
    expect(drain(q, 0)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('serves by priority, FIFO within a priority', () => {
    const q = new ReadyQueue<Entry>(0);
    for (const x of [
      e('n1', 'normal'),
      e('l1', 'low'),
      e('c1', 'critical'),
      e('n2', 'normal'),
      e('b1', 'background'),
      e('h1', 'high'),
      e('c2', 'critical'),
    ])
      q.push(x);
    expect(q.size).toBe(7);
    expect(drain(q, 0)).toEqual(['c1', 'c2', 'h1', 'n1', 'n2', 'l1', 'b1']);
    expect(q.size).toBe(0);
  });

  it('ages a waiting low-priority entry past fresh high-priority ones', () => {
    const q = new ReadyQueue<Entry>(1000);
    q.push(e('old-background', 'background', 0));
    q.push(e('fresh-high', 'high', 5000));
    // At t=5000 the background entry has climbed 5 levels: rank -1 beats high's 1.
    expect(q.pop(5000)?.name).toBe('old-background');
    expect(q.pop(5000)?.name).toBe('fresh-high');
  });

  it('without aging a low entry waits behind every higher one', () => {
    const q = new ReadyQueue<Entry>(0);
    q.push(e('old-low', 'low', 0));
    q.push(e('new-normal', 'normal', 1_000_000));
    expect(q.pop(2_000_000)?.name).toBe('new-normal');
  });

  it('skips entries that left the queue and keeps counts right', () => {
    const q = new ReadyQueue<Entry>(0);
    const a = e('a', 'normal');
    q.push(a);
    q.push(e('b', 'normal'));
    a.live = false;
    q.forget(a);
    expect(q.size).toBe(1);
    expect(q.countByPriority().normal).toBe(1);
    expect(drain(q, 0)).toEqual(['b']);
  });
});
