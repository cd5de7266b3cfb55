/**
 * The `codomyrmex daemon` command: compiles the options (flags, env, config file), starts the {@link Daemon}, and
 * turns signals into a drain. Start-up failures (bad options, a locked database, a port in use) print one clear
 * line and exit 2.
 */
import type { Command } from 'commander';
import type { EngineOptions } from '../../config/options.js';
import { CodomyrmexError, serializeError } from '../../errors.js';
import type { Daemon } from './daemon.js';
import type { DaemonFlags } from './options.js';

export interface DaemonCommandContext {
  /** The engine options the global flags give (threads, store, db, module and workflow folders). */
  engineOptions(): EngineOptions;
  /** The global `--nats`, `--subject-prefix`, `--request-timeout` flags. */
  natsFlags(): Pick<DaemonFlags, 'nats' | 'subjectPrefix' | 'requestTimeout'>;
}

export function registerDaemonCommand(program: Command, ctx: DaemonCommandContext): void {
  program
    .command('daemon')
    .description(
      'run the engine as a long-lived daemon: SQLite store (or PostgreSQL, shared by active and standby daemons), HTTP console, API and /metrics /healthz /readyz, and with --nats the command API over NATS',
    )
    .option(
      '-c, --config <file>',
      'config file (default: ./codomyrmex.config.{json,yaml} if present; env CODOMYRMEX_CONFIG)',
    )
    .option(
      '--http <host:port>',
      'where /metrics, /healthz, /readyz, the console and the HTTP API listen, or "off" (default 127.0.0.1:9464; env CODOMYRMEX_HTTP)',
    )
    .option(
      '--auth-token <token>',
      'the bearer token the console and API need; required to bind a non-loopback address (env CODOMYRMEX_AUTH_TOKEN)',
    )
    .option('--auth-metrics', '/metrics needs the token too')
    .option('--console <on|off>', 'serve the console at / and the API under /api/v1/ (default on)')
    .option(
      '--grace <duration>',
      'on SIGTERM/SIGINT, how long running tasks get to finish: 30s, 500ms, 2m (default 30s; env CODOMYRMEX_GRACE)',
    )
    .option('--log-format <format>', 'json (default) or pretty (env CODOMYRMEX_LOG_FORMAT)')
    .option(
      '--log-level <level>',
      'fatal | error | warn | info (default) | debug | trace | silent (env CODOMYRMEX_LOG_LEVEL)',
    )
    .option(
      '--remote-workers',
      'also dispatch tasks to remote workers (`codomyrmex worker`) through a JetStream work queue (needs --nats)',
    )
    .option(
      '--no-local-workers',
      "run no task on the daemon's own threads: remote workers only (implies --remote-workers)",
    )
    .option(
      '--worker-lost-after <duration>',
      'a remote worker not heard from for this long is lost; its tasks run again elsewhere (default 5s)',
    )
    .option(
      '--failover-after <duration>',
      'with --store postgres: a standby daemon takes over this long after the active one stopped renewing its lease (default 10s)',
    )
    .action(async (opts: DaemonFlags) => {
      // The daemon (engine, HTTP, NATS, logger) loads when it starts, not with every other command's help.
      const [{ compileDaemonOptions }, { createLogger }, { Daemon }] = await Promise.all([
        import('./options.js'),
        import('./logger.js'),
        import('./daemon.js'),
      ]);
      const options = compileDaemonOptions({ ...opts, ...ctx.natsFlags() }, ctx.engineOptions());
      let daemon: Daemon | undefined;
      const log = createLogger(options.log.format, options.log.level, process.stdout, () => {
        const tracing = daemon?.tracing;
        return tracing ? (fields) => tracing.logIds(fields) : null;
      });
      try {
        daemon = new Daemon(options, log);
      } catch (err) {
        log.fatal({ err: serializeError(err) }, 'daemon could not start');
        throw err instanceof CodomyrmexError
          ? err
          : new CodomyrmexError((err as Error).message, undefined, { cause: err });
      }
      const exit = (code: number): void => {
        log.flush();
        process.exit(code);
      };
      daemon.handleSignals(exit);
      try {
        await daemon.start();
      } catch (err) {
        log.fatal({ err: serializeError(err) }, 'daemon could not start');
        exit(2);
      }
    });
}
