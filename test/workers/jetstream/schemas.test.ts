/**
 * The remote-worker protocol's schemas, on messages built here: what `decodeAs` keeps, drops and refuses. (A real
 * daemon and workers facing hostile publishers: test/remote/hostileMessages.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import { encode, MAX_HOLDING } from '../../../src/workers/jetstream/protocol.js';
import { decodeAs } from '../../../src/workers/jetstream/schemas.js';

const result = (outcome: unknown): Uint8Array => encode({ dispatch: 'run:t1:1', worker: 'w1', taskId: 't1', outcome });

describe('decodeAs', () => {
  it('drops spans from a result: the daemon never exports spans a worker sent', () => {
    const spans = [{ name: 'x', startTime: 'not a time' }];
    const ok = decodeAs('result', result({ type: 'ok', output: { n: 1 }, ms: 2, spans }));
    expect(ok).toEqual({
      dispatch: 'run:t1:1',
      worker: 'w1',
      taskId: 't1',
      outcome: { type: 'ok', output: { n: 1 }, ms: 2 },
    });
    const failed = decodeAs(
      'result',
      result({ type: 'error', error: { name: 'Error', code: 'ACTION_FAILED', message: 'no' }, spans }),
    );
    expect('batch' in failed ? failed : failed.outcome).not.toHaveProperty('spans');
  });

  it('reads the answer to `workers list`, and refuses one of another shape naming the field', () => {
    const worker = {
      id: 'a',
      name: 'w1',
      host: 'h',
      pid: 1,
      tags: [],
      modules: ['shell'],
      threads: 1,
      capacity: 1,
      version: '0.2.0',
      group: 'g',
      running: 0,
      startedAt: 0,
      state: 'live',
      inFlight: 0,
      lastSeenMs: 5,
      tasksCompleted: 3,
      tasksFailed: 0,
    };
    expect(decodeAs('workerList', encode({ workers: [worker] })).workers[0]?.name).toBe('w1');
    // A lost worker's capacity is 0 in the view (a heartbeat must announce at least 1).
    const lost = { ...worker, state: 'lost', capacity: 0 };
    expect(decodeAs('workerList', encode({ workers: [lost] })).workers[0]?.capacity).toBe(0);
    expect(() => decodeAs('workerList', encode({ workers: [{ ...worker, threads: -1 }] }))).toThrow(
      /^workerList\.workers\[0\]\.threads: /,
    );
    expect(() => decodeAs('workerList', encode({ workers: [{ ...worker, state: 'gone' }] }))).toThrow(ValidationError);
    expect(() => decodeAs('workerList', encode({ workers: [{ ...worker, state: 'gone' }] }))).toThrow(
      'workerList.workers[0].state: Invalid enum value',
    );
    expect(() => decodeAs('workerList', new TextEncoder().encode('{'))).toThrow(/workerList: not JSON/);
  });

  it('a heartbeat of protocol 3 must name the results its worker holds; one of an older protocol still parses, so the daemon can say which it speaks', () => {
    const info = {
      protocol: 3,
      id: 'a',
      name: 'w1',
      host: 'h',
      pid: 1,
      tags: [],
      modules: ['shell'],
      threads: 1,
      capacity: 1,
      version: '0.2.0',
      group: 'g',
      running: 0,
      startedAt: 0,
      ackWaitMs: 1000,
    };
    expect(decodeAs('workerInfo', encode({ ...info, holding: ['t1', 't2'] })).holding).toEqual(['t1', 't2']);
    expect(() => decodeAs('workerInfo', encode(info))).toThrow(/^workerInfo\.holding: Required/);
    expect(() => decodeAs('workerInfo', encode({ ...info, holding: [''] }))).toThrow(/^workerInfo\.holding\[0\]/);
    expect(() =>
      decodeAs('workerInfo', encode({ ...info, holding: Array.from({ length: MAX_HOLDING + 1 }, (_, i) => `t${i}`) })),
    ).toThrow(/^workerInfo\.holding: /);
    expect(decodeAs('workerInfo', encode({ ...info, protocol: 2 })).protocol).toBe(2);
    expect(() => decodeAs('workerInfo', encode({ ...info, holding: [], capacity: 0 }))).toThrow(
      /^workerInfo\.capacity: /,
    );
  });
});
