#!/usr/bin/env node
/**
 * The `codomyrmex` command line. One file per command group; global flags (and `--json`) go before or after the
 * subcommand. Exit codes: see {@link EXIT} in context.ts.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { packageVersion } from '../../config/options.js';
import type { SerializedError } from '../../errors.js';
import { CodomyrmexError, UsageError } from '../../errors.js';
import { registerBenchCommand } from './bench.js';
import { cliError, createContext, EXIT, exitCodeOf, wantsJson } from './context.js';
import type { GlobalFlags } from './context.js';
import { registerDaemonCommand } from '../daemon/command.js';
import { registerWorkerCommands } from '../worker/command.js';
import { inCliWords } from './hints.js';
import { registerInspectCommands } from './inspect.js';
import { registerMcpCommand } from './mcp.js';
import { registerProjectCommands } from './project.js';
import { registerRunCommands } from './runs.js';
import { registerScheduleCommands } from './schedule.js';
import { registerStoreCommands } from './store.js';
import { registerStoreAdminCommands } from './storeAdmin.js';
import { parseInteger, registerTaskCommands } from './task.js';
import { registerRateLimitCommands } from './ratelimit.js';
import { registerWorkflowCommands } from './workflow.js';

const version = packageVersion();
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

const program = new Command();
program
  .name('codomyrmex')
  .description('Actor-based orchestration runtime: workflows, tasks and resources on a worker-thread pool')
  .version(version, '-V, --version', 'print the version')
  .option('--json', 'machine-readable output (errors too: { "error": { "name", "code", "message", "retryable", ... } })')
  .option('--threads <n>', 'worker threads (default: the number of cores)', parseInteger('--threads', 1))
  .option('--module-dir <dir>', 'a folder to load user action modules from (repeatable)', collect)
  .option('--workflow-dir <dir>', 'one more folder of workflow definitions, YAML/JSON (repeatable)', collect)
  .option('--store <kind>', 'sqlite (default: durable, see --db), postgres (shared: --db postgres://...) or memory')
  .option('--db <path|url>', 'the SQLite database (default ./.codomyrmex/state.db; env CODOMYRMEX_DB), or a PostgreSQL URL (env CODOMYRMEX_DATABASE_URL)')
  .option('--durability <mode>', 'strict (default: answer only once durable) or relaxed')
  .option('--nats <url>', 'NATS URL(s): `daemon` serves its command API there; every other command (mcp and bench too) then talks to that daemon instead of an embedded engine, except task demo and events, which refuse it (env CODOMYRMEX_NATS_URL)')
  .option('--daemon <url>', "a daemon's HTTP address (its console, e.g. http://127.0.0.1:9464): commands talk to it over HTTP; without it, a command run where a daemon holds the store finds that daemon by itself (env CODOMYRMEX_DAEMON_URL; token from CODOMYRMEX_AUTH_TOKEN)")
  .option('--subject-prefix <prefix>', "the daemon's NATS subject prefix (default codomyrmex; env CODOMYRMEX_SUBJECT_PREFIX)")
  .option('--request-timeout <ms>', 'how long a request over NATS waits for its reply (default 30000)', parseInteger('--request-timeout', 1))
  .showSuggestionAfterError()
  .addHelpText(
    'after',
    `
Examples:
  codomyrmex workflow run ai-analysis --param path=src     analyse ./src, live
  codomyrmex workflow list --json                          the workflows, as JSON
  codomyrmex project create my-project --template web_application
  codomyrmex run show RUN_ID                               a finished run's steps
  codomyrmex mcp                                           the MCP server on stdio

Exit codes: 0 ok, 1 run failed / unhealthy, 2 bad input, 3 not found, 4 engine or store error (or no daemon
answers at --nats), 5 already exists, 130 interrupted.`,
  );

// `codomyrmex … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const cli = createContext(program);
registerWorkflowCommands(program, cli);
registerRunCommands(program, cli);
registerScheduleCommands(program, cli);
registerProjectCommands(program, cli);
registerTaskCommands(program, cli);
registerRateLimitCommands(program, cli);
registerInspectCommands(program, cli);
registerStoreCommands(program, cli);
registerStoreAdminCommands(program, () => cli.options());
registerMcpCommand(program, cli);
registerBenchCommand(program, cli);
registerWorkerCommands(program, cli);
registerDaemonCommand(program, {
  engineOptions: () => cli.options(),
  natsFlags: () => {
    const o = program.opts<GlobalFlags>();
    return { nats: o.nats, subjectPrefix: o.subjectPrefix, requestTimeout: o.requestTimeout };
  },
});

// Every command: usage errors exit 2 (not commander's 1), and print as JSON under --json.
const json = wantsJson();
const configure = (cmd: Command): void => {
  cmd.exitOverride().showSuggestionAfterError();
  if (json) cmd.configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  for (const sub of cmd.commands) configure(sub);
};
configure(program);

function report(error: SerializedError, exit: number): void {
  if (json) console.log(JSON.stringify({ error }, null, 2));
  else console.error(`codomyrmex: ${error.message}`);
  process.exitCode = exit;
}

program.parseAsync().catch((err: unknown) => {
  if (err instanceof CommanderError && !(err instanceof InvalidArgumentError)) {
    // --help and --version end here too, with exit code 0; commander printed the rest already unless --json.
    if (err.exitCode === 0) return;
    if (json) report(new UsageError(err.message.replace(/^error: /, ''), { data: { reason: err.code.replace(/^commander\./, '').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() } }).toJSON(), EXIT.usage);
    else process.exitCode = EXIT.usage;
    return;
  }
  const error = cliError(err);
  report({ ...error, message: inCliWords(error.message) }, exitCodeOf(err));
  // An error that is not ours is a bug: its stack helps.
  if (!json && exitCodeOf(err) === EXIT.engine && !(err instanceof CodomyrmexError)) console.error(err);
});
