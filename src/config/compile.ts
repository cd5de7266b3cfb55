/**
 * `compileOptions`: engine options over the environment (`CODOMYRMEX_*`) over defaults, validated, into the
 * complete {@link CompiledOptions} with units in the names; and the HTTP edge's and the store's choice within it.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../errors.js';
import { LIMITS } from '../model/limits.js';
import { formatZodIssues } from '../model/validate.js';
import type {
  CompiledHttpOptions,
  CompiledOptions,
  EngineOptions,
  HttpOptions,
  OptionDefaults,
  StoreKind,
  StoreSpec,
} from './options.js';
import { DEFAULT_HTTP, DEFAULT_MAX_BODY_BYTES, DEFAULT_STORE_RETENTION, packagePath } from './options.js';
import { engineOptionsSchema } from './schema.js';
import { compileTracing } from './tracing.js';
import { ENGINE_ENV, envChoice, envList, envNumber, envString } from './env.js';

/** The HTTP edge's options over `CODOMYRMEX_AUTH_TOKEN` over defaults. */
export function compileHttp(
  o: { [K in keyof HttpOptions]?: HttpOptions[K] | undefined },
  env: NodeJS.ProcessEnv = process.env,
): CompiledHttpOptions {
  const envToken = envString(env, 'CODOMYRMEX_AUTH_TOKEN');
  if (o.authToken === undefined && envToken !== undefined && envToken.length < 16)
    throw new ValidationError('CODOMYRMEX_AUTH_TOKEN: must be at least 16 characters (e.g. `openssl rand -hex 24`)');
  return {
    host: o.host ?? DEFAULT_HTTP.host,
    port: o.port ?? DEFAULT_HTTP.port,
    authToken: o.authToken ?? envToken ?? null,
    authMetrics: o.authMetrics ?? false,
    console: o.console ?? true,
    maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
  };
}

/** Merges options over the environment over defaults, and validates the result, naming any bad option. */
export function compileOptions(
  options: EngineOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  defaults: OptionDefaults = {},
): CompiledOptions {
  const parsed = engineOptionsSchema.safeParse(options);
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'options'));
  const o = parsed.data;
  const threads = o.threads ?? envNumber(env, ENGINE_ENV.threads) ?? availableParallelism();
  if (threads < 1) throw new ValidationError(`CODOMYRMEX_THREADS: must be at least 1 (got ${threads})`);
  const concurrentTasksPerWorker = o.concurrentTasksPerWorker ?? 1;
  const { store, dbGiven, postgres } = chooseStore(o.store, o.dbPath, env, defaults);
  const dataDir = o.dataDir ?? envString(env, ENGINE_ENV.dataDir) ?? '.codomyrmex';
  return {
    threads,
    concurrentTasksPerWorker,
    maxConcurrency: o.maxConcurrency ?? threads * concurrentTasksPerWorker,
    batchDispatch: o.batchDispatch ?? env[ENGINE_ENV.batchDispatch] !== '0',
    moduleDirs: o.moduleDirs ?? envList(env, ENGINE_ENV.moduleDirs) ?? [],
    workerBootTimeoutMs: o.workerBootTimeoutMs ?? 30_000,
    agingMs: o.agingMs ?? 10_000,
    abortGraceMs: o.abortGraceMs ?? 250,
    retainFinishedTasks: o.retainFinishedTasks ?? 10_000,
    retainFinishedTaskBytes: o.retainFinishedTaskBytes ?? 256 * 1024 * 1024,
    shutdownGraceMs: o.shutdownGraceMs ?? 30_000,
    idempotencyTtlMs: (o.idempotencyTtlSeconds ?? 86_400) * 1000,
    rateLimits: o.rateLimits ?? [],
    workflowDirs: o.workflowDirs ?? envList(env, ENGINE_ENV.workflowDirs) ?? [packagePath('config', 'workflows')],
    badDefinitionFiles: o.badDefinitionFiles ?? 'fail',
    retainRuns: o.retainRuns ?? 1000,
    maxForEachItems: o.maxForEachItems ?? LIMITS.maxForEachItems,
    storeRetention:
      o.storeRetention === false || (o.storeRetention === undefined && defaults.store !== 'sqlite')
        ? { tasks: 0, taskAgeMs: 0, runs: 0, runAgeMs: 0 }
        : {
            tasks: o.storeRetention?.tasks ?? DEFAULT_STORE_RETENTION.tasks,
            taskAgeMs: o.storeRetention?.taskAgeMs ?? DEFAULT_STORE_RETENTION.taskAgeMs,
            runs: o.storeRetention?.runs ?? DEFAULT_STORE_RETENTION.runs,
            runAgeMs: o.storeRetention?.runAgeMs ?? DEFAULT_STORE_RETENTION.runAgeMs,
          },
    projectsDir: o.projectsDir ?? envString(env, ENGINE_ENV.projectsDir) ?? 'projects',
    allowedProjectRoots: o.allowedProjectRoots ?? envList(env, ENGINE_ENV.allowedProjectRoots) ?? [],
    templateDirs: [
      packagePath('config', 'templates'),
      ...(o.templateDirs ?? envList(env, ENGINE_ENV.templateDirs) ?? []),
    ],
    store,
    dataDir,
    dbPath: store === 'sqlite' && dbGiven !== undefined ? dbGiven : join(dataDir, 'state.db'),
    postgres,
    durability: o.durability ?? envChoice(env, ENGINE_ENV.durability, ['strict', 'relaxed'] as const) ?? 'strict',
    commitDelayMs: o.commitDelayMs ?? 0,
    commitMaxBatch: o.commitMaxBatch ?? 10_000,
    journalMaxEvents: o.journalMaxEvents ?? (store === 'memory' ? 0 : 100_000),
    journalMaxAgeMs: o.journalMaxAgeMs ?? 7 * 24 * 3600 * 1000,
    busyTimeoutMs: o.busyTimeoutMs ?? 5000,
    writerThread: o.writerThread ?? true,
    walAutocheckpointPages: o.walAutocheckpointPages ?? 1000,
    fireSchedules: o.fireSchedules ?? env[ENGINE_ENV.fireSchedules] !== '0',
    metrics: { enabled: o.metrics?.enabled ?? true, processMetrics: o.metrics?.processMetrics ?? true },
    http: o.http === undefined || o.http === false ? null : compileHttp(o.http === true ? {} : o.http, env),
    health: { probeTimeoutMs: o.health?.probeTimeoutMs ?? 5000, queueStuckMs: o.health?.queueStuckMs ?? 60_000 },
    tracing: compileTracing(o.tracing, env),
  };
}

const isPostgresUrl = (v: string | undefined): v is string => v !== undefined && /^postgres(ql)?:\/\//i.test(v);

/**
 * The store: named (option, then `CODOMYRMEX_STORE`), or implied by a PostgreSQL URL in `dbPath`/`CODOMYRMEX_DB`,
 * or (where the default is durable) by `CODOMYRMEX_DATABASE_URL`; else the default.
 */
function chooseStore(
  given: StoreKind | StoreSpec | undefined,
  dbPath: string | undefined,
  env: NodeJS.ProcessEnv,
  defaults: OptionDefaults,
): { store: StoreKind; dbGiven: string | undefined; postgres: CompiledOptions['postgres'] } {
  const spec = typeof given === 'object' ? given : undefined;
  const dbGiven = (spec?.kind === 'sqlite' ? spec.path : undefined) ?? dbPath ?? envString(env, ENGINE_ENV.dbPath);
  const envUrl = envString(env, 'CODOMYRMEX_DATABASE_URL');
  const named =
    spec?.kind ??
    (typeof given === 'string' ? given : undefined) ??
    envChoice(env, ENGINE_ENV.store, ['sqlite', 'memory', 'postgres'] as const);
  const store: StoreKind =
    named ??
    (isPostgresUrl(dbGiven) || (envUrl !== undefined && defaults.store === 'sqlite')
      ? 'postgres'
      : (defaults.store ?? 'memory'));
  if (store !== 'postgres') {
    if (isPostgresUrl(dbGiven) && store === 'sqlite')
      throw new ValidationError(
        `dbPath: "${dbGiven.replace(/:[^:@/]*@/, ':***@')}" is a PostgreSQL URL, but the store is sqlite: use --store postgres (store: { kind: postgres, url })`,
      );
    return { store, dbGiven, postgres: null };
  }
  const pgSpec = spec?.kind === 'postgres' ? spec : undefined;
  const url = pgSpec?.url ?? (isPostgresUrl(dbGiven) ? dbGiven : undefined) ?? envUrl;
  if (url === undefined) {
    throw new ValidationError(
      'store: the postgres store needs a database URL: --db postgres://user:password@host:5432/database, store: { kind: postgres, url } in the config file, or CODOMYRMEX_DATABASE_URL',
    );
  }
  if (!isPostgresUrl(url))
    throw new ValidationError(
      `CODOMYRMEX_DATABASE_URL: must be a PostgreSQL URL such as postgres://user:password@host:5432/database`,
    );
  return {
    store,
    dbGiven,
    postgres: { url, migrate: pgSpec?.migrate ?? true, leaseTtlMs: pgSpec?.leaseTtlMs ?? 10_000 },
  };
}
