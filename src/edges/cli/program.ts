/**
 * The `codomyrmex` command tree: global flags and every command group, built without parsing anything (main.ts
 * parses; the CLI reference in docs/reference/cli.md is generated from this tree). Building it loads commander and
 * the command files only: an action imports the engine, a client or a store when it runs, so `--help` and
 * `--version` start in tens of milliseconds (test/edges/cliStart.test.ts lists what each loads; `npm run bench:cli`).
 */
import { Command } from 'commander';
import { packageVersion } from '../../config/options.js';
import { registerBenchCommand } from './bench.js';
import { createContext } from './context.js';
import type { CliContext, GlobalFlags } from './context.js';
import { registerDaemonCommand } from '../daemon/command.js';
import { registerWorkerCommands } from './worker.js';
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

/** Builds the program and the context its commands share. Nothing runs until `program.parseAsync()`. */
export function createProgram(): { program: Command; cli: CliContext } {
  const version = packageVersion();
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

  const program = new Command();
  program
    .name('codomyrmex')
    .description('Actor-based orchestration runtime: workflows, tasks and resources on a worker-thread pool')
    .version(version, '-V, --version', 'print the version')
    .option(
      '--json',
      'machine-readable output (errors too: { "error": { "name", "code", "message", "retryable", ... } })',
    )
    .option('--threads <n>', 'worker threads (default: the number of cores)', parseInteger('--threads', 1))
    .option('--module-dir <dir>', 'a folder to load user action modules from (repeatable)', collect)
    .option(
      '--allow-path <dir>',
      'a folder besides the projects folder (./projects) where projects may be created with --path / path (repeatable; env CODOMYRMEX_ALLOWED_PROJECT_ROOTS)',
      collect,
    )
    .option('--workflow-dir <dir>', 'one more folder of workflow definitions, YAML/JSON (repeatable)', collect)
    .option('--store <kind>', 'sqlite (default: durable, see --db), postgres (shared: --db postgres://...) or memory')
    .option(
      '--db <path|url>',
      'the SQLite database (default ./.codomyrmex/state.db; env CODOMYRMEX_DB), or a PostgreSQL URL (env CODOMYRMEX_DATABASE_URL)',
    )
    .option('--durability <mode>', 'strict (default: answer only once durable) or relaxed')
    .option(
      '--nats <url>',
      'NATS URL(s): `daemon` serves its command API there; every other command (mcp and bench too) then talks to that daemon instead of an embedded engine, except task demo and events, which refuse it (env CODOMYRMEX_NATS_URL)',
    )
    .option(
      '--daemon <url>',
      "a daemon's HTTP address (its console, e.g. http://127.0.0.1:9464): commands talk to it over HTTP; without it, a command run where a daemon holds the store finds that daemon by itself (env CODOMYRMEX_DAEMON_URL; token from CODOMYRMEX_AUTH_TOKEN)",
    )
    .option(
      '--subject-prefix <prefix>',
      "the daemon's NATS subject prefix (default codomyrmex; env CODOMYRMEX_SUBJECT_PREFIX)",
    )
    .option(
      '--request-timeout <ms>',
      'how long a request over NATS waits for its reply (default 30000)',
      parseInteger('--request-timeout', 1),
    )
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
  return { program, cli };
}
