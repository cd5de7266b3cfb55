/**
 * The engine's options: {@link EngineOptions} as callers and config files give them (each documented with its
 * default) and {@link CompiledOptions} as everything after `compileOptions` (compile.ts) reads them; their zod schema
 * is schema.ts, their environment variables env.ts. Also where the installed package is (`packagePath`,
 * `packageVersion`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompiledTracing, TracingOptions } from './tracing.js';

/** Options of an engine. All optional; each line says its default. */
export interface EngineOptions {
  /** Worker threads in the pool (default: `os.availableParallelism()`). Env: `CODOMYRMEX_THREADS`. */
  threads?: number;
  /** Tasks one worker thread runs at once (default 1). Raise it for I/O-bound actions. */
  concurrentTasksPerWorker?: number;
  /** Tasks running at once across the pool (default: threads × concurrentTasksPerWorker). */
  maxConcurrency?: number;
  /**
   * Send actions known to be short (under 1 ms on average) to a thread several per dispatch (default true; see the
   * README's "Batched dispatch"). Env: `CODOMYRMEX_BATCH_DISPATCH=0` turns it off.
   */
  batchDispatch?: boolean;
  /** Folders to load user action modules from (default none). Env: `CODOMYRMEX_MODULE_DIRS` (`:`-separated). */
  moduleDirs?: string[];
  /**
   * With `moduleDirs`, how long the worker threads get to load their modules at start (default 30 000). A module
   * that throws while a worker imports it fails the start with its own error; one that never finishes loading fails
   * it after this long, instead of hanging every task.
   */
  workerBootTimeoutMs?: number;
  /** A waiting task climbs one priority level per this many ms (default 10 000; 0 turns aging off). */
  agingMs?: number;
  /** Grace between a cooperative abort and terminating the thread, for actions with a channel (default 250). */
  abortGraceMs?: number;
  /** Finished tasks kept in memory (default 10 000); older ones are read from the store. */
  retainFinishedTasks?: number;
  /**
   * Bytes of finished tasks' results kept in memory, at most (default 256 MiB, estimated as stored): past it the
   * oldest finished tasks leave memory even below `retainFinishedTasks`, and are read from the store.
   */
  retainFinishedTaskBytes?: number;
  /** How long `shutdown()` lets running tasks finish before cancelling them (default 30 000). */
  shutdownGraceMs?: number;
  /** How long an `idempotencyKey` answers with its first submission instead of starting another (default 86 400, 24 h). */
  idempotencyTtlSeconds?: number;
  /** Named rate limits created at start (`[{ name, limit, per }]`; also `engine.createRateLimit`). */
  rateLimits?: { name: string; limit: number; per: string }[];
  /** Folders of workflow definition files (YAML/JSON) loaded at start (default: the package's `config/workflows`). Env: `CODOMYRMEX_WORKFLOW_DIRS`. */
  workflowDirs?: string[];
  /**
   * A file of `workflowDirs` that cannot be loaded: `fail` (default) fails the start naming the file; `skip` leaves
   * it out, publishes `definition_skipped { file, error }` and loads the rest (the CLI does this).
   */
  badDefinitionFiles?: 'fail' | 'skip';
  /** Finished workflow runs kept for `getRun` (default 1000). */
  retainRuns?: number;
  /** Items one `forEach` step may fan out to; a longer list fails the step naming the count and this limit (default 10 000). */
  maxForEachItems?: number;
  /**
   * Retention of finished history in the SQLite store. Default: on for the process engine, the CLI and the daemon
   * (`getOrchestrationEngine()`, store defaulting to sqlite): tasks 100 000 / 7 days, runs 10 000 / 30 days; off
   * (everything kept) for engines made with `createOrchestrationEngine()`. `false` turns it off; 0 lifts one limit.
   */
  storeRetention?: false | StoreRetentionOptions;
  /** Where projects are created unless `createProject` names a `path` (default `./projects`). Env: `CODOMYRMEX_PROJECTS_DIR`. */
  projectsDir?: string;
  /**
   * More folders a project's `path` may be in, besides `projectsDir` (default none: a path outside `projectsDir` is
   * refused, over every edge). CLI: `--allow-path DIR` (repeatable). Env: `CODOMYRMEX_ALLOWED_PROJECT_ROOTS` (`:`-separated).
   */
  allowedProjectRoots?: string[];
  /**
   * More folders of project templates, after the package's `config/templates` (a later folder's template of the same
   * name wins). Default none. Env: `CODOMYRMEX_TEMPLATE_DIRS` (`:`-separated).
   */
  templateDirs?: string[];
  /**
   * Where state lives: `sqlite` (durable: a database file, see `dbPath`), `postgres` (durable and shared: a
   * PostgreSQL database, `{ kind: 'postgres', url }`; see the README's "State in PostgreSQL") or `memory` (this
   * process only). Default: `memory` for engines made with `createOrchestrationEngine()` (tests, embedding);
   * `sqlite` for the process engine (`getOrchestrationEngine()`), the CLI and the daemon, or `postgres` there when
   * `CODOMYRMEX_DATABASE_URL` is set. Env: `CODOMYRMEX_STORE`.
   *
   * @example
   * createOrchestrationEngine({ store: { kind: 'postgres', url: 'postgres://codomyrmex:secret@db:5432/codomyrmex' } })
   */
  store?: StoreKind | StoreSpec;
  /** Folder for codomyrmex's own files (default `./.codomyrmex`). Env: `CODOMYRMEX_DATA_DIR`. */
  dataDir?: string;
  /**
   * The SQLite database file (default `<dataDir>/state.db`), or `:memory:`; or a PostgreSQL URL
   * (`postgres://...`, which chooses the `postgres` store). Env: `CODOMYRMEX_DB`.
   */
  dbPath?: string;
  /**
   * `strict` (default): a caller is answered only once what it is told is on disk (an added task, a result): each
   * commit a caller is answered on is fsynced (and with it the commits before it that nobody waited on). `relaxed`: answers at once; the change is committed within `commitDelayMs` (a crash
   * can lose the last moments). Env: `CODOMYRMEX_DURABILITY`.
   */
  durability?: Durability;
  /**
   * Longest wait before a change is committed, in ms (default 0: at the end of the current event-loop turn): a window
   * to batch changes nobody waits for. A change a caller waits for (strict) is committed at the end of its turn
   * while no commit is in flight, whatever the window.
   */
  commitDelayMs?: number;
  /** Commit sooner than `commitDelayMs` once this many changes wait (default 10 000). */
  commitMaxBatch?: number;
  /** Events kept in the journal (default 100 000 with the SQLite store, 0 with the memory store; 0 turns it off). */
  journalMaxEvents?: number;
  /** Journal events older than this are deleted, in ms (default 7 days; 0: no age limit). */
  journalMaxAgeMs?: number;
  /** How long a SQLite statement waits for a lock held by a reader, in ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * SQLite writes (statements, commit, fsync, checkpoints) run on a thread of their own, so a slow disk never
   * stalls the engine's event loop (default true). `false` writes on the engine's thread.
   */
  writerThread?: boolean;
  /**
   * A commit that leaves the SQLite WAL longer than this many pages checkpoints it into the database file (SQLite's
   * `wal_autocheckpoint`; default 1000, about 4 MB). Smaller keeps the WAL short at the cost of more checkpoints;
   * 0 turns automatic checkpoints off (the WAL then grows until the store closes).
   */
  walAutocheckpointPages?: number;
  /**
   * Whether this engine fires schedules and listens to triggers (default true). The one-shot CLI turns it off: its
   * engine lives for one command, so it manages schedules without firing them. Env: `CODOMYRMEX_FIRE_SCHEDULES=0`.
   */
  fireSchedules?: boolean;
  /** Prometheus metrics: one prom-client `Registry` per engine, fed by bus events. */
  metrics?: MetricsOptions;
  /**
   * The HTTP edge serving `/metrics`, `/healthz` and `/readyz`. Off (`false`) by default for engines made in code;
   * the daemon turns it on. `true` serves on 127.0.0.1:9464; `{ port: 0 }` picks a free port (see `engine.httpAddress`).
   */
  http?: boolean | HttpOptions;
  /** Thresholds of `engine.healthCheck()`. */
  health?: HealthOptions;
  /**
   * OpenTelemetry traces of runs, steps and attempts (see docs/traces.md). Off by default, with no OpenTelemetry
   * module loaded; on with the standard `OTEL_*` variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_EXPORTER=otlp`)
   * or `{ enabled: true, ... }`.
   */
  tracing?: TracingOptions;
}

/** Where state is kept: a SQLite file (the default), memory only (lost on exit), or PostgreSQL. */
export type StoreKind = 'sqlite' | 'memory' | 'postgres';

/** A store named with its settings (the config file's `store: { kind: postgres, url }`). */
export type StoreSpec =
  | {
      /** `memory`, `sqlite` or `postgres`. */
      kind: 'memory';
    }
  | {
      kind: 'sqlite';
      /** The database file (default `<dataDir>/state.db`; the same as `dbPath`). */
      path?: string | undefined;
    }
  | {
      kind: 'postgres';
      /** `postgres://user:password@host:port/database` (default: `CODOMYRMEX_DATABASE_URL`). */
      url?: string | undefined;
      /** Bring the schema up to date at start (default true); `false` refuses a database that is behind (`codomyrmex store migrate`). */
      migrate?: boolean | undefined;
      /** How long the engine's lease lasts unless renewed, in ms (default 10 000; the daemon's `--failover-after`). */
      leaseTtlMs?: number | undefined;
    };
/** `strict` (the default): a caller is answered only once its change is on disk (fsync per commit); `relaxed`: answered at once, committed within `commitDelayMs`. Details: docs/operations.md, "Durability". */
export type Durability = 'strict' | 'relaxed';

/** Defaults that depend on how the engine is made (the process engine and the CLI default to SQLite). */
export interface OptionDefaults {
  store?: StoreKind;
}

/** How much finished history the SQLite store keeps (see `EngineOptions.storeRetention`). */
export interface StoreRetentionOptions {
  /** Finished tasks outside the newest this many tasks are deleted (0: no count limit). */
  tasks?: number;
  /** Finished tasks not updated for this long are deleted (0: no age limit). */
  taskAgeMs?: number;
  /** Finished workflow runs outside the newest this many runs are deleted (0: no count limit). */
  runs?: number;
  /** Finished workflow runs not updated for this long are deleted (0: no age limit). */
  runAgeMs?: number;
}

/** The retention of the process engine, the CLI and the daemon. */
export const DEFAULT_STORE_RETENTION: Required<StoreRetentionOptions> = {
  tasks: 100_000,
  taskAgeMs: 7 * 24 * 3600 * 1000,
  runs: 10_000,
  runAgeMs: 30 * 24 * 3600 * 1000,
};

/** Prometheus metrics: whether they are recorded, and whether the process metrics are added. */
export interface MetricsOptions {
  /** Record metrics (default true). `false`: no registry, no event subscriptions, and `/metrics` answers 404. */
  enabled?: boolean;
  /** Add prom-client's default process metrics (`process_*`, `nodejs_*`) when first exposed (default true). */
  processMetrics?: boolean;
}

/** The HTTP edge (console, `/metrics`, health, `/api/v1/`): where it listens, its token, what it serves. */
export interface HttpOptions {
  /** Interface to bind (default `127.0.0.1`: loopback only). */
  host?: string;
  /** TCP port (default 9464); 0 picks a free one. */
  port?: number;
  /**
   * The token every API call and the console need, sent as `Authorization: Bearer TOKEN` (default: env
   * `CODOMYRMEX_AUTH_TOKEN`, else none). Required to bind an address other than loopback.
   */
  authToken?: string;
  /** `/metrics` needs the token too (default false: Prometheus scrapes without one). */
  authMetrics?: boolean;
  /** Serve the console at `/` and the command API under `/api/v1/` (default true). */
  console?: boolean;
  /** Largest request body the API reads, in bytes (default 4 MiB); a bigger one gets 413. */
  maxBodyBytes?: number;
}

/** The HTTP edge's options, filled in. */
export interface CompiledHttpOptions {
  host: string;
  port: number;
  authToken: string | null;
  authMetrics: boolean;
  console: boolean;
  maxBodyBytes: number;
}

/** How health is judged: the pool probe's timeout and when the queue counts as stuck. */
export interface HealthOptions {
  /** How long the pool gets to answer a probe task before it counts as unresponsive (default 5000). */
  probeTimeoutMs?: number;
  /** The queue counts as stuck when its oldest ready task has waited this long while nothing runs (default 60 000). */
  queueStuckMs?: number;
}

/** Every option filled in and checked. Nothing after `compileOptions` reads raw options or env. */
export interface CompiledOptions {
  threads: number;
  concurrentTasksPerWorker: number;
  maxConcurrency: number;
  batchDispatch: boolean;
  moduleDirs: string[];
  workerBootTimeoutMs: number;
  agingMs: number;
  abortGraceMs: number;
  retainFinishedTasks: number;
  retainFinishedTaskBytes: number;
  shutdownGraceMs: number;
  idempotencyTtlMs: number;
  rateLimits: { name: string; limit: number; per: string }[];
  workflowDirs: string[];
  badDefinitionFiles: 'fail' | 'skip';
  retainRuns: number;
  maxForEachItems: number;
  /** All zeros: retention off. */
  storeRetention: Required<StoreRetentionOptions>;
  projectsDir: string;
  /** Folders besides `projectsDir` a project's path may be in. */
  allowedProjectRoots: string[];
  /** Every template folder, the package's first. */
  templateDirs: string[];
  store: StoreKind;
  dataDir: string;
  dbPath: string;
  /** The `postgres` store's database: its URL (with the password), migrations at start, and lease. Null for other stores. */
  postgres: { url: string; migrate: boolean; leaseTtlMs: number } | null;
  durability: Durability;
  commitDelayMs: number;
  commitMaxBatch: number;
  journalMaxEvents: number;
  journalMaxAgeMs: number;
  busyTimeoutMs: number;
  writerThread: boolean;
  walAutocheckpointPages: number;
  fireSchedules: boolean;
  metrics: { enabled: boolean; processMetrics: boolean };
  /** `null` when the HTTP edge is off. */
  http: CompiledHttpOptions | null;
  health: { probeTimeoutMs: number; queueStuckMs: number };
  tracing: CompiledTracing;
}

/** Where the HTTP edge listens unless told otherwise (the port the daemon's Prometheus scrape config expects). */
export const DEFAULT_HTTP = { host: '127.0.0.1', port: 9464 } as const;

/** The largest API request body unless told otherwise: 4 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** A path inside the installed package (found by walking up to its package.json, from src/ or dist/src/). */
export function packagePath(...parts: string[]): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return join(dir, ...parts);
}

let version: string | undefined;

/** This package's version, from its package.json (what `--version`, MCP, NATS services and workers report). */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
  return version;
}
