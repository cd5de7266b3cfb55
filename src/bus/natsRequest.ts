/**
 * A command request on the NATS wire, for the NATS bus (nats.ts): sent once the connection is up, sent again through
 * a failover while a standby daemon says one is under way (natsStandby.ts), and the error a failed request becomes
 * (no responders, a timeout, a closed bus), each naming the command, its subject and what to do.
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { headers as natsHeaders, RequestError, TimeoutError } from '@nats-io/transport-node';
import { BusError, CodomyrmexError, ErrorCode, NotFoundError, ShuttingDownError } from '../errors.js';
import { askStandby, TAKEOVER_SLACK_MS } from './natsStandby.js';

/** What a request needs of its bus. */
export interface RequestLine {
  readonly nc: NatsConnection;
  readonly subjectPrefix: string;
  /** Whether a request nobody serves waits for a standby daemon to take over (`waitForStandby`). */
  readonly waitForStandby: boolean;
  /** Whether the bus is closed. */
  closed(): boolean;
  /** The connection's status, for the timeout's message. */
  status(): string;
  /** Resolves once connected; rejects with a `BusError` if that takes longer than `ms` or the bus closes. */
  whenConnected(ms: number, what: string): Promise<void>;
}

/**
 * One request on the wire. "No responders" means no one got it: when a standby daemon answers (a failover is under
 * way, natsStandby.ts), the same bytes are sent again with backoff until the new active daemon serves them, for at
 * most the standby's failover time plus {@link TAKEOVER_SLACK_MS}.
 */
export async function sendRequest(
  line: RequestLine,
  subject: string,
  bytes: Uint8Array,
  timeout: number,
  what: string,
  traceparent: string | undefined,
): Promise<Msg> {
  let headers: ReturnType<typeof natsHeaders> | undefined;
  if (traceparent !== undefined) {
    headers = natsHeaders();
    headers.set('traceparent', traceparent);
  }
  let deadline: number | null = null;
  let delayMs = 100;
  for (;;) {
    // What is written while the client redials is discarded: wait for the connection (within the timeout).
    const t0 = Date.now();
    await line.whenConnected(timeout, what);
    try {
      return await line.nc.request(subject, bytes, {
        timeout: Math.max(1, timeout - (Date.now() - t0)),
        ...(headers ? { headers } : {}),
      });
    } catch (err) {
      if (!(err instanceof RequestError && err.isNoResponders()) || !line.waitForStandby || line.closed()) throw err;
      if (deadline === null) {
        // Asked once: the standby stops answering when it takes over, before it serves the command subjects.
        const standby = await askStandby(line.nc, line.subjectPrefix);
        if (!standby) throw err;
        deadline = Date.now() + standby.failoverAfterMs + TAKEOVER_SLACK_MS;
      }
      if (Date.now() + delayMs > deadline) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(delayMs * 2, 1000);
    }
  }
}

/** The error a request that failed on the wire becomes (one of ours passes through). */
export function requestError(line: RequestLine, err: unknown, type: string, subject: string, timeout: number): Error {
  if (err instanceof CodomyrmexError) return err;
  if (err instanceof RequestError && err.isNoResponders()) {
    return new NotFoundError(
      `no component serves "${type}" on NATS (nothing subscribes to "${subject}"; is the daemon running with subject prefix "${line.subjectPrefix}"?)`,
      { cause: err },
    );
  }
  if (err instanceof TimeoutError) {
    return new BusError(
      `"${type}" got no reply within ${timeout} ms on "${subject}" (NATS ${line.status()}); retry, or give a longer timeoutMs`,
      ErrorCode.BUS_TIMEOUT,
      { cause: err },
    );
  }
  if (line.closed()) return new ShuttingDownError('the NATS bus is closed; requests are refused');
  return new BusError(`"${type}" could not be sent over NATS: ${(err as Error).message}`, ErrorCode.BUS_UNAVAILABLE, {
    cause: err,
  });
}
