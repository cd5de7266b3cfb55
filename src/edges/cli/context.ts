/**
 * What every CLI command shares: the global flags, the one place a command gets its engine from
 * ({@link CliContext.withAnyEngine}: the daemon's with `--nats`, else an embedded one; {@link CliContext.withEngine}
 * for the commands that need an embedded engine), output as a table or as JSON, and the exit codes.
 *
 * Every command file imports this one, and `codomyrmex --help` loads them all: the engine, the NATS and HTTP clients
 * and the SQLite lock file are imported when a command asks for an engine, not before.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { OrchestrationEngine } from '../../actors/engine/engine.js';
import type { EngineOptions } from '../../config/options.js';
import { packagePath } from '../../config/options.js';
import type { SerializedError } from '../../errors.js';
import { CodomyrmexError, ErrorCode, StoreError, UsageError } from '../../errors.js';
import { USER_WORKFLOW_DIR } from './paths.js';
import type { CliEngine } from './remote.js';

/**
 * Exit codes: 0 success; 1 a run (workflow, task) ran and did not succeed, or the health check is not healthy;
 * 2 bad input (usage, flags, JSON, an invalid definition); 3 something named does not exist; 4 the engine or its
 * store failed (locked, unavailable, internal), or no daemon answers at `--nats`; 5 what a command would create
 * already exists; 130 interrupted by Ctrl-C (a run the command started was cancelled; a watcher detached).
 */
export const EXIT = {
  ok: 0,
  runFailed: 1,
  usage: 2,
  notFound: 3,
  engine: 4,
  alreadyExists: 5,
  interrupted: 130,
} as const;

export interface GlobalFlags {
  threads?: number;
  moduleDir?: string[];
  workflowDir?: string[];
  allowPath?: string[];
  store?: string;
  db?: string;
  durability?: string;
  json?: boolean;
  nats?: string;
  subjectPrefix?: string;
  requestTimeout?: number;
  daemon?: string;
}

export interface CliContext {
  /** The daemon's address when commands go to one (`--daemon`, `--nats`, or their environment variables), else undefined. */
  daemonAddress(): string | undefined;
  /** Runs `fn` on an embedded engine and always shuts it down (refused with `--nats`: the command needs one). */
  withEngine<T>(fn: (engine: OrchestrationEngine) => Promise<T>, overrides?: EngineOptions): Promise<T>;
  /** Runs `fn` on the daemon when `--nats` (or `CODOMYRMEX_NATS_URL`) names one, else on an embedded engine. */
  withAnyEngine<T>(fn: (engine: CliEngine) => Promise<T>, overrides?: EngineOptions): Promise<T>;
  /** An embedded engine that stays up until the caller shuts it down. */
  openEngine(overrides?: EngineOptions): Promise<OrchestrationEngine>;
  /** Engine options from the global flags. */
  options(): EngineOptions;
  /** Whether output is JSON (`--json` anywhere on the line). */
  json(): boolean;
  /** Prints `value` as JSON, or calls `human` to print it for people. */
  out<T>(value: T, human: (value: T) => void): void;
  parseJsonObject(value: string, flag?: string): Record<string, unknown>;
}

/** The daemon's NATS URL(s) from the flag or `CODOMYRMEX_NATS_URL`, or undefined (run embedded). */
export function natsUrl(
  flags: { nats?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return flags.nats ?? (env['CODOMYRMEX_NATS_URL'] || undefined);
}

/** The daemon's HTTP URL from `--daemon` or `CODOMYRMEX_DAEMON_URL`, or undefined. */
export function daemonUrl(
  flags: { daemon?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return flags.daemon ?? (env['CODOMYRMEX_DAEMON_URL'] || undefined);
}

/** `--json` may stand before or after the subcommand; errors in parsing need to know it too. */
export function wantsJson(argv: readonly string[] = process.argv): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

export function parseJsonObject(value: string, flag = '--params'): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`${flag} must be a JSON object: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidArgumentError(`${flag} must be a JSON object like '{"value": 1}'`);
  return parsed as Record<string, unknown>;
}

/** `--param k=v`, repeatable: the value is JSON when it parses as JSON (`n=3`, `flag=true`), else a string. */
export function collectParam(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--param must be key=value, e.g. --param path=src (got "${value}")`);
  const key = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  let v: unknown = raw;
  try {
    v = JSON.parse(raw);
  } catch {
    v = raw;
  }
  return { ...previous, [key]: v };
}

/** Adds `--params JSON` and repeated `--param k=v` to a command. */
export function withParamFlags(cmd: Command): Command {
  return cmd
    .option('-p, --params <json>', 'parameters as a JSON object', (v) => parseJsonObject(v))
    .option(
      '--param <key=value>',
      'one parameter (repeatable; the value is JSON if it parses, else text)',
      collectParam,
    );
}

/** The parameters of `--params` and `--param` (the latter win). */
export function paramsOf(opts: {
  params?: Record<string, unknown>;
  param?: Record<string, unknown>;
}): Record<string, unknown> {
  return { ...(opts.params ?? {}), ...(opts.param ?? {}) };
}

/** The exit code of an error: not found 3, bad input 2, everything else the engine's (4). */
export function exitCodeOf(err: unknown): number {
  if (err instanceof InvalidArgumentError) return EXIT.usage;
  if (err instanceof CodomyrmexError) {
    if (err.code === ErrorCode.NOT_FOUND) return EXIT.notFound;
    if (err.code === ErrorCode.ALREADY_EXISTS) return EXIT.alreadyExists;
    if (err.code === ErrorCode.VALIDATION || err.code === ErrorCode.CYCLE) return EXIT.usage;
    if (err.code === ErrorCode.CANCELLED) return EXIT.interrupted;
    return EXIT.engine;
  }
  return EXIT.engine;
}

/**
 * The wire form of an error the CLI prints under `--json`: a usage error (commander's `InvalidArgumentError`) as a
 * `UsageError`, a codomyrmex error as it is, anything else as an `INTERNAL` error caused by it.
 */
export function cliError(err: unknown): SerializedError {
  if (err instanceof InvalidArgumentError) return new UsageError(err.message).toJSON();
  if (err instanceof CodomyrmexError) return err.toJSON();
  // Not ours: a bug, reported as INTERNAL with what was thrown as its cause.
  return new CodomyrmexError(err instanceof Error ? err.message : String(err), ErrorCode.INTERNAL, {
    cause: err,
  }).toJSON();
}

/**
 * A store locked by another engine, in the CLI's words: the engine holding it is usually this folder's daemon, which
 * the command reaches with `--nats URL` instead of opening the database itself.
 */
function lockedAdvice(err: unknown): unknown {
  if (!(err instanceof StoreError) || err.code !== ErrorCode.STORE_LOCKED) return err;
  const message = err.message.replace(/; one database serves one engine at a time\..*$/s, '');
  return new StoreError(
    `${message}. If that is a daemon, run the command through it: add --nats URL (its NATS server, as given to \`codomyrmex daemon --nats URL\`; or set CODOMYRMEX_NATS_URL), or --daemon URL (its HTTP address). Otherwise stop that engine, or give this command another database with --db PATH`,
    ErrorCode.STORE_LOCKED,
    { cause: err },
  );
}

export function createContext(program: Command): CliContext {
  const options = (): EngineOptions => {
    const o = program.opts<GlobalFlags>();
    return {
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.moduleDir ? { moduleDirs: o.moduleDir } : {}),
      ...(o.allowPath ? { allowedProjectRoots: o.allowPath } : {}),
      ...(o.store ? { store: o.store as 'sqlite' | 'memory' | 'postgres' } : {}),
      ...(o.db ? { dbPath: o.db } : {}),
      ...(o.durability ? { durability: o.durability as 'strict' } : {}),
      workflowDirs: [packagePath('config', 'workflows'), USER_WORKFLOW_DIR, ...(o.workflowDir ?? [])],
      // One bad file in .codomyrmex/workflows must not stop every command: it is named on stderr and left out.
      badDefinitionFiles: 'skip',
    };
  };
  const openEngine = async (overrides: EngineOptions = {}): Promise<OrchestrationEngine> => {
    // The CLI's engine is durable (SQLite) unless `--store memory` or `CODOMYRMEX_STORE=memory`. It lives for one
    // command, so it does not fire schedules (the daemon does) unless the command asks (the MCP server), nor boot the
    // store's writer thread before a write asks for it.
    const { composeEngine } = await import('../library.js');
    let engine: OrchestrationEngine;
    try {
      engine = composeEngine(
        { fireSchedules: false, ...options(), ...overrides },
        { store: 'sqlite' },
        { warmStore: false },
      );
    } catch (err) {
      throw lockedAdvice(err);
    }
    engine.registerEventHandler('definition_skipped', (_, d) =>
      console.error(
        `codomyrmex: skipped ${d.error.message.startsWith(d.file) ? d.error.message : `${d.file}: ${d.error.message}`}`,
      ),
    );
    try {
      await engine.ready();
    } catch (err) {
      await engine.shutdown({ graceMs: 0 }).catch(() => undefined);
      throw lockedAdvice(err);
    }
    return engine;
  };
  const json = (): boolean => program.opts<GlobalFlags>().json === true || wantsJson();
  return {
    options,
    openEngine,
    json,
    daemonAddress: () => daemonUrl(program.opts<GlobalFlags>()) ?? natsUrl(program.opts<GlobalFlags>()),
    async withEngine(fn, overrides = {}) {
      const flags = program.opts<GlobalFlags>();
      if (daemonUrl(flags) !== undefined && overrides.store !== 'memory') {
        throw new InvalidArgumentError(
          '--daemon: this command runs on an embedded engine only (task demo); drop --daemon or unset CODOMYRMEX_DAEMON_URL',
        );
      }
      if (natsUrl(flags) !== undefined && overrides.store !== 'memory') {
        throw new InvalidArgumentError(
          '--nats: this command runs on an embedded engine only (task demo); every other command but events goes through the daemon; drop --nats or unset CODOMYRMEX_NATS_URL',
        );
      }
      const engine = await openEngine(overrides);
      try {
        return await fn(engine);
      } finally {
        await engine.shutdown({ graceMs: 1000 });
      }
    },
    async withAnyEngine(fn, overrides = {}) {
      const flags = program.opts<GlobalFlags>();
      const http = daemonUrl(flags);
      if (http !== undefined) return (await import('./remote.js')).withHttpDaemon(http, flags, fn);
      const url = natsUrl(flags);
      if (url !== undefined) return (await import('./remote.js')).withDaemon(url, flags, fn);
      let engine: OrchestrationEngine;
      try {
        engine = await openEngine(overrides);
      } catch (err) {
        // A daemon holds this folder's store: talk to it over HTTP instead of failing on the lock.
        if (!(err instanceof StoreError && err.code === ErrorCode.STORE_LOCKED && overrides.store !== 'memory'))
          throw err;
        const [{ compileOptions }, { readDaemonAddress }] = await Promise.all([
          import('../../config/compile.js'),
          import('../../store/fileGuard.js'),
        ]);
        const address = readDaemonAddress(
          compileOptions({ ...options(), ...overrides }, process.env, { store: 'sqlite' }).dbPath,
        );
        if (!address) throw err;
        return (await import('./remote.js')).withHttpDaemon(address.url, flags, fn);
      }
      try {
        return await fn(engine);
      } finally {
        await engine.shutdown({ graceMs: 1000 });
      }
    },
    out(value, human) {
      if (json()) console.log(JSON.stringify(value, null, 2));
      else human(value);
    },
    parseJsonObject,
  };
}
