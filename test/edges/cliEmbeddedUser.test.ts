/**
 * What a new user meets on the embedded CLI: errors to act on (messages that name CLI commands, not library calls
 * or MCP tools; exit 5 for what already exists; exit 2 naming the valid values for an unknown `--status`), and
 * `task list` newest first, a page at a time; and the smaller things (status at 100 columns, where reports went, an
 * empty folder charted, a failed run's top-level error).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

let cwd: string;
const cli = (...args: string[]) => runCli(cwd, ['--threads', '1', ...args], { CODOMYRMEX_NATS_URL: '' });

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-cli-errors-'));
});

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('CLI errors', () => {
  it('name CLI commands, not library calls or MCP tools', async () => {
    const project = await cli('project', 'status', 'nope');
    expect(project.code).toBe(3);
    expect(project.stderr).toMatch(
      /no project named "nope"; create it with "codomyrmex project create NAME" or list them with "codomyrmex project list"/,
    );
    const plan = await cli('workflow', 'plan', 'nope');
    expect(plan.code).toBe(3);
    expect(plan.stderr).toMatch(/no workflow named "nope"; see "codomyrmex workflow list"/);
    for (const r of [project, plan])
      expect(r.stderr).not.toMatch(/createProject|listProjects|list_workflows|listWorkflows/);
  });

  it('exit 5 (ALREADY_EXISTS) for a project that already exists', async () => {
    const first = await cli('project', 'create', 'twice', '--template', 'web_application');
    expect(first.code).toBe(0);
    const again = await cli('project', 'create', 'twice', '--template', 'web_application', '--json');
    expect(again.code).toBe(5);
    expect(JSON.parse(again.stdout)).toMatchObject({
      error: {
        code: 'ALREADY_EXISTS',
        message: expect.stringMatching(/^name: a project named "twice" already exists/) as string,
      },
    });
  });

  it('an unknown --status exits 2 naming the valid ones, instead of listing nothing', async () => {
    const runs = await cli('workflow', 'runs', '--status', 'bogus');
    expect(runs.code).toBe(2);
    expect(runs.stderr).toMatch(/'bogus' is invalid. Allowed choices are running, succeeded, failed, cancelled/);
    const tasks = await cli('task', 'list', '--status', 'completed', 'bogus', '--json');
    expect(tasks.code).toBe(2);
    expect(JSON.parse(tasks.stdout)).toMatchObject({
      error: {
        code: 'USAGE',
        data: { reason: 'INVALID_ARGUMENT' },
        message: expect.stringMatching(/'bogus' is invalid. Allowed choices are pending, ready, running/) as string,
      },
    });
    const projects = await cli('project', 'list', '--status', 'bogus');
    expect(projects.code).toBe(2);
    const sessions = await cli('sessions', 'list', '--status', 'bogus');
    expect(sessions.code).toBe(2);
  });
});

describe('task list', () => {
  it('shows the newest tasks first, a page at a time', async () => {
    const demo = await cli('task', 'demo', '--json');
    expect(demo.code).toBe(0);
    const ran = await cli('task', 'run', 'core.echo', '--param', 'value=5', '--json');
    const newestId = (JSON.parse(ran.stdout) as { taskId: string }).taskId;
    const first = await cli('task', 'list', '--limit', '2', '--json');
    expect((JSON.parse(first.stdout) as { spec: { id: string; name: string } }[]).map((t) => t.spec.name)).toEqual([
      expect.stringMatching(/echo/) as string,
      'flaky',
    ]);
    expect(first.stdout).toContain(newestId);
    const second = await cli('task', 'list', '--limit', '2', '--offset', '2', '--json');
    expect((JSON.parse(second.stdout) as { spec: { name: string } }[]).map((t) => t.spec.name)).toEqual([
      'report',
      'analyze',
    ]);
  });
});

describe('smaller things a new user met', () => {
  it('orchestration status fits 100 columns without cutting a row, memory in MB', async () => {
    const r = await runCli(cwd, ['--threads', '1', 'orchestration', 'status'], {
      CODOMYRMEX_NATS_URL: '',
      COLUMNS: '100',
    });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100);
    expect(r.stdout).not.toContain('…');
    expect(r.stdout).toMatch(/resource memory, type memory, [\d.]+ MB of [\d.]+ MB/);
    for (const part of ['tasks', 'pool', 'resources']) expect(r.stdout).toMatch(new RegExp(`^${part} `, 'm'));
  });

  it('the seed’s complex workflow in a folder with no source files charts an empty analysis and succeeds; workflow run says where its reports went', async () => {
    const empty = join(cwd, 'empty');
    await mkdir(empty);
    await writeFile(
      join(empty, 'complex.json'),
      JSON.stringify({
        name: 'complex',
        steps: [
          { name: 'setup', module: 'environment_setup', action: 'check_environment' },
          { name: 'analyze', module: 'static_analysis', action: 'analyze_code_quality' },
          { name: 'visualize', module: 'data_visualization', action: 'create_chart' },
        ],
        dependencies: { analyze: ['setup'], visualize: ['analyze'] },
        parallel_groups: [['analyze', 'visualize']],
      }),
    );
    const ran = await runCli(empty, ['--threads', '1', 'exec', 'complex.json', '--json'], { CODOMYRMEX_NATS_URL: '' });
    expect(ran.code, ran.stdout.slice(-500)).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({
      status: 'succeeded',
      steps: { visualize: { status: 'completed', result: { panels: 0 } } },
    });

    // A source file to analyse: read by the run, so not among the files it says it wrote.
    await writeFile(join(empty, 'app.ts'), 'export const answer = 42;\n');
    const analysed = await runCli(empty, ['--threads', '1', 'workflow', 'run', 'ai-analysis'], {
      CODOMYRMEX_NATS_URL: '',
    });
    expect(analysed.code).toBe(0);
    const written = analysed.stdout.trimEnd().split('\n').at(-1);
    expect(written).toMatch(
      /^reports and files written: .*\.codomyrmex\/reports\/ai-analysis\.svg.*\.codomyrmex\/reports\/ai-analysis\.md/,
    );
    expect(written).not.toContain('app.ts');
  }, 60_000);

  it('a failed run’s result has a top-level error naming the failed step', async () => {
    await writeFile(
      join(cwd, 'failing.json'),
      JSON.stringify({
        name: 'failing',
        steps: [
          { name: 'ok', module: 'core', action: 'echo' },
          { name: 'boom', module: 'core', action: 'fail', parameters: { retryable: false }, dependencies: ['ok'] },
          { name: 'after', module: 'core', action: 'echo', dependencies: ['boom'] },
        ],
      }),
    );
    const r = await cli('exec', 'failing.json', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      status: 'failed',
      error: { step: 'boom', status: 'failed', code: 'NON_RETRYABLE', others: 1 },
    });
    const human = await cli('exec', 'failing.json');
    expect(human.stdout).toMatch(/^error: step "boom" failed: .* \(1 other step did not complete\)$/m);
  });
});
