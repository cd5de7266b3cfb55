/**
 * The results workers say they hold, alone: who holds a task's result (a live worker only), which parked attempts a
 * heartbeat frees when it no longer names their task, and what a lost worker leaves to dispatch. (With real
 * processes: test/remote/faults.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { AttemptOwner } from '../../../src/workers/jetstream/attempt.js';
import { JetStreamAttempt } from '../../../src/workers/jetstream/attempt.js';
import { Claims } from '../../../src/workers/jetstream/claims.js';
import type { KnownWorker } from '../../../src/workers/jetstream/directory.js';
import type { AttemptRequest } from '../../../src/workers/runner.js';

const owner: AttemptOwner = {
  sendCancel: () => undefined,
  deleteWork: () => Promise.resolve(),
  giveUp: () => undefined,
  leave: () => undefined,
};
const hooks = { progress: () => undefined, log: () => undefined };

function attempt(taskId: string): JetStreamAttempt {
  const req: AttemptRequest = {
    taskId,
    name: taskId,
    module: 'm',
    action: 'a',
    params: {},
    attempt: 1,
    channel: false,
  };
  return new JetStreamAttempt(owner, `run:${taskId}:1`, req, hooks);
}

const worker = (id: string, state: 'live' | 'lost' = 'live'): KnownWorker => ({
  info: { id, name: id } as KnownWorker['info'],
  lastSeen: 0,
  state,
  inFlight: new Set(),
});

describe('Claims', () => {
  it('names the live worker that holds a task result; a lost one, or one whose next heartbeat leaves the task out, holds nothing', () => {
    const c = new Claims();
    const workers = new Map([
      ['a', worker('a')],
      ['b', worker('b', 'lost')],
    ]);
    c.heard('a', ['t1', 't2']);
    c.heard('b', ['t3']);
    expect(c.liveHolder('t1', workers)?.info.id).toBe('a');
    expect(c.liveHolder('t3', workers)).toBeUndefined();
    c.heard('a', ['t2']);
    expect(c.liveHolder('t1', workers)).toBeUndefined();
    expect(c.liveHolder('t2', workers)?.info.id).toBe('a');
    expect(c.liveHolder('t9', workers)).toBeUndefined();
  });

  it('a parked attempt is freed when its holder stops naming its task, or is lost; an unparked one is not returned', () => {
    const c = new Claims();
    const [one, two, three] = [attempt('t1'), attempt('t2'), attempt('t3')];
    c.heard('a', ['t1', 't2', 't3']);
    c.park('a', one);
    c.park('a', two);
    c.park('a', three);
    expect(one.parkedOn).toBe('a');
    expect(c.heard('a', ['t2', 't3'])).toEqual([one]);
    expect(one.parkedOn).toBeNull();
    c.unpark(three);
    expect(c.drop('a')).toEqual([two]);
    expect(two.parkedOn).toBeNull();
    expect(c.drop('a')).toEqual([]);
  });
});
