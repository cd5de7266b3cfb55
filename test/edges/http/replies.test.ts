/**
 * The HTTP edge's replies: waiting for a response to drain leaves no listener behind, however many chunks meet
 * backpressure (a large artifact download to a slow client waits once per chunk).
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { drainedOrClosed } from '../../../src/edges/http/replies.js';

/** A stream that takes one byte at a time and finishes a write only when told. */
function slowStream(): { out: Writable; finishWrite: () => void } {
  const pending: (() => void)[] = [];
  const out = new Writable({
    highWaterMark: 1,
    write(_chunk, _encoding, callback) {
      pending.push(callback);
    },
  });
  return { out, finishWrite: () => pending.shift()?.() };
}

describe('drainedOrClosed', () => {
  it('resolves on drain, once per backpressured write, and leaves no drain or close listener', async () => {
    const { out, finishWrite } = slowStream();
    for (let i = 0; i < 25; i++) {
      expect(out.write(Buffer.alloc(16))).toBe(false);
      const drained = drainedOrClosed(out);
      finishWrite();
      await drained;
      expect([out.listenerCount('drain'), out.listenerCount('close')]).toEqual([0, 0]);
    }
  });

  it('resolves when the stream closes instead (the client went away), leaving no listener', async () => {
    const { out } = slowStream();
    expect(out.write(Buffer.alloc(16))).toBe(false);
    const drained = drainedOrClosed(out);
    out.destroy();
    await drained;
    expect([out.listenerCount('drain'), out.listenerCount('close')]).toEqual([0, 0]);
  });
});
