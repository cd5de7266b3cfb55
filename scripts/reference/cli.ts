/**
 * The CLI reference (docs/reference/cli.md), read from the commander tree that `codomyrmex` parses: every command
 * with its usage, description, arguments and options, as commander's own help describes them.
 */
import type { Command } from 'commander';
import { Help } from 'commander';
import { createProgram } from '../../src/edges/cli/program.js';
import { generatedBanner, table } from './markdown.js';

/** Every command below `cmd` (depth first, in declaration order), without the implicit `help` command. */
function walk(cmd: Command): Command[] {
  return cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden).flatMap((c) => [c, ...walk(c)]);
}

function path(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function section(cmd: Command, help: Help, level: number): string {
  const parts = [
    `${'#'.repeat(level)} ${path(cmd)}`,
    '',
    help.commandDescription(cmd),
    '',
    '```text\n' + help.commandUsage(cmd) + '\n```',
  ];
  const args = help.visibleArguments(cmd);
  if (args.length > 0)
    parts.push(
      '',
      table(
        ['argument', 'description'],
        args.map((a) => [`\`${help.argumentTerm(a)}\``, help.argumentDescription(a)]),
      ),
    );
  // -h, --help is on every command: said once, at the top.
  const options = help.visibleOptions(cmd).filter((o) => o.long !== '--help');
  if (options.length > 0)
    parts.push(
      '',
      table(
        ['option', 'description'],
        options.map((o) => [`\`${help.optionTerm(o)}\``, help.optionDescription(o)]),
      ),
    );
  const subs = help.visibleCommands(cmd).filter((c) => c.name() !== 'help');
  if (subs.length > 0)
    parts.push(
      '',
      table(
        ['command', 'what it does'],
        subs.map((c) => [`[${c.name()}](#${anchor(path(c))})`, help.subcommandDescription(c)]),
      ),
    );
  return parts.join('\n');
}

/** GitHub's anchor of a heading made of words and spaces. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

/** The page, from a program (default: the real one). */
export function cliReference(program: Command = createProgram().program): string {
  const help = new Help();
  const out = [
    generatedBanner('the commander tree in src/edges/cli/program.ts'),
    '',
    '# CLI reference',
    '',
    'Every `codomyrmex` command, its arguments and options. Global options (the first table) go before or after the',
    'subcommand; every command also takes `-h, --help`. How to use them by task: [the CLI guide](../cli.md).',
    '',
    section(program, help, 2),
  ];
  for (const cmd of walk(program)) out.push('', section(cmd, help, Math.min(2 + path(cmd).split(' ').length - 1, 4)));
  return out.join('\n') + '\n';
}
