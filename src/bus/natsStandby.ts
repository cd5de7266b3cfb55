/**
 * Failover without lost requests. While the active daemon is gone and a standby has not yet taken over, nothing
 * serves the command subjects, so NATS answers a request with "no responders" at once: the request reached no one.
 * A standby daemon answers `<prefix>.standby` meanwhile; a client that got "no responders" asks it, and when a
 * standby answers, sends the same request again (with backoff) until the new active daemon serves it, instead of
 * failing with "is the daemon running?". Resending is safe for every command, since none of them was delivered.
 * With no standby either, the error comes at once, as before.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decodeJson, encodeJson } from './wire.js';

/** What a standby daemon says about itself. */
export interface StandbyPresence {
  /** The standby daemon's id. */
  id: string;
  /** Its `--failover-after`: it takes over at most this long after the active daemon stopped renewing its lease. */
  failoverAfterMs: number;
}

/** The subject standby daemons answer on (no queue group: any of them may answer first). */
export function standbySubject(prefix: string): string {
  return `${prefix}.standby`;
}

/** Answers `<prefix>.standby` with this daemon's presence until the subscription is closed. */
export function serveStandbyPresence(nc: NatsConnection, prefix: string, presence: StandbyPresence): Subscription {
  const reply = encodeJson(presence, 'standby presence');
  return nc.subscribe(standbySubject(prefix), {
    callback: (err, msg) => {
      if (!err) msg.respond(reply);
    },
  });
}

/** A standby daemon's presence on this prefix, or null when none answers within `timeoutMs`. */
export async function askStandby(
  nc: NatsConnection,
  prefix: string,
  timeoutMs = 1000,
): Promise<StandbyPresence | null> {
  try {
    const msg = await nc.request(standbySubject(prefix), new Uint8Array(0), { timeout: timeoutMs });
    const p = decodeJson(msg.data, 'standby presence') as Partial<StandbyPresence> | null;
    return p && typeof p.id === 'string' && typeof p.failoverAfterMs === 'number' && Number.isFinite(p.failoverAfterMs)
      ? { id: p.id, failoverAfterMs: Math.max(0, p.failoverAfterMs) }
      : null;
  } catch {
    return null;
  }
}

/** How long after the first "no responders" a client keeps resending while a standby answers: its failover time plus restore. */
export const TAKEOVER_SLACK_MS = 30_000;
