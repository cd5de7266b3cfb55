import { runCli } from '../support/cli.js';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = (cwd: string, ...args: string[]) => runCli(cwd, ['--threads', '1', ...args]);

describe('codomyrmex project CLI', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-project-cli-'));
  });
  afterAll(() => rm(cwd, { recursive: true, force: true }));

  it('creates, lists, runs, reports and archives a project, state kept between commands', async () => {
    const created = await cli(cwd, 'project', 'create', 'my-project', '--template', 'web_application', '--json');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      name: 'my-project',
      template: 'web_application',
      path: join(cwd, 'projects', 'my-project'),
    });
    expect(existsSync(join(cwd, 'projects', 'my-project', 'backend', 'server.js'))).toBe(true);

    const list = await cli(cwd, 'project', 'list', '--json');
    expect((JSON.parse(list.stdout) as { name: string }[]).map((p) => p.name)).toEqual(['my-project']);

    const ran = await cli(cwd, 'project', 'run', 'my-project', 'build-and-test', '--json');
    expect(ran.code).toBe(0);
    const status = JSON.parse((await cli(cwd, 'project', 'status', 'my-project', '--json')).stdout) as {
      workflows: { name: string; runs: number }[];
    };
    expect(status.workflows).toContainEqual(expect.objectContaining({ name: 'build-and-test', runs: 1 }));

    const archived = await cli(cwd, 'project', 'archive', 'my-project', '--tarball', '--json');
    expect(archived.code).toBe(0);
    expect(existsSync(join(cwd, 'projects', 'archives', 'my-project.tar.gz'))).toBe(true);
    const again = await cli(cwd, 'project', 'archive', 'my-project');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already archived/);
  }, 60_000);

  it('refuses --path outside the projects folder (exit 2, saying how to allow it) and takes it under --allow-path', async () => {
    const away = join(cwd, 'away');
    const refused = await cli(cwd, 'project', 'create', 'far', '--path', join(away, 'far'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `path: ${join(away, 'far')} is outside the projects folder ${join(cwd, 'projects')}; put the project under it, or allow that folder: engine option allowedProjectRoots: ['${away}'], CLI (and daemon, mcp) --allow-path ${away}`,
    );
    expect(existsSync(away)).toBe(false);
    const allowed = await cli(
      cwd,
      '--allow-path',
      away,
      'project',
      'create',
      'far',
      '--path',
      join(away, 'far'),
      '--json',
    );
    expect(allowed.code).toBe(0);
    expect(existsSync(join(away, 'far', '.codomyrmex', 'project.json'))).toBe(true);
  }, 60_000);

  it('refuses a bad name (exit 2) and an unknown template (exit 3, not found) with the field named', async () => {
    const bad = await cli(cwd, 'project', 'create', '../evil');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/name: "..\/evil" holds ".." \(path traversal\)/);
    const unknown = await cli(cwd, 'project', 'create', 'x', '--template', 'web_app');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(
      /templateName: no template named "web_app".*known templates: ai_analysis, data_pipeline, web_application/,
    );
    expect(existsSync(join(cwd, 'projects', 'x'))).toBe(false);
  });
});
