/**
 * The daemon's options: flags over environment over a config file (`codomyrmex.config.{json,yaml}` or
 * `--config FILE`, read in configFile.ts) over defaults. The file's engine options go through the same
 * `compileOptions()` as the library's; its `daemon` section (NATS, logging) is checked in configFile.ts. A bad field
 * names itself and the file. Credentials and TLS come from the file or the environment, never from code.
 */
import type { CompiledHttpOptions, CompiledOptions, EngineOptions } from '../../config/options.js';
import { compileHttp, compileOptions } from '../../config/compile.js';
import { DEFAULT_HTTP } from '../../config/options.js';
import { ValidationError } from '../../errors.js';
import { ENGINE_ENV, envChoice, envString, oneOf } from '../../config/env.js';
import type { DaemonNatsOptions } from '../nats/edge.js';
import type { DaemonSection } from './configFile.js';
import { findConfigFile, readConfigFile } from './configFile.js';
import { LOG_FORMATS, LOG_LEVELS } from './logger.js';
import type { LogFormat, LogLevel } from './logger.js';

/** Every daemon option, filled in and checked. */
export interface DaemonOptions {
  /** The engine options to start with (file, then flags), as given: the engine compiles them itself. */
  engineInput: EngineOptions;
  /** The same, compiled (with env and defaults), for reading. */
  engine: CompiledOptions;
  /** Where `/metrics`, `/healthz`, `/readyz`, the console and the API listen, and their auth; null turns the HTTP edge off. */
  http: CompiledHttpOptions | null;
  /** null: no NATS (the daemon serves HTTP only). */
  nats: DaemonNatsOptions | null;
  log: { format: LogFormat; level: LogLevel };
  /** How long a drain lets running tasks finish (default: the engine's `shutdownGraceMs`, 30 s). */
  graceMs: number;
  /** The config file read, if any. */
  configFile: string | null;
  /**
   * Where attempts run: `local` the daemon's own threads, `remote` workers over JetStream (`codomyrmex worker`);
   * `lostAfterMs`: a worker not heard from for this long is lost and its attempts run again elsewhere.
   */
  workers: { local: boolean; remote: boolean; lostAfterMs: number };
  /**
   * On a PostgreSQL store: the lease's time to live. A standby takes over this long (at most) after the active one
   * stopped renewing it (default 10 s, or the config file's `store.leaseTtlMs`).
   */
  failoverAfterMs: number;
}

/** What the command line gives (all optional; absent means env, then file, then default). */
export interface DaemonFlags {
  config?: string | undefined;
  http?: string | undefined;
  nats?: string | undefined;
  subjectPrefix?: string | undefined;
  requestTimeout?: number | undefined;
  grace?: string | undefined;
  logFormat?: string | undefined;
  logLevel?: string | undefined;
  /** `--remote-workers`: dispatch to remote workers over JetStream too. */
  remoteWorkers?: boolean | undefined;
  /** `--no-local-workers` (commander: `localWorkers: false`): run nothing on the daemon's threads; implies remote. */
  localWorkers?: boolean | undefined;
  workerLostAfter?: string | undefined;
  /** `--failover-after`: a duration. */
  failoverAfter?: string | undefined;
  /** `--auth-token`: the bearer token the API and console need (env CODOMYRMEX_AUTH_TOKEN). */
  authToken?: string | undefined;
  /** `--auth-metrics`: `/metrics` needs the token too. */
  authMetrics?: boolean | undefined;
  /** `--console off`: serve no console and no API. */
  console?: string | undefined;
}

/** `HOST:PORT` (or `:PORT`, or `PORT`), checked; `off` turns the edge off. */
export function parseListen(value: string, what: string): { host: string; port: number } | null {
  if (value === 'off' || value === 'false') return null;
  const m = /^(?:(.*):)?(\d+)$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65_535))
    throw new ValidationError(`${what}: must be HOST:PORT such as 127.0.0.1:9464, or "off" (got "${value}")`);
  const host = m[1] === undefined || m[1] === '' ? DEFAULT_HTTP.host : m[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

/** `30s`, `500ms`, `2m` or a plain number of seconds, in ms. */
export function parseDuration(value: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new ValidationError(`${what}: must be a duration such as 30s, 500ms or 2m (got "${value}")`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

/**
 * Compiles the daemon's options. `engineFlags` are the engine options the command line gave (they win over the
 * file); `defaults` are what the daemon fills in when nothing says otherwise (e.g. its workflow folders).
 */
export function compileDaemonOptions(
  flags: DaemonFlags,
  engineFlags: EngineOptions,
  e: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): DaemonOptions {
  const configFile = findConfigFile(flags.config, e, cwd);
  const file = configFile ? readConfigFile(configFile) : { engine: {}, daemon: {} as DaemonSection };
  const fromFile: Record<string, unknown> = { ...file.engine };
  for (const [key, name] of Object.entries(ENGINE_ENV)) if (envString(e, name) !== undefined) delete fromFile[key];
  const engineInput = { ...(fromFile as EngineOptions), ...engineFlags };
  let engine: CompiledOptions;
  try {
    engine = compileOptions(engineInput, e, { store: 'sqlite' });
  } catch (err) {
    // A field the file gave is named with the file: "codomyrmex.config.yaml: options.threads: ...".
    if (configFile && err instanceof ValidationError)
      throw new ValidationError(
        err.issues.map((i) => (fileGave(i, fromFile, engineFlags) ? `${configFile}: ${i}` : i)),
      );
    throw err;
  }
  const d = file.daemon;
  const httpText = flags.http ?? envString(e, 'CODOMYRMEX_HTTP') ?? (d.http === false ? 'off' : d.http);
  const listen =
    httpText !== undefined
      ? parseListen(httpText, flags.http !== undefined ? '--http' : 'CODOMYRMEX_HTTP')
      : (engine.http ?? { ...DEFAULT_HTTP });
  const consoleOn =
    flags.console === undefined
      ? (d.console ?? engine.http?.console ?? true)
      : flags.console !== 'off' && flags.console !== 'false';
  if (flags.console !== undefined && !['on', 'off', 'true', 'false'].includes(flags.console))
    throw new ValidationError(`--console: must be "on" or "off" (got "${flags.console}")`);
  if (flags.authToken !== undefined && flags.authToken.length < 16)
    throw new ValidationError('--auth-token: must be at least 16 characters (e.g. `openssl rand -hex 24`)');
  const http = listen
    ? compileHttp(
        {
          host: listen.host,
          port: listen.port,
          authToken: flags.authToken ?? engine.http?.authToken ?? undefined,
          authMetrics: flags.authMetrics ?? d.authMetrics ?? engine.http?.authMetrics,
          console: consoleOn,
          maxBodyBytes: d.maxBodyBytes ?? engine.http?.maxBodyBytes,
        },
        e,
      )
    : null;
  const graceText = flags.grace ?? envString(e, 'CODOMYRMEX_GRACE');
  const graceMs =
    graceText !== undefined
      ? parseDuration(graceText, flags.grace !== undefined ? '--grace' : 'CODOMYRMEX_GRACE')
      : (d.graceMs ?? engine.shutdownGraceMs);
  const urlText = flags.nats ?? envString(e, 'CODOMYRMEX_NATS_URL');
  const servers =
    urlText !== undefined
      ? urlText
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : d.nats?.url === undefined
        ? []
        : [d.nats.url].flat();
  const n = d.nats ?? {};
  const tls = {
    caFile: envString(e, 'CODOMYRMEX_NATS_TLS_CA') ?? n.tls?.caFile,
    certFile: envString(e, 'CODOMYRMEX_NATS_TLS_CERT') ?? n.tls?.certFile,
    keyFile: envString(e, 'CODOMYRMEX_NATS_TLS_KEY') ?? n.tls?.keyFile,
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined))
    throw new ValidationError(
      'NATS TLS: give both certFile and keyFile (CODOMYRMEX_NATS_TLS_CERT and CODOMYRMEX_NATS_TLS_KEY), or neither',
    );
  const nats: DaemonNatsOptions | null =
    servers.length === 0
      ? null
      : {
          servers,
          subjectPrefix:
            flags.subjectPrefix ?? envString(e, 'CODOMYRMEX_SUBJECT_PREFIX') ?? n.subjectPrefix ?? 'codomyrmex',
          requestTimeoutMs: flags.requestTimeout ?? n.requestTimeoutMs ?? 30_000,
          user: envString(e, 'CODOMYRMEX_NATS_USER') ?? n.user,
          password: envString(e, 'CODOMYRMEX_NATS_PASSWORD') ?? n.password,
          token: envString(e, 'CODOMYRMEX_NATS_TOKEN') ?? n.token,
          credsFile: envString(e, 'CODOMYRMEX_NATS_CREDS') ?? n.credsFile,
          tls: Object.values(tls).some((v) => v !== undefined) ? tls : undefined,
          retryInitialMs: n.retryInitialMs ?? 250,
          retryMaxMs: n.retryMaxMs ?? 5000,
        };
  const log = {
    format:
      oneOf(flags.logFormat, LOG_FORMATS, '--log-format') ??
      envChoice(e, 'CODOMYRMEX_LOG_FORMAT', LOG_FORMATS) ??
      d.log?.format ??
      'json',
    level:
      oneOf(flags.logLevel, LOG_LEVELS, '--log-level') ??
      envChoice(e, 'CODOMYRMEX_LOG_LEVEL', LOG_LEVELS) ??
      d.log?.level ??
      'info',
  };
  const local = flags.localWorkers !== false;
  const remote = flags.remoteWorkers === true || !local;
  if (remote && !nats)
    throw new ValidationError(
      `${local ? '--remote-workers' : '--no-local-workers'}: remote workers are reached over NATS: give --nats URL (or CODOMYRMEX_NATS_URL)`,
    );
  const lostAfterMs =
    flags.workerLostAfter !== undefined ? parseDuration(flags.workerLostAfter, '--worker-lost-after') : 5000;
  if (lostAfterMs < 100)
    throw new ValidationError(`--worker-lost-after: must be at least 100ms (got ${lostAfterMs} ms)`);
  const failoverAfterMs =
    flags.failoverAfter !== undefined
      ? parseDuration(flags.failoverAfter, '--failover-after')
      : (engine.postgres?.leaseTtlMs ?? 10_000);
  if (failoverAfterMs < 500)
    throw new ValidationError(`--failover-after: must be at least 500ms (got ${failoverAfterMs} ms)`);
  if (flags.failoverAfter !== undefined && engine.store !== 'postgres')
    throw new ValidationError(
      '--failover-after: only daemons on a PostgreSQL store have standbys; add --store postgres --db postgres://...',
    );
  if (engine.postgres) engine.postgres.leaseTtlMs = failoverAfterMs;
  return {
    engineInput,
    engine,
    http,
    nats,
    log,
    graceMs,
    configFile,
    workers: { local, remote, lostAfterMs },
    failoverAfterMs,
  };
}

/** Whether an issue of `compileOptions` (`options.threads: ...`) is about a field the file gave. */
function fileGave(issue: string, fromFile: Record<string, unknown>, flags: EngineOptions): boolean {
  const key = /^options\.([A-Za-z]+)/.exec(issue)?.[1];
  return key !== undefined && key in fromFile && !(key in flags);
}
