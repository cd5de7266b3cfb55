/**
 * The CLI as a user drives it: a child process on a temp state folder; human and --json output, exit codes, the
 * live view in a pseudo-terminal (`script` from util-linux), and Ctrl-C.
 */
import { runCli } from '../support/cli.js';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';

const run = promisify(execFile);
const CLI = packagePath('dist', 'src', 'edges', 'cli', 'main.js');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const cli = (cwd: string, ...args: string[]) => runCli(cwd, args, { COLUMNS: '' });

const json = <T>(r: Ran): T => JSON.parse(r.stdout) as T;

describe('codomyrmex CLI commands', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-cli2-'));
    await writeFile(join(cwd, 'app.ts'), 'export function f(a: number) { return a > 1 ? a : 0; } // TODO\n');
    await mkdir(join(cwd, 'defs'));
    await writeFile(
      join(cwd, 'defs', 'extra.yaml'),
      'name: extra\nsteps:\n  - { name: a, module: core, action: echo }\n',
    );
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('prints its version; global flags work before and after the subcommand', async () => {
    const pkg = JSON.parse(await readFile(packagePath('package.json'), 'utf8')) as { version: string };
    const v = await cli(cwd, '--version');
    expect(v).toMatchObject({ code: 0 });
    expect(v.stdout.trim()).toBe(pkg.version);
    const after = await cli(cwd, 'workflow', 'list', '--store', 'memory', '--workflow-dir', 'defs', '--json');
    expect(after.code).toBe(0);
    expect(json<{ name: string }[]>(after).map((w) => w.name)).toEqual(
      expect.arrayContaining(['ai-analysis', 'extra']),
    );
    const before = await cli(cwd, '--workflow-dir', 'defs', '--store', 'memory', '--json', 'workflow', 'list');
    expect(json<{ name: string }[]>(before).map((w) => w.name)).toContain('extra');
  });

  it('workflow run --idempotency-key: a second process with the same key follows the first run instead of starting one', async () => {
    const runExtra = (key: string) =>
      cli(
        cwd,
        '--threads',
        '1',
        '--workflow-dir',
        'defs',
        'workflow',
        'run',
        'extra',
        '--idempotency-key',
        key,
        '--json',
      );
    const first = await runExtra('nightly-1');
    expect(first.code).toBe(0);
    const again = await runExtra('nightly-1');
    expect(again.code).toBe(0);
    expect(json<{ runId: string }>(again).runId).toBe(json<{ runId: string }>(first).runId);
    const other = await runExtra('nightly-2');
    expect(json<{ runId: string }>(other).runId).not.toBe(json<{ runId: string }>(first).runId);
    const runs = json<{ runId: string; workflowName: string }[]>(
      await cli(cwd, '--workflow-dir', 'defs', 'workflow', 'runs', '--json'),
    );
    expect(runs.filter((r) => r.workflowName === 'extra')).toHaveLength(2);
  });

  it('creates a rate limit that the next command finds in the store, lists and deletes it; refuses a bad --per', async () => {
    const created = await cli(cwd, 'ratelimit', 'create', 'github-api', '--limit', '30', '--per', '1m', '--json');
    expect(created.code).toBe(0);
    expect(json(created)).toMatchObject({ name: 'github-api', limit: 30, per: '1m' });
    const listed = await cli(cwd, 'ratelimit', 'list', '--json');
    expect(json<{ name: string }[]>(listed).map((l) => l.name)).toEqual(['github-api']);
    const bad = await cli(cwd, 'ratelimit', 'create', 'x', '--limit', '3', '--per', 'often');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/rateLimit\.per: must be a duration like "1s"/);
    expect(json(await cli(cwd, 'ratelimit', 'delete', 'github-api', '--json'))).toEqual({
      name: 'github-api',
      deleted: true,
    });
    expect(json(await cli(cwd, 'ratelimit', 'list', '--json'))).toEqual([]);
  });

  it('suggests the nearest command and flag; --json errors are JSON', async () => {
    const cmd = await cli(cwd, 'workflow', 'lisst');
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toMatch(/Did you mean list\?/);
    const flag = await cli(cwd, 'workflow', 'list', '--jsn');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Did you mean --json\?/);
    const asJson = await cli(cwd, '--json', 'projct', 'list');
    expect(asJson.code).toBe(2);
    expect(json(asJson)).toMatchObject({
      error: {
        name: 'UsageError',
        code: 'USAGE',
        retryable: false,
        data: { reason: 'UNKNOWN_COMMAND' },
        message: expect.stringMatching(/project/) as string,
      },
    });
    const notFound = await cli(cwd, '--store', 'memory', 'workflow', 'run', 'nope', '--json');
    expect(notFound.code).toBe(3);
    expect(json(notFound)).toEqual({
      error: {
        name: 'NotFoundError',
        code: 'NOT_FOUND',
        retryable: false,
        message: expect.stringMatching(/no workflow named "nope"/) as string,
      },
    });
    const badParams = await cli(
      cwd,
      '--store',
      'memory',
      'workflow',
      'run',
      'ai-analysis',
      '--params',
      '{nope',
      '--json',
    );
    expect(badParams.code).toBe(2);
    expect(json(badParams)).toMatchObject({
      error: { message: expect.stringMatching(/--params must be a JSON object/) as string },
    });
    const badParam = await cli(cwd, '--store', 'memory', 'task', 'run', 'core.echo', '--param', 'novalue');
    expect(badParam.code).toBe(2);
    expect(badParam.stderr).toMatch(/--param must be key=value/);
    const missing = await cli(cwd, '--store', 'memory', 'exec', 'missing.yaml', '--json');
    expect(missing.code).toBe(3);
    expect(json(missing)).toMatchObject({
      error: { code: 'NOT_FOUND', message: expect.stringMatching(/no such file/) as string },
    });
  });

  it('runs ai_analysis on a fixture with plain step lines, then shows, lists, explains and cancels the run', async () => {
    const human = await cli(cwd, '--threads', '1', 'workflow', 'run', 'ai_analysis', '--param', 'path=.');
    expect(human.code).toBe(0);
    for (const step of ['analyze_code', 'generate_insights', 'chart_analysis', 'write_report'])
      expect(human.stdout).toMatch(new RegExp(`^${step} completed in \\d+`, 'm'));
    expect(human.stdout).toMatch(/workflow ai-analysis v\d+ run \S+: succeeded in \d/);

    const r = await cli(cwd, '--threads', '1', 'workflow', 'run', 'ai-analysis', '--params', '{"path": "."}', '--json');
    expect(r.code).toBe(0);
    const result = json<{
      runId: string;
      success: boolean;
      steps: Record<string, { result: { totals: { files: number; todos: number } } }>;
    }>(r);
    expect(result.success).toBe(true);
    expect(result.steps['analyze_code']?.result.totals.todos).toBeGreaterThanOrEqual(1);

    const runs = json<{ runId: string }[]>(await cli(cwd, 'workflow', 'runs', '--json'));
    expect(runs.map((x) => x.runId)).toContain(result.runId);
    const shown = await cli(cwd, 'run', 'show', result.runId, '--json');
    expect(json(shown)).toMatchObject({ runId: result.runId, status: 'succeeded', params: { path: '.' } });
    expect((await cli(cwd, 'run', 'show', result.runId)).stdout).toMatch(/analyze_code\s+completed/);
    expect((await cli(cwd, 'run', 'show', 'nope')).code).toBe(3);
    const why = await cli(cwd, 'task', 'explain', `${result.runId}.analyze_code`, '--json');
    expect(json(why)).toMatchObject({ status: 'completed' });
    const cancel = await cli(cwd, 'run', 'cancel', result.runId, '--json');
    expect(json(cancel)).toMatchObject({ cancelled: false, status: 'succeeded' });
  }, 60_000);

  it('lists modules with parameter schemas, resources and sessions; status has units', async () => {
    const mods = await cli(cwd, 'modules', 'list', 'core', '--json');
    expect(
      json<{ action: string; params: { properties?: Record<string, unknown> } }[]>(mods).find(
        (a) => a.action === 'sleep',
      )?.params.properties,
    ).toHaveProperty('ms');
    expect((await cli(cwd, 'modules', 'list')).stdout).toMatch(/core\.sleep\s+ms: integer/);
    const res = await cli(cwd, '--store', 'memory', 'resources', 'list', '--json');
    expect(json<{ id: string }[]>(res).map((x) => x.id)).toEqual(expect.arrayContaining(['cpu', 'memory']));
    expect((await cli(cwd, '--store', 'memory', 'resources', 'list')).stdout).toMatch(/memory\s+memory\s+\d+ MB/);
    expect(json(await cli(cwd, '--store', 'memory', 'sessions', 'list', '--json'))).toEqual([]);
    const status = await cli(cwd, '--store', 'memory', 'orchestration', 'status');
    expect(status.stdout).toMatch(/uptimeSeconds\s+\d+(\.\d)? (ms|s)/);
    expect(status.stdout).toMatch(/\d+\.\d MB of \d+\.\d MB/);
  });

  it('exec runs a complex-workflow file; a failing run exits 1', async () => {
    await writeFile(
      join(cwd, 'complex.json'),
      JSON.stringify({
        steps: [
          { name: 'setup', module: 'core', action: 'echo' },
          { name: 'analyze', module: 'core', action: 'echo' },
        ],
        dependencies: { analyze: ['setup'] },
        parallel_groups: [['setup', 'analyze']],
      }),
    );
    const ok = await cli(cwd, '--store', 'memory', 'exec', 'complex.json', '--json');
    expect(ok.code).toBe(0);
    expect(json(ok)).toMatchObject({
      success: true,
      steps: { setup: { status: 'completed' }, analyze: { status: 'completed' } },
    });
    await writeFile(
      join(cwd, 'fails.yaml'),
      'name: fails\nsteps:\n  - { name: boom, module: core, action: fail, parameters: { retryable: false } }\n  - { name: after, module: core, action: echo, dependencies: [boom] }\n',
    );
    const bad = await cli(cwd, '--store', 'memory', 'exec', 'fails.yaml');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^boom failed/m);
    expect(bad.stdout).toMatch(/^after skipped/m);
  });

  it('draws the live view in a pseudo-terminal: one line per step, redrawn in place', async () => {
    const command = [
      process.execPath,
      CLI,
      '--threads',
      '1',
      '--store',
      'memory',
      'workflow',
      'run',
      'ai-analysis',
      '--param',
      'path=.',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const { stdout } = await run('script', ['-qfec', command, '/dev/null'], {
      cwd,
      env: { ...process.env, COLUMNS: '120' },
    });
    expect(stdout).toMatch(new RegExp(`${String.fromCharCode(27)}\\[\\d+A`)); // cursor up: the lines are redrawn
    for (const step of ['analyze_code', 'generate_insights', 'chart_analysis', 'write_report'])
      expect(stdout).toMatch(new RegExp(`✔ ${step}\\s+completed\\s+\\d+(\\.\\d)? m?s`));
    expect(stdout).toMatch(/succeeded in/);
  }, 60_000);

  it('Ctrl-C cancels the run and exits 130', async () => {
    await writeFile(
      join(cwd, 'slow.yaml'),
      'name: slow\nsteps:\n  - { name: nap, module: core, action: sleep, parameters: { ms: 30000 } }\n  - { name: next, module: core, action: echo, dependencies: [nap] }\n',
    );
    const child = spawn(process.execPath, [CLI, '--threads', '1', '--store', 'memory', 'exec', 'slow.yaml'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^nap running/m.test(out)) resolve();
      });
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(130);
    expect(out).toMatch(/^nap cancelled/m);
    expect(out).toMatch(/run \S+: cancelled/);
  }, 60_000);
});
