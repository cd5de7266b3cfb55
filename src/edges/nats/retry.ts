/**
 * A daemon's first connection to NATS, retried while NATS is down at start (the command edge's, the remote workers'):
 * each failed try is reported, and the next one waits `retryInitialMs`, doubling up to `retryMaxMs`, until one
 * succeeds or the retry is stopped (which cuts the wait short, so a daemon stopping meanwhile does not wait it out).
 */

/** A retry under way. */
export interface ConnectRetry {
  /** Resolves once a try succeeded or the retry was stopped. */
  readonly done: Promise<void>;
  /** Stops retrying (a try under way finishes; its caller checks whether it was stopped meanwhile). */
  stop(): void;
}

/**
 * Calls `attempt` until it resolves, reporting each failure to `failed` with the wait before the next try.
 *
 * @example
 * const retry = retryConnect(options, () => connectAndServe(), (err, ms) => log.warn({ err, retryInMs: ms }));
 * // on close:
 * retry.stop();
 * await retry.done;
 */
export function retryConnect(
  backoff: { retryInitialMs: number; retryMaxMs: number },
  attempt: () => Promise<void>,
  failed: (err: unknown, retryInMs: number) => void | Promise<void>,
): ConnectRetry {
  let stopped = false;
  let wake: (() => void) | null = null;
  const done = (async () => {
    let delayMs = backoff.retryInitialMs;
    while (!stopped) {
      try {
        await attempt();
        return;
      } catch (err) {
        await failed(err, delayMs);
        if (stopped) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
        delayMs = Math.min(backoff.retryMaxMs, delayMs * 2);
      }
    }
  })();
  return {
    done,
    stop: () => {
      stopped = true;
      wake?.();
    },
  };
}
