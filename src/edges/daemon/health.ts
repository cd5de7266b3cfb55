/**
 * What the daemon's own HTTP edge serves on a shared PostgreSQL database: the engine's `/metrics`, `/healthz` and
 * `/readyz` once the daemon is active, a standby's answers before (alive, not ready), and in both the
 * `codomyrmex_daemon_role` gauge saying which it is.
 */
import type { OrchestrationEngine } from '../../actors/engine/engine.js';
import type { HttpHandlers } from '../../actors/engine/views.js';
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from '../../metrics/openMetrics.js';
import type { DaemonRole } from './standby.js';

/** What the handlers read of the daemon, each time they answer. */
export interface DaemonView {
  /** Its engine, or null while a standby. */
  engine(): OrchestrationEngine | null;
  role(): DaemonRole;
  /** When the daemon started (epoch ms). */
  readonly startedAt: number;
}

/** What the daemon's own HTTP edge serves: the engine's answers once active, the standby's before. */
export function daemonHttpHandlers(daemon: DaemonView): HttpHandlers {
  const roleLines = (): string =>
    [
      '# HELP codomyrmex_daemon_role Whether this daemon is the active one (holds the database lease) or a standby: 1 for its role.',
      '# TYPE codomyrmex_daemon_role gauge',
      ...(['active', 'standby'] as const).map(
        (r) => `codomyrmex_daemon_role{role="${r}"} ${daemon.role() === r ? 1 : 0}`,
      ),
      '',
    ].join('\n');
  return {
    metrics: async (format = 'prometheus') => {
      const m = daemon.engine()?.httpHandlers().metrics;
      const engine = m ? await m(format) : null;
      if (format === 'openmetrics') {
        // The role's family goes before the closing `# EOF` (nothing may follow it).
        const body = (engine?.body ?? '').replace(/# EOF\n$/, '');
        return { contentType: OPENMETRICS_CONTENT_TYPE, body: `${body}${roleLines()}# EOF\n` };
      }
      return {
        contentType: engine?.contentType ?? PROMETHEUS_CONTENT_TYPE,
        body: `${engine?.body ?? ''}${roleLines()}`,
      };
    },
    liveness: () => {
      const engine = daemon.engine();
      if (engine) return { ...engine.httpHandlers().liveness(), role: 'active' };
      return {
        alive: true,
        state: 'starting',
        uptimeSeconds: (Date.now() - daemon.startedAt) / 1000,
        role: 'standby',
      };
    },
    readiness: () => {
      const engine = daemon.engine();
      if (engine) {
        const r = engine.httpHandlers().readiness();
        return { ...r, checks: { ...r.checks, role: { ok: true, detail: 'active: holds the database lease' } } };
      }
      return {
        ready: false,
        status: 'not_ready',
        state: 'starting',
        checks: { role: { ok: false, detail: 'standby: another daemon holds the database lease' } },
      };
    },
  };
}
