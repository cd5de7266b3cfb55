/**
 * A wait with an explicit bound, for waits that cross a network: `task.wait_for` and `workflow.wait_for` answer
 * `{ done: false }` when the time runs out (the caller asks again), so no request is held open for a whole run.
 */
import type { WaitOutcome } from '../bus/protocol.js';
import type { Clock } from '../model/clock.js';

/**
 * `{ done: true, result }` once `ended` resolves, or `{ done: false }` after `timeoutMs` (0: just look). A
 * rejection (no such task or run) passes through.
 */
export function waitWithin<T>(ended: Promise<T>, timeoutMs: number, clock: Clock): Promise<WaitOutcome<T>> {
  return new Promise((resolve, reject) => {
    let settled = false;
    // A timer is a later turn than the promise's reactions: a result already there wins over a 0 ms bound.
    const timer = clock.setTimeout(
      () => {
        if (settled) return;
        settled = true;
        resolve({ done: false });
      },
      timeoutMs,
      { unref: true },
    );
    ended.then(
      (result) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        resolve({ done: true, result });
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
