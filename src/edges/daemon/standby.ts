/**
 * Active and standby daemons on one PostgreSQL database. A daemon starts as a standby: it makes sure the schema is
 * there, announces itself in `codomyrmex_daemons`, and tries to take the lease (`codomyrmex_lease`) until the
 * active one stops renewing it (dead, paused, cut off) and it expires; then it takes it with the next epoch and the
 * daemon starts its engine on that epoch, restoring state exactly as a restart does. No NATS subscription, no
 * scheduling until then. While the database cannot be reached it retries with backoff and says so.
 */
import { hostname } from 'node:os';
import pg from 'pg';
import { PostgresStore } from '../../store/postgres.js';
import { redactUrl } from '../../store/postgresOpen.js';
import type { Logger } from './logger.js';

export type DaemonRole = 'standby' | 'active';

/** A daemon sharing the database, as last seen. */
export interface PeerDaemon {
  id: string;
  role: DaemonRole;
  host: string;
  pid: number;
  http: string | null;
  seenAgoMs: number;
}

export interface StandbyOptions {
  url: string;
  /** This daemon's id: the lease's holder once it takes over. */
  id: string;
  /** The lease's time to live (the daemon's `--failover-after`). */
  leaseTtlMs: number;
  /** Run the schema's migrations before waiting (false: the schema must already be current). */
  migrate: boolean;
  log: Logger;
  /** Shown to the other daemons. */
  http: () => string | null;
}

/** The lease, once this daemon took it. */
export interface Takeover {
  epoch: number;
  /** The holder before (null when the lease was free). */
  previous: string | null;
  /** How long this daemon waited as a standby, in ms. */
  waitedMs: number;
}

const ttl = `now() + make_interval(secs => $3::double precision / 1000)`;

/** One connection for the standby's polling and every daemon's heartbeat (not the store's: it must work before one is open). */
export class DaemonRegistry {
  readonly #options: StandbyOptions;
  readonly #pool: pg.Pool;
  readonly location: string;
  #role: DaemonRole = 'standby';
  /** The lease's epoch once active: an active daemon's heartbeat writes only while it still holds it. */
  #epoch: number | null = null;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #stopped = false;
  #wake: (() => void) | null = null;

  constructor(options: StandbyOptions) {
    this.#options = options;
    this.location = redactUrl(options.url);
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: 1,
      connectionTimeoutMillis: 5000,
      application_name: 'codomyrmex-daemon',
    });
    this.#pool.on('error', () => undefined);
  }

  get role(): DaemonRole {
    return this.#role;
  }

  #info(): string {
    return JSON.stringify({ host: hostname(), pid: process.pid, http: this.#options.http() });
  }

  async #beat(): Promise<void> {
    await this.#pool.query(
      `INSERT INTO codomyrmex_daemons (id, role, info, seen_at)
       SELECT $1, $2, $3, now() WHERE $4::bigint IS NULL OR EXISTS (SELECT 1 FROM codomyrmex_lease WHERE name = 'engine' AND holder = $1 AND epoch = $4)
       ON CONFLICT (id) DO UPDATE SET role = excluded.role, info = excluded.info, seen_at = excluded.seen_at`,
      [this.#options.id, this.#role, this.#info(), this.#epoch],
    );
  }

  /** Says this daemon is active now, on the lease of `epoch` (its row in `codomyrmex_daemons`). */
  async becameActive(epoch: number): Promise<void> {
    this.#role = 'active';
    this.#epoch = epoch;
    await this.#beat().catch(() => undefined);
  }

  /**
   * Waits for the lease, retrying with backoff while the database is unreachable. Resolves with the epoch taken;
   * resolves null if {@link stop} was called first.
   */
  async waitForLease(): Promise<Takeover | null> {
    const o = this.#options;
    const t0 = Date.now();
    let backoff = 250;
    let ready = false;
    let announced = false;
    const pollMs = Math.max(50, Math.min(1000, Math.floor(o.leaseTtlMs / 4)));
    this.#heartbeat = setInterval(
      () => void this.#beat().catch(() => undefined),
      Math.max(250, Math.min(2000, Math.floor(o.leaseTtlMs / 2))),
    );
    this.#heartbeat.unref();
    while (!this.#stopped) {
      try {
        if (!ready) {
          if (o.migrate) {
            const m = await PostgresStore.migrate(o.url);
            if (m.from !== m.to)
              o.log.info({ database: this.location, from: m.from, to: m.to }, 'database schema migrated');
          }
          await this.#beat();
          ready = true;
          backoff = 250;
        }
        const holder =
          (
            await this.#pool.query<{ holder: string | null }>(
              `SELECT holder FROM codomyrmex_lease WHERE name = 'engine'`,
            )
          ).rows[0]?.holder ?? null;
        const r = await this.#pool.query<{ epoch: string }>(
          `UPDATE codomyrmex_lease SET holder = $1, holder_info = $2, epoch = epoch + 1, expires_at = ${ttl}
           WHERE name = 'engine' AND (holder IS NULL OR expires_at < now() OR holder = $1) RETURNING epoch`,
          [o.id, this.#info(), o.leaseTtlMs],
        );
        const taken = r.rows[0];
        if (taken)
          return { epoch: Number(taken.epoch), previous: holder === o.id ? null : holder, waitedMs: Date.now() - t0 };
        if (!announced) {
          announced = true;
          o.log.info(
            { role: 'standby', database: this.location, active: holder, failoverAfterMs: o.leaseTtlMs },
            'standby: another daemon holds the lease; taking over if it stops renewing it',
          );
        }
        await this.#sleep(pollMs);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === '28P01' || code === '28000' || (err as { name?: string }).name === 'StoreError') {
          // A wrong password or a newer schema does not heal by waiting.
          throw err;
        }
        ready = false;
        o.log.warn(
          { database: this.location, err: err instanceof Error ? err.message : String(err), retryInMs: backoff },
          'database unreachable; retrying',
        );
        await this.#sleep(backoff);
        backoff = Math.min(5000, backoff * 2);
      }
    }
    return null;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  /** The daemons seen in the last `withinMs` (default: three heartbeats), this one included. */
  async peers(withinMs = Math.max(3000, this.#options.leaseTtlMs * 1.5)): Promise<PeerDaemon[]> {
    const rows = (
      await this.#pool.query<{ id: string; role: DaemonRole; info: string; ago: string }>(
        `SELECT id, role, info, (extract(epoch FROM now() - seen_at) * 1000)::bigint AS ago FROM codomyrmex_daemons
         WHERE seen_at > now() - make_interval(secs => $1::double precision / 1000) ORDER BY id`,
        [withinMs],
      )
    ).rows;
    return rows.map((r) => {
      const info = JSON.parse(r.info) as { host?: string; pid?: number; http?: string | null };
      return {
        id: r.id,
        role: r.role,
        host: info.host ?? '',
        pid: info.pid ?? 0,
        http: info.http ?? null,
        seenAgoMs: Number(r.ago),
      };
    });
  }

  /** Stops waiting and heartbeating; removes this daemon's row when it leaves in order. */
  async stop(forget = true): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    if (forget)
      await this.#pool.query('DELETE FROM codomyrmex_daemons WHERE id = $1', [this.#options.id]).catch(() => undefined);
    await this.#pool.end().catch(() => undefined);
  }
}
