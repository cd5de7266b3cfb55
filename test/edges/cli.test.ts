import { runCli } from '../support/cli.js';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const cli = (cwd: string, ...args: string[]) => runCli(cwd, ['--threads', '1', ...args]);

describe('codomyrmex CLI', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-cli-'));
    await writeFile(join(cwd, 'app.ts'), 'export const x = 1; // TODO: more\n\nexport const y = 2;\n');
  });

  it('task run prints a JSON result and exits 0, or 1 when the task fails', async () => {
    const ok = await cli(cwd, 'task', 'run', 'core.echo', '--params', '{"value": "hi"}', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'completed', success: true, result: 'hi' });
    const timedOut = await cli(cwd, 'task', 'run', 'core.sleep', '-p', '{"ms": 60000}', '--timeout', '0.2', '--json');
    expect(timedOut.code).toBe(1);
    expect(JSON.parse(timedOut.stdout)).toMatchObject({ status: 'timed_out' });
  });

  it('refuses bad input with the field named and exit code 2', async () => {
    const bad = await cli(cwd, 'task', 'run', 'core.sleep', '-p', '{"ms": "soon"}');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('parameters.ms: Expected number, received string');
    const notJson = await cli(cwd, 'task', 'run', 'core.echo', '-p', '{oops');
    expect(notJson.code).not.toBe(0);
    expect(notJson.stderr).toMatch(/--params must be a JSON object/);
  });

  it('creates a workflow from the ai-analysis template, runs it on real files, and shows it', async () => {
    const list = await cli(cwd, 'workflow', 'list', '--json');
    expect((JSON.parse(list.stdout) as { name: string }[]).map((w) => w.name)).toEqual(
      expect.arrayContaining(['ai-analysis', 'build-and-test']),
    );
    const created = await cli(cwd, 'workflow', 'create', 'my-analysis', '--template', 'ai-analysis');
    expect(created.code).toBe(0);
    expect(await readFile(join(cwd, '.codomyrmex', 'workflows', 'my-analysis.yaml'), 'utf8')).toMatch(
      /name: my-analysis/,
    );
    const again = await cli(cwd, 'workflow', 'create', 'my-analysis', '--template', 'ai-analysis');
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/already exists; pick another name or pass --force/);

    const result = await cli(cwd, 'workflow', 'run', 'my-analysis', '--json');
    expect(result.code).toBe(0);
    const r = JSON.parse(result.stdout) as {
      status: string;
      steps: Record<string, { result: Record<string, unknown> }>;
    };
    expect(r.status).toBe('succeeded');
    expect(r.steps['analyze_code']?.result['totals']).toMatchObject({
      files: 1,
      lines: 3,
      code: 2,
      blank: 1,
      todos: 1,
    });
    expect(r.steps['generate_insights']?.result['summary']).toMatch(/^1 files, 3 lines, 0 functions: /);
    expect(await readFile(join(cwd, '.codomyrmex', 'reports', 'my-analysis.svg'), 'utf8')).toMatch(/^<svg/);
    expect(await readFile(join(cwd, '.codomyrmex', 'reports', 'my-analysis.md'), 'utf8')).toContain('## Findings');

    const shown = await cli(cwd, 'workflow', 'show', 'my-analysis', '--mermaid');
    expect(shown.stdout).toContain('graph TD');
    expect(shown.stdout).toContain('n0 --> n1');
  });

  it('validates a definition file, listing every problem', async () => {
    await writeFile(
      join(cwd, 'bad.yaml'),
      'name: etl\nsteps:\n  - { name: extract, module: core, action: noop }\n  - { name: load, module: core, action: noop, dependencies: [extrac] }\n',
    );
    const v = await cli(cwd, 'workflow', 'validate', 'bad.yaml');
    expect(v.code).toBe(2);
    expect(v.stdout).toContain(
      'error: workflow "etl": step "load" depends on unknown step "extrac" (did you mean "extract"?)',
    );
  });

  it('orchestration health checks every component for real; status reports the parts', async () => {
    const health = await cli(cwd, 'orchestration', 'health', '--json');
    expect(health.code).toBe(0);
    const h = JSON.parse(health.stdout) as { overallStatus: string; components: Record<string, { status: string }> };
    expect(h.overallStatus).toBe('healthy');
    expect(Object.keys(h.components)).toEqual(expect.arrayContaining(['pool', 'store', 'bus', 'queue']));
    const status = await cli(cwd, 'orchestration', 'status', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({
      state: 'running',
      pool: { threads: 1 },
      workflows: { registered: expect.any(Number) as number },
    });
  });

  it('refuses to run an unknown workflow', async () => {
    const r = await cli(cwd, 'workflow', 'run', 'nope');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no workflow named "nope"/);
  });
});
