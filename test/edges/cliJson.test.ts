/**
 * `--json` on every command: the command tree is read from `--help` itself (so a new command without a case here
 * fails the test), each command runs as a child process with `--json` before or after it, and its stdout must
 * parse as JSON (`events`: one JSON object per line).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type Ran } from '../support/cli.js';

let cwd: string;
const run = (args: string[]): Promise<Ran> =>
  runCli(cwd, ['--threads', '1', ...args], { CODOMYRMEX_NATS_URL: '', COLUMNS: '200' });

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-json-'));
  await mkdir(join(cwd, '.codomyrmex', 'workflows'), { recursive: true });
  const tiny =
    'name: tiny\nsteps:\n  - { name: one, module: core, action: echo, parameters: { value: 1 } }\n  - { name: two, module: core, action: echo, parameters: { value: 2 }, dependencies: [one] }\n';
  await writeFile(join(cwd, '.codomyrmex', 'workflows', 'tiny.yaml'), tiny);
  await writeFile(join(cwd, 'tiny.yaml'), tiny.replace('name: tiny', 'name: tiny-file'));
});

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

/** Long-running servers: they print logs (daemon, worker) or speak MCP on stdout until stopped. */
const SERVERS = new Set(['daemon', 'worker', 'mcp']);

/** The subcommands listed under "Commands:" in a help text (without `help`), with their usage. */
function subcommands(help: string): { name: string; usage: string }[] {
  const section = help.split(/^Commands:$/m)[1]?.split(/^\S/m)[0] ?? '';
  return section
    .split('\n')
    .map((l) => /^ {2}(\S+)((?: [[<]\S+[\]>])*)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[1] !== 'help')
    .map((m) => ({ name: m[1] ?? '', usage: m[2] ?? '' }));
}

/**
 * Every leaf command, as its words (`['workflow', 'list']`), read from the help texts. Only commands listed without
 * arguments or options may be groups, so only their help is read (each read is a process).
 */
async function leafCommands(path: string[] = []): Promise<string[][]> {
  const help = await run([...path, '--help']);
  expect(help.code).toBe(0);
  const subs = subcommands(help.stdout);
  if (subs.length === 0) return [path];
  const out: string[][] = [];
  for (const s of subs)
    out.push(...(s.usage === '' && !SERVERS.has(s.name) ? await leafCommands([...path, s.name]) : [[...path, s.name]]));
  return out;
}

describe('--json on every command', () => {
  it('prints JSON on stdout for every command of --help, before or after the command', async () => {
    const leaves = (await leafCommands()).filter((p) => !SERVERS.has(p[0] ?? ''));
    const ids: { runId?: string; taskId?: string } = {};
    // The arguments each command needs; functions read ids that earlier commands printed.
    const args: Record<string, () => string[]> = {
      'workflow list': () => [],
      'workflow create': () => ['tiny-copy', '--template', 'tiny'],
      'workflow run': () => ['tiny'],
      'workflow show': () => ['tiny', '--mermaid'],
      'workflow validate': () => ['tiny.yaml'],
      'workflow plan': () => ['tiny'],
      'workflow runs': () => ['--limit', '2'],
      'run show': () => [ids.runId ?? ''],
      'run artifacts': () => [ids.runId ?? ''],
      'run cancel': () => [ids.runId ?? ''],
      'run watch': () => [ids.runId ?? ''],
      // The run has ended: refused, as JSON.
      'run signal': () => [ids.runId ?? '', 'approval', '--data', '{"ok":true}'],
      'run retry': () => [ids.runId ?? ''],
      'schedule create': () => ['json-schedule', '--workflow', 'tiny', '--every', '1h'],
      'schedule list': () => [],
      'schedule show': () => ['json-schedule'],
      'schedule pause': () => ['json-schedule'],
      'schedule resume': () => ['json-schedule'],
      'schedule delete': () => ['json-schedule'],
      'schedule trigger': () => ['json-schedule'],
      'schedule backfill': () => ['json-schedule', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-01T02:00:00Z'],
      'trigger create': () => [
        'json-trigger',
        '--workflow',
        'tiny',
        '--http',
        '/hooks/json',
        '--secret',
        'a-secret-of-some-length',
      ],
      'trigger list': () => [],
      'trigger delete': () => ['json-trigger'],
      'trigger pause': () => ['json-trigger'],
      'trigger resume': () => ['json-trigger'],
      'ratelimit create': () => ['json-limit', '--limit', '5', '--per', '1m'],
      'ratelimit list': () => [],
      'ratelimit delete': () => ['json-limit'],
      exec: () => ['tiny.yaml'],
      'project list': () => [],
      'project templates': () => [],
      'project create': () => ['json-project', '--template', 'ai_analysis'],
      'project status': () => ['json-project'],
      'project run': () => ['json-project', 'ai-analysis'],
      'project archive': () => ['json-project'],
      'task run': () => ['core.echo', '--param', 'value=3'],
      'task demo': () => [],
      'task explain': () => [ids.taskId ?? ''],
      'task list': () => ['--limit', '3'],
      'orchestration status': () => [],
      'orchestration health': () => [],
      actions: () => [],
      'modules list': () => ['core'],
      'resources list': () => [],
      'sessions list': () => [],
      events: () => ['-n', '3'],
      bench: () => ['core.noop', '--tasks', '2', '--concurrency', '1', '--store', 'memory'],
      'workers list': () => [],
      'store migrate': () => [],
      // Needs a PostgreSQL target: without one, the usage error is JSON too.
      'store copy': () => [],
    };
    expect(
      leaves.map((p) => p.join(' ')).filter((c) => !(c in args)),
      'commands with no case in this test',
    ).toEqual([]);

    const failures: string[] = [];
    for (const [i, path] of leaves.entries()) {
      const key = path.join(' ');
      const argv = [...path, ...(args[key]?.() ?? [])];
      // Both placements, alternating; `task list` and `events` (which once read a --json of their own) both ways.
      const placements =
        key === 'task list' || key === 'events' ? ['before', 'after'] : [i % 2 === 0 ? 'after' : 'before'];
      for (const where of placements) {
        const r = await run(where === 'before' ? ['--json', ...argv] : [...argv, '--json']);
        try {
          const values =
            key === 'events'
              ? r.stdout
                  .trim()
                  .split('\n')
                  .filter(Boolean)
                  .map((l) => JSON.parse(l) as unknown)
              : [JSON.parse(r.stdout) as unknown];
          if (key === 'events') expect(values.length).toBeGreaterThan(0);
          const [first] = values as Record<string, unknown>[];
          if (key === 'workflow run') ids.runId = String(first?.['runId']);
          if (key === 'task run') ids.taskId = String(first?.['taskId']);
        } catch {
          failures.push(
            `${where === 'before' ? '--json ' : ''}${argv.join(' ')}${where === 'after' ? ' --json' : ''} (exit ${r.code}): ${r.stdout.slice(0, 200)} ${r.stderr.slice(0, 200)}`,
          );
        }
      }
    }
    expect(failures).toEqual([]);
    expect(ids.runId).toMatch(/^[0-9a-f-]{36}$/);
  }, 300_000);
});
