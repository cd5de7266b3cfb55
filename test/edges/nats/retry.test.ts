/** The daemon's first connection to NATS, retried with backoff (on a fake clock). */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { retryConnect } from '../../../src/edges/nats/retry.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('retryConnect', () => {
  it('tries again after each failure, waiting twice as long each time up to the most, until a try succeeds', async () => {
    let tries = 0;
    const waits: number[] = [];
    const retry = retryConnect(
      { retryInitialMs: 100, retryMaxMs: 300 },
      () => (++tries < 5 ? Promise.reject(new Error(`down ${tries}`)) : Promise.resolve()),
      (_, retryInMs) => void waits.push(retryInMs),
    );
    await vi.runAllTimersAsync();
    await retry.done;
    expect(tries).toBe(5);
    expect(waits).toEqual([100, 200, 300, 300]);
  });

  it('stops at once when stopped during a wait, without another try', async () => {
    let tries = 0;
    const retry = retryConnect(
      { retryInitialMs: 60_000, retryMaxMs: 60_000 },
      () => {
        tries++;
        return Promise.reject(new Error('down'));
      },
      () => undefined,
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(tries).toBe(1);
    retry.stop();
    await retry.done;
    expect(tries).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
