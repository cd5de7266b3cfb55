#!/usr/bin/env node
/**
 * The `codomyrmex` command line. One file per command group; global flags (and `--json`) go before or after the
 * subcommand. Exit codes: see {@link EXIT} in context.ts.
 */
import type { Command } from 'commander';
import { CommanderError, InvalidArgumentError } from 'commander';
import type { SerializedError } from '../../errors.js';
import { CodomyrmexError, UsageError } from '../../errors.js';
import { cliError, EXIT, exitCodeOf, wantsJson } from './context.js';
import { inCliWords } from './hints.js';
import { createProgram } from './program.js';

const { program } = createProgram();

// `codomyrmex … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
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
    if (json)
      report(
        new UsageError(err.message.replace(/^error: /, ''), {
          data: {
            reason: err.code
              .replace(/^commander\./, '')
              .replace(/([a-z])([A-Z])/g, '$1_$2')
              .toUpperCase(),
          },
        }).toJSON(),
        EXIT.usage,
      );
    else process.exitCode = EXIT.usage;
    return;
  }
  const error = cliError(err);
  report({ ...error, message: inCliWords(error.message) }, exitCodeOf(err));
  // An error that is not ours is a bug: its stack helps.
  if (!json && exitCodeOf(err) === EXIT.engine && !(err instanceof CodomyrmexError)) console.error(err);
});
