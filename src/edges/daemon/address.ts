/**
 * Where an active daemon's console and API listen, recorded in the store's `meta` for the CLI: a command run against
 * the same folder finds the daemon there and talks to it over HTTP instead of failing on the store's lock.
 */
import { hostname } from 'node:os';
import type { OrchestrationEngine } from '../../actors/engine/engine.js';
import { serializeError } from '../../errors.js';
import { DAEMON_META_KEY, type DaemonAddress } from '../../store/fileGuard.js';
import type { Logger } from './logger.js';

/**
 * Records where the console and API listen in the store's `meta` (readable while this daemon holds the file), so
 * that a CLI command run against the same folder talks to this daemon over HTTP instead of failing on the lock.
 */
export async function recordDaemonAddress(engine: OrchestrationEngine, url: string, log: Logger): Promise<void> {
  const address: DaemonAddress = {
    url,
    pid: process.pid,
    host: hostname(),
    engineId: engine.id,
    since: new Date().toISOString(),
  };
  const commits = engine.commits;
  let pending = true;
  const unregister = commits.register({
    collect: (batch) => {
      if (pending) batch.meta[DAEMON_META_KEY] = JSON.stringify(address);
    },
    committed: () => (pending = false),
    failed: () => undefined,
  });
  try {
    await commits.afterCommit(null);
  } catch (err) {
    log.warn(
      { err: serializeError(err) },
      'could not record the HTTP address in the store: CLI commands in this folder will not find the daemon by themselves (use --daemon URL)',
    );
  } finally {
    unregister();
  }
}
