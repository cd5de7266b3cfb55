/**
 * The daemon's config file: where it is looked for (`--config`, `CODOMYRMEX_CONFIG`, or `codomyrmex.config.{json,yaml}`
 * in the working directory), how it is read (JSON or YAML), and the schema of its `daemon` section. Its engine
 * options are checked by `compileOptions()` like the library's. A bad field names itself and the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { EngineOptions } from '../../config/options.js';
import { ValidationError } from '../../errors.js';
import { formatZodIssues } from '../../model/validate.js';
import { LOG_FORMATS, LOG_LEVELS } from './logger.js';

/** The config files looked for in the working directory when `--config` is not given, in this order. */
export const CONFIG_FILES = ['codomyrmex.config.json', 'codomyrmex.config.yaml', 'codomyrmex.config.yml'] as const;

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
/** The config file's `daemon` section, checked. */
export type DaemonSection = z.infer<typeof daemonSectionSchema>;

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
