/**
 * The daemon's options: flags over environment over a config file (`codomyrmex.config.{json,yaml}` or
 * `--config FILE`) over defaults. The file's engine options go through the same `compileOptions()` as the
 * library's; its `daemon` section (NATS, logging) is checked here. A bad field names itself and the file.
 * Credentials and TLS come from the file or the environment, never from code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { CompiledHttpOptions, CompiledOptions, EngineOptions } from '../../config/options.js';
import { compileHttp, compileOptions } from '../../config/compile.js';
import { DEFAULT_HTTP } from '../../config/options.js';
import { ValidationError } from '../../errors.js';
import { formatZodIssues } from '../../model/validate.js';
import type { DaemonNatsOptions } from '../nats/edge.js';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The config files looked for in the working directory when `--config` is not given, in this order. */
export const CONFIG_FILES = ['codomyrmex.config.json', 'codomyrmex.config.yaml', 'codomyrmex.config.yml'] as const;

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

/** The config file's `daemon` section (the descriptions are the configuration reference's). */
export const daemonSectionSchema = z
  .object({
    http: z
      .union([z.literal(false), z.string().min(1)])
      .optional()
      .describe(
        'Where the HTTP edge listens, `HOST:PORT` (default `127.0.0.1:9464`), or `false` for none. Flag `--http`, env `CODOMYRMEX_HTTP`.',
      ),
    authMetrics: z
      .boolean()
      .optional()
      .describe('`/metrics` needs the bearer token too (default false). Flag `--auth-metrics`.'),
    console: z
      .boolean()
      .optional()
      .describe('Serve the console at `/` and the API under `/api/v1/` (default true). Flag `--console on|off`.'),
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .optional()
      .describe('Largest request body the HTTP API reads, in bytes (default 4 MiB).'),
    graceMs: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "How long a drain lets running tasks finish, in ms (default: the engine's `shutdownGraceMs`, 30 000). Flag `--grace`, env `CODOMYRMEX_GRACE`.",
      ),
    nats: z
      .object({
        url: z
          .union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
            errorMap: () => ({ message: 'must be a NATS URL such as nats://127.0.0.1:4222, or a list of them' }),
          })
          .optional()
          .describe('NATS server URL(s) (default none: HTTP only). Flag `--nats`, env `CODOMYRMEX_NATS_URL`.'),
        subjectPrefix: z
          .string()
          .min(1)
          .optional()
          .describe('Subject prefix (default `codomyrmex`). Flag `--subject-prefix`, env `CODOMYRMEX_SUBJECT_PREFIX`.'),
        requestTimeoutMs: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe('How long a request over NATS waits for its reply, in ms (default 30 000).'),
        user: z.string().min(1).optional().describe('User name, with `password` (env `CODOMYRMEX_NATS_USER`).'),
        password: z.string().optional().describe('Password (env `CODOMYRMEX_NATS_PASSWORD`).'),
        token: z.string().min(1).optional().describe('Token (env `CODOMYRMEX_NATS_TOKEN`).'),
        credsFile: z
          .string()
          .min(1)
          .optional()
          .describe('A `.creds` file: JWT and nkey seed (env `CODOMYRMEX_NATS_CREDS`).'),
        tls: z
          .object({
            caFile: z.string().min(1).optional().describe('CA certificate (env `CODOMYRMEX_NATS_TLS_CA`).'),
            certFile: z
              .string()
              .min(1)
              .optional()
              .describe('Client certificate, with `keyFile` (env `CODOMYRMEX_NATS_TLS_CERT`).'),
            keyFile: z.string().min(1).optional().describe('Client key (env `CODOMYRMEX_NATS_TLS_KEY`).'),
          })
          .strict()
          .optional()
          .describe('TLS to NATS.'),
        retryInitialMs: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe('First backoff between connect attempts while NATS is down at start, in ms (default 250).'),
        retryMaxMs: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe('Longest backoff between connect attempts, in ms (default 5000).'),
      })
      .strict()
      .optional()
      .describe('How the daemon reaches NATS.'),
    log: z
      .object({
        format: z
          .enum(LOG_FORMATS)
          .optional()
          .describe('`json` (default) or `pretty`. Flag `--log-format`, env `CODOMYRMEX_LOG_FORMAT`.'),
        level: z
          .enum(LOG_LEVELS)
          .optional()
          .describe('Lowest level logged (default `info`). Flag `--log-level`, env `CODOMYRMEX_LOG_LEVEL`.'),
      })
      .strict()
      .optional()
      .describe('Logging.'),
  })
  .strict();
type DaemonSection = z.infer<typeof daemonSectionSchema>;

/** Engine options that have an environment variable: the variable, when set, wins over the file. */
const ENV_OF: Partial<Record<keyof EngineOptions, string>> = {
  threads: 'CODOMYRMEX_THREADS',
  moduleDirs: 'CODOMYRMEX_MODULE_DIRS',
  workflowDirs: 'CODOMYRMEX_WORKFLOW_DIRS',
  projectsDir: 'CODOMYRMEX_PROJECTS_DIR',
  allowedProjectRoots: 'CODOMYRMEX_ALLOWED_PROJECT_ROOTS',
  templateDirs: 'CODOMYRMEX_TEMPLATE_DIRS',
  store: 'CODOMYRMEX_STORE',
  dataDir: 'CODOMYRMEX_DATA_DIR',
  dbPath: 'CODOMYRMEX_DB',
  durability: 'CODOMYRMEX_DURABILITY',
};

/** Reads a JSON or YAML config file: `{ ...engine options, daemon: { http, graceMs, nats, log } }`. */
export function readConfigFile(file: string): { engine: EngineOptions; daemon: DaemonSection } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ValidationError(`--config: cannot read ${file} (${(err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ValidationError(
      `${file}: not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'} (${(err as Error).message})`,
    );
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ValidationError(`${file}: must hold an object of options (e.g. "threads: 2" and a "daemon:" section)`);
  const { daemon, ...engine } = raw as Record<string, unknown>;
  const parsed = daemonSectionSchema.safeParse(daemon ?? {});
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'daemon').map((i) => `${file}: ${i}`));
  return { engine: engine, daemon: parsed.data };
}

/** The config file to read: `--config`, else `CODOMYRMEX_CONFIG`, else the first of {@link CONFIG_FILES} that exists. */
export function findConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv, cwd = process.cwd()): string | null {
  const given = flag ?? (env['CODOMYRMEX_CONFIG'] || undefined);
  if (given !== undefined) {
    const path = resolve(cwd, given);
    if (!existsSync(path)) throw new ValidationError(`--config: no file ${path}`);
    return path;
  }
  for (const name of CONFIG_FILES) if (existsSync(resolve(cwd, name))) return resolve(cwd, name);
  return null;
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

function choice<T extends string>(value: string | undefined, choices: readonly T[], what: string): T | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(choices as readonly string[]).includes(value))
    throw new ValidationError(`${what}: must be one of ${choices.join(', ')} (got "${value}")`);
  return value as T;
}

function env(e: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = e[name];
  return v === undefined || v === '' ? undefined : v;
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
  for (const [key, name] of Object.entries(ENV_OF)) if (env(e, name) !== undefined) delete fromFile[key];
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
  const httpText = flags.http ?? env(e, 'CODOMYRMEX_HTTP') ?? (d.http === false ? 'off' : d.http);
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
  const graceText = flags.grace ?? env(e, 'CODOMYRMEX_GRACE');
  const graceMs =
    graceText !== undefined
      ? parseDuration(graceText, flags.grace !== undefined ? '--grace' : 'CODOMYRMEX_GRACE')
      : (d.graceMs ?? engine.shutdownGraceMs);
  const urlText = flags.nats ?? env(e, 'CODOMYRMEX_NATS_URL');
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
    caFile: env(e, 'CODOMYRMEX_NATS_TLS_CA') ?? n.tls?.caFile,
    certFile: env(e, 'CODOMYRMEX_NATS_TLS_CERT') ?? n.tls?.certFile,
    keyFile: env(e, 'CODOMYRMEX_NATS_TLS_KEY') ?? n.tls?.keyFile,
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
          subjectPrefix: flags.subjectPrefix ?? env(e, 'CODOMYRMEX_SUBJECT_PREFIX') ?? n.subjectPrefix ?? 'codomyrmex',
          requestTimeoutMs: flags.requestTimeout ?? n.requestTimeoutMs ?? 30_000,
          user: env(e, 'CODOMYRMEX_NATS_USER') ?? n.user,
          password: env(e, 'CODOMYRMEX_NATS_PASSWORD') ?? n.password,
          token: env(e, 'CODOMYRMEX_NATS_TOKEN') ?? n.token,
          credsFile: env(e, 'CODOMYRMEX_NATS_CREDS') ?? n.credsFile,
          tls: Object.values(tls).some((v) => v !== undefined) ? tls : undefined,
          retryInitialMs: n.retryInitialMs ?? 250,
          retryMaxMs: n.retryMaxMs ?? 5000,
        };
  const log = {
    format:
      choice(flags.logFormat, LOG_FORMATS, '--log-format') ??
      choice(env(e, 'CODOMYRMEX_LOG_FORMAT'), LOG_FORMATS, 'CODOMYRMEX_LOG_FORMAT') ??
      d.log?.format ??
      'json',
    level:
      choice(flags.logLevel, LOG_LEVELS, '--log-level') ??
      choice(env(e, 'CODOMYRMEX_LOG_LEVEL'), LOG_LEVELS, 'CODOMYRMEX_LOG_LEVEL') ??
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
