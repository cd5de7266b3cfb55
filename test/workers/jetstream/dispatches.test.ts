/**
 * The JetStream runner's book of dispatches, alone: which attempt is a task's current one, how an ended dispatch is
 * remembered, and how a result from an earlier daemon run is held for its task, then given up on after HELD_MS.
 */
import { describe, expect, it } from 'vitest';
import type { AttemptOwner } from '../../../src/workers/jetstream/attempt.js';
import { JetStreamAttempt } from '../../../src/workers/jetstream/attempt.js';
import { Dispatches, HELD_MS } from '../../../src/workers/jetstream/dispatches.js';
import type { ResultAck } from '../../../src/workers/jetstream/protocol.js';
import type { AttemptRequest } from '../../../src/workers/runner.js';

const owner: AttemptOwner = {
  sendCancel: () => undefined,
  deleteWork: () => Promise.resolve(),
  giveUp: () => undefined,
  leave: () => undefined,
};
const hooks = { progress: () => undefined, log: () => undefined };

function attempt(taskId: string, n: number): JetStreamAttempt {
  const req: AttemptRequest = {
    taskId,
    name: taskId,
    module: 'm',
    action: 'a',
    params: {},
    attempt: n,
    channel: false,
  };
  return new JetStreamAttempt(owner, `run:${taskId}:${n}`, req, hooks);
}

describe('Dispatches', () => {
  it('finds an attempt by dispatch and as its task current one; removing an older attempt leaves the newer current', () => {
    const d = new Dispatches();
    const first = attempt('t1', 1);
    const second = attempt('t1', 2);
    d.add(first);
    d.add(second);
    expect(d.size).toBe(2);
    expect(d.get('run:t1:1')).toBe(first);
    expect(d.current('t1')).toBe(second);
    d.remove(first);
    expect(d.get('run:t1:1')).toBeUndefined();
    expect(d.current('t1')).toBe(second);
    d.remove(second);
    expect(d.current('t1')).toBeUndefined();
    expect(d.size).toBe(0);
  });

  it('remembers how a dispatch ended, and nothing of one that did not', () => {
    const d = new Dispatches();
    d.remember('run:a:1', 'applied');
    d.remember('run:b:1', 'late');
    expect(d.ended('run:a:1')).toBe('applied');
    expect(d.ended('run:b:1')).toBe('late');
    expect(d.ended('run:c:1')).toBeUndefined();
  });

  it('holds a result for its task once, keeps when it was first held, and gives it up after HELD_MS', () => {
    const d = new Dispatches();
    const answers: ResultAck[] = [];
    const held = {
      outcome: { type: 'ok' as const, output: 1 },
      worker: 'w1',
      answer: (ack: ResultAck) => answers.push(ack),
    };
    d.hold('t1', held, 1000);
    d.hold('t1', { ...held, worker: 'w2' }, 5000);
    d.hold('t2', held, 2000);
    expect(d.expireHeld(1000 + HELD_MS - 1)).toEqual([]);
    const expired = d.expireHeld(1000 + HELD_MS);
    expect(expired.map((h) => [h.worker, h.at])).toEqual([['w2', 1000]]);
    expect(d.takeHeld('t1')).toBeUndefined();
    expect(d.takeHeld('t2')?.at).toBe(2000);
    expect(d.takeHeld('t2')).toBeUndefined();
  });
});
