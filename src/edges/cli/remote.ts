/**
 * The CLI through the daemon: with `--nats URL` (or `CODOMYRMEX_NATS_URL`) a command talks to a running daemon
 * over NATS instead of starting an embedded engine, with the same output and exit codes. Long runs are started
 * and followed (end event, then bounded waits), so none hits the request timeout.
 */
import { isNoResponders } from '../../bus/nats.js';
import { BusError, ErrorCode } from '../../errors.js';
import type { EdgeEngine } from '../seam.js';
import type { NatsBus } from '../../bus/nats.js';
import { RemoteEngine } from '../nats/client.js';
import { connectionOptions } from '../nats/edge.js';
import { HttpBus } from '../http/client.js';
import { ValidationError } from '../../errors.js';

/** What the CLI's commands use of an engine: an embedded `OrchestrationEngine` or a daemon over NATS. */
export type CliEngine = EdgeEngine;

export interface RemoteFlags {
  nats?: string | undefined;
  subjectPrefix?: string | undefined;
  requestTimeout?: number | undefined;
}

/**
 * Runs `fn` against the daemon whose HTTP API is at `url` (its console's address), sending `CODOMYRMEX_AUTH_TOKEN`
 * when set. Long runs are started and followed as over NATS.
 */
export async function withHttpDaemon<T>(
  url: string,
  flags: RemoteFlags,
  fn: (engine: CliEngine) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  if (!/^https?:\/\//.test(url))
    throw new ValidationError(
      `--daemon: must be the daemon's HTTP address such as http://127.0.0.1:9464 (got "${url}")`,
    );
  const requestTimeoutMs = flags.requestTimeout;
  const remote = new RemoteEngine(
    new HttpBus({ url, token: env['CODOMYRMEX_AUTH_TOKEN'] || undefined, requestTimeoutMs }),
    {
      waitMs: requestTimeoutMs !== undefined ? Math.max(1, Math.floor(requestTimeoutMs / 2)) : undefined,
    },
  );
  try {
    return await fn(remote);
  } finally {
    await remote.close();
  }
}

/** Runs `fn` against the daemon at `url` and always closes the connection. */
export function withDaemon<T>(
  url: string,
  flags: RemoteFlags,
  fn: (engine: CliEngine) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  return withRemote(url, flags, fn, env);
}

/** A client's NATS credentials and TLS, from the same variables the daemon reads (`CODOMYRMEX_NATS_USER`, …). */
export function clientConnection(env: NodeJS.ProcessEnv): ReturnType<typeof connectionOptions> {
  const e = (name: string): string | undefined => env[name] || undefined;
  return connectionOptions({
    user: e('CODOMYRMEX_NATS_USER'),
    password: e('CODOMYRMEX_NATS_PASSWORD'),
    token: e('CODOMYRMEX_NATS_TOKEN'),
    credsFile: e('CODOMYRMEX_NATS_CREDS'),
    tls:
      (e('CODOMYRMEX_NATS_TLS_CA') ?? e('CODOMYRMEX_NATS_TLS_CERT'))
        ? {
            caFile: e('CODOMYRMEX_NATS_TLS_CA'),
            certFile: e('CODOMYRMEX_NATS_TLS_CERT'),
            keyFile: e('CODOMYRMEX_NATS_TLS_KEY'),
          }
        : undefined,
  });
}

/** {@link withDaemon} with the client itself (its bus), for what goes past the engine seam (bench). */
export async function withRemote<T>(
  url: string,
  flags: RemoteFlags,
  fn: (remote: RemoteEngine<NatsBus>) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const requestTimeoutMs = flags.requestTimeout;
  const remote = await RemoteEngine.connect({
    servers: url
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    subjectPrefix: flags.subjectPrefix ?? (env['CODOMYRMEX_SUBJECT_PREFIX'] || undefined),
    requestTimeoutMs,
    // Each bounded wait stays well inside the request timeout.
    waitMs: requestTimeoutMs !== undefined ? Math.max(1, Math.floor(requestTimeoutMs / 2)) : undefined,
    connection: clientConnection(env),
  });
  try {
    return await fn(remote);
  } catch (err) {
    // NATS answered but nothing serves the command: no daemon there (or another prefix). Not "not found" (exit 3).
    if (isNoResponders(err)) {
      throw new BusError(
        `no daemon answers on prefix ${remote.bus.subjectPrefix} at ${url}: start one with \`codomyrmex daemon --nats ${url}\`, or give the prefix it serves with --subject-prefix`,
        ErrorCode.BUS_UNAVAILABLE,
        { cause: err },
      );
    }
    throw err;
  } finally {
    await remote.close();
  }
}
