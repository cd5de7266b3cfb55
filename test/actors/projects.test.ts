/**
 * The ProjectManager on a real engine: the shipped templates scaffold their trees on disk and their workflows run
 * in the project's folder; status, milestones, config, archive, and every kind of bad input.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine, Project } from '../../src/index.js';
import { NotFoundError, ValidationError } from '../../src/index.js';
import { packagePath } from '../../src/config/options.js';
import { listTarball } from '../../src/projects/archive.js';
import { recordEvents, testEngine } from '../helpers.js';
import { tempDirs } from '../store/helpers.js';

const dirs = tempDirs();
let engine: OrchestrationEngine;
let root: string;
let log: ReturnType<typeof recordEvents>;

beforeAll(async () => {
  root = dirs.make('projects');
  engine = testEngine({ workflowDirs: [packagePath('config', 'workflows')], projectsDir: root });
  log = recordEvents(engine);
  await engine.ready();
});
afterAll(async () => {
  log.stop();
  await engine.shutdown({ graceMs: 0 });
  dirs.cleanup();
});

async function tree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory()) out.push(`${rel}/`, ...(await tree(dir, `${rel}/`)));
    else out.push(rel);
  }
  return out.sort();
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('ProjectManager', () => {
  it('lists the three shipped templates and reads one', async () => {
    const pm = engine.getProjectManager();
    const list = await pm.listTemplates();
    expect(list.map((t) => t.name)).toEqual(['ai_analysis', 'data_pipeline', 'web_application']);
    expect(list.every((t) => t.errors.length === 0)).toBe(true);
    const t = await pm.getTemplate('data_pipeline');
    expect(t.workflows).toEqual(['data-processing', 'visualization']);
    expect(t.defaultConfig).toMatchObject({ processing: { batch_size: 1000 } });
  });

  it('ai_analysis: scaffolds its tree, renders its files, and its workflows run in the project folder', async () => {
    const pm = engine.projects;
    const project = await pm.createProject({
      name: 'my_ai_project',
      templateName: 'ai_analysis',
      description: 'AI-powered code analysis project',
      tags: ['demo'],
    });
    expect(project.name).toBe('my_ai_project');
    expect(project.path).toBe(join(root, 'my_ai_project'));
    const files = await tree(project.path);
    expect(files).toEqual(
      expect.arrayContaining([
        '.codomyrmex/project.json',
        'README.md',
        'package.json',
        'src/analyzer.js',
        'src/README.md',
        'tests/analyzer.test.js',
        'config/analysis.json',
        'data/',
        'output/',
        'reports/README.md',
      ]),
    );
    expect(JSON.parse(await readFile(join(project.path, 'package.json'), 'utf8'))).toMatchObject({
      name: 'my_ai_project',
      description: 'AI-powered code analysis project',
    });
    expect(JSON.parse(await readFile(join(project.path, 'config', 'analysis.json'), 'utf8'))).toMatchObject({
      max_file_size: '1MB',
    });
    expect(await readFile(join(project.path, 'src', 'analyzer.js'), 'utf8')).toContain('max = 120');
    expect(await readFile(join(project.path, 'src', 'README.md'), 'utf8')).toContain(
      'Up: [my_ai_project](../README.md)',
    );
    const manifest = JSON.parse(await readFile(join(project.path, '.codomyrmex', 'project.json'), 'utf8')) as Project;
    expect(manifest).toMatchObject({
      name: 'my_ai_project',
      template: 'ai_analysis',
      status: 'active',
      workflows: ['ai-analysis', 'build-and-test'],
    });
    expect(log.of('project_created').map((e) => e.data.name)).toContain('my_ai_project');

    const analysis = await engine.executeProjectWorkflow('my_ai_project', 'ai-analysis');
    expect(analysis.status).toBe('succeeded');
    const analyzed = analysis.steps['analyze_code']?.result as { files: { path: string }[] };
    // Its own files, not the engine's cwd: analyzer.js and its test, nothing else.
    const analyzedPaths = analyzed.files.map((f) => f.path.split('/').slice(-2).join('/'));
    expect(analyzedPaths).toEqual(expect.arrayContaining(['src/analyzer.js', 'tests/analyzer.test.js']));
    // Nothing of the engine's own cwd (this repository's sources) was analysed.
    expect(analyzed.files.every((f) => !f.path.includes('actors/') && !f.path.includes('node_modules'))).toBe(true);
    expect(analyzed.files.length).toBeLessThan(20);
    expect(existsSync(join(project.path, '.codomyrmex', 'reports', 'ai-analysis.svg'))).toBe(true);

    const build = await engine.executeProjectWorkflow('my_ai_project', 'build-and-test');
    expect(build.status).toBe('succeeded');
    expect((build.steps['test']?.result as { stdout: string }).stdout).toMatch(/pass 2/);

    const status = await pm.getProjectStatus('my_ai_project');
    expect(
      status.workflows.map((w) => [w.name, w.registered, w.runs, w.successes, w.lastRun?.runId, w.lastRun?.status]),
    ).toEqual([
      ['ai-analysis', true, 1, 1, analysis.runId, 'succeeded'],
      ['build-and-test', true, 1, 1, build.runId, 'succeeded'],
    ]);
    expect(status.files.missing).toEqual([]);
    expect(status.files.present).toBe(status.files.expected);
    expect(status.modules.missing).toEqual([]);
    expect(status.runsInFlight).toBe(0);
  }, 60_000);

  it('data_pipeline: its workflows process the sample data with the project config and chart it', async () => {
    const project = await engine.projects.createProject({
      name: 'sales',
      templateName: 'data_pipeline',
      config: { processing: { batch_size: 2 } },
    });
    expect(await tree(project.path)).toEqual(
      expect.arrayContaining([
        'data/raw/sales.csv',
        'data/processed/',
        'data/output/',
        'notebooks/README.md',
        'pipelines/process.js',
      ]),
    );
    expect(JSON.parse(await readFile(join(project.path, 'config', 'pipeline.json'), 'utf8'))).toMatchObject({
      processing: { batch_size: 2, parallel: false },
    });

    const processed = await engine.executeProjectWorkflow('sales', 'data-processing');
    expect(processed.status).toBe('succeeded');
    expect(JSON.parse((processed.steps['process']?.result as { stdout: string }).stdout)).toMatchObject({
      files: 1,
      rows: 6,
      batchSize: 2,
    });
    expect(JSON.parse(await readFile(join(project.path, 'data', 'processed', 'sales.json'), 'utf8'))).toMatchObject({
      totals: { books: 39.75, games: 55, music: 9.99 },
    });

    const chart = await engine.executeProjectWorkflow('sales', 'visualization');
    expect(chart.status).toBe('succeeded');
    expect(await readFile(join(project.path, 'data', 'output', 'data-profile.svg'), 'utf8')).toContain(
      'sales: data files under data',
    );
  }, 60_000);

  it('web_application: builds, tests, and deploys as a dry run', async () => {
    const project = await engine.projects.createProject({
      name: 'webapp',
      templateName: 'web_application',
      description: 'A site',
    });
    expect(await tree(project.path)).toEqual(
      expect.arrayContaining([
        'frontend/index.html',
        'backend/server.js',
        'database/schema.sql',
        'deploy/build.js',
        'docs/README.md',
        'tests/server.test.js',
      ]),
    );
    expect(await readFile(join(project.path, 'frontend', 'index.html'), 'utf8')).toContain('<title>webapp</title>');
    const built = await engine.executeProjectWorkflow('webapp', 'build-and-test');
    expect(built.status).toBe('succeeded');
    const deploy = await engine.executeProjectWorkflow('webapp', 'deploy');
    expect(deploy.status).toBe('succeeded');
    const plan = deploy.steps['plan']?.result as { dry_run: boolean; target: string; package: string };
    expect(plan).toMatchObject({ dry_run: true, target: 'docker' });
    const packed = JSON.parse(plan.package) as { files: { path: string }[] }[];
    expect(packed[0]?.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['dist/public/index.html', 'backend/server.js']),
    );
  }, 90_000);

  it('milestones: add, update, complete by hand and by a workflow run; progress as a fraction', async () => {
    const pm = engine.projects;
    await pm.createProject({ name: 'milestoned', templateName: 'ai_analysis' });
    await pm.addMilestone('milestoned', {
      name: 'scaffolded',
      description: 'the tree is there',
      criteria: ['README present'],
    });
    await pm.addMilestone('milestoned', { name: 'analyzed', workflows: ['ai-analysis'], dueDate: '2030-01-31' });
    const updated = await pm.updateMilestone('milestoned', 'scaffolded', { dueDate: '2030-01-01' });
    expect(updated).toMatchObject({ dueDate: '2030-01-01', status: 'open', criteria: ['README present'] });
    expect((await pm.getProjectStatus('milestoned')).milestones).toMatchObject({ total: 2, completed: 0, fraction: 0 });

    const done = await pm.completeMilestone('milestoned', 'scaffolded');
    expect(done.status).toBe('completed');
    expect((await pm.getProjectStatus('milestoned')).milestones.fraction).toBe(0.5);

    const run = await engine.executeProjectWorkflow('milestoned', 'ai-analysis');
    expect(run.status).toBe('succeeded');
    const status = await pm.getProjectStatus('milestoned');
    expect(status.milestones).toMatchObject({ total: 2, completed: 2, fraction: 1 });
    expect(status.milestones.items.find((m) => m.name === 'analyzed')?.satisfiedBy).toEqual({
      'ai-analysis': run.runId,
    });
    const completed = log.of('milestone_completed').filter((e) => e.data.project === 'milestoned');
    expect(completed.map((e) => [e.data.milestone, e.data.byRun])).toEqual([
      ['scaffolded', null],
      ['analyzed', run.runId],
    ]);

    const twice = await rejection(pm.completeMilestone('milestoned', 'analyzed'));
    expect(twice).toBeInstanceOf(ValidationError);
    expect(twice.message).toMatch(/already completed/);
    expect(await rejection(pm.addMilestone('nope', { name: 'x' }))).toBeInstanceOf(NotFoundError);
    expect(
      (await rejection(pm.addMilestone('milestoned', { name: 'bad', workflows: ['ai-analysys'] }))).message,
    ).toMatch(/did you mean "ai-analysis"/);
    expect((await rejection(pm.addMilestone('milestoned', { name: 'late', dueDate: 'tomorrow' }))).message).toMatch(
      /milestone.dueDate: must be an ISO date/,
    );
  }, 60_000);

  it('config: defaults merged with overrides, get and set by dotted key, checked and saved to the manifest', async () => {
    const pm = engine.projects;
    const p = await pm.createProject({
      name: 'configured',
      templateName: 'ai_analysis',
      config: { analysis: { max_file_size: '2MB' }, extra: { on: true } },
    });
    expect(await pm.getProjectConfig('configured', 'analysis.max_file_size')).toBe('2MB');
    expect(await pm.getProjectConfig('configured', 'analysis.max_line_length')).toBe(120);
    expect(await pm.getProjectConfig('configured', 'extra.on')).toBe(true);
    await pm.setProjectConfig('configured', 'analysis.max_file_size', '5MB');
    await pm.setProjectConfig('configured', 'new.nested.key', [1, 2]);
    const manifest = JSON.parse(await readFile(join(p.path, '.codomyrmex', 'project.json'), 'utf8')) as Project;
    expect(manifest.config).toMatchObject({ analysis: { max_file_size: '5MB' }, new: { nested: { key: [1, 2] } } });

    expect((await rejection(pm.getProjectConfig('configured', 'analysis.max_file_sise'))).message).toMatch(
      /did you mean "analysis.max_file_size"/,
    );
    expect((await rejection(pm.setProjectConfig('configured', 'analysis.max_line_length', 'long'))).message).toMatch(
      /must be a number like the template's default \(120\)/,
    );
    expect((await rejection(pm.setProjectConfig('configured', 'analysis.max_file_size.unit', 'MB'))).message).toMatch(
      /"analysis.max_file_size" is a string/,
    );
    expect((await rejection(pm.setProjectConfig('configured', 'a..b', 1))).message).toMatch(/bad segment/);
    expect(
      (await rejection(pm.createProject({ name: 'badcfg', config: { ai: { top_findings: 'many' } } }))).message,
    ).toMatch(/config: value of "ai.top_findings": must be a number/);
    expect(existsSync(join(root, 'badcfg'))).toBe(false);
  });

  it('archive: status archived, a tarball that lists the files; twice is refused', async () => {
    const pm = engine.projects;
    const p = await pm.createProject({ name: 'to_archive', templateName: 'data_pipeline', tags: ['old'] });
    const archived = await pm.archiveProject('to_archive', { tarball: true });
    expect(archived).toMatchObject({ status: 'archived', archivePath: join(root, 'archives', 'to_archive.tar.gz') });
    const entries = await listTarball(archived.archivePath ?? '');
    expect(entries).toEqual(
      expect.arrayContaining([
        'to_archive/data/raw/sales.csv',
        'to_archive/.codomyrmex/project.json',
        'to_archive/pipelines/process.js',
      ]),
    );
    expect(log.of('project_archived').map((e) => e.data)).toContainEqual({
      name: 'to_archive',
      path: p.path,
      archivePath: archived.archivePath,
    });
    expect((await rejection(pm.archiveProject('to_archive'))).message).toMatch(/already archived/);
    expect((await rejection(engine.executeProjectWorkflow('to_archive', 'data-processing'))).message).toMatch(
      /archived; it cannot run workflows/,
    );
    expect((await pm.listProjects({ status: 'archived' })).map((x) => x.name)).toEqual(['to_archive']);
    expect((await pm.listProjects({ tag: 'old' })).map((x) => x.name)).toEqual(['to_archive']);
    expect((await pm.listProjects({ status: 'active' })).map((x) => x.name)).not.toContain('to_archive');
  });

  it('keeps a project folder inside the projects folder or an allowed root, links followed', async () => {
    const outside = dirs.make('outside');
    const other = testEngine({
      workflowDirs: [packagePath('config', 'workflows')],
      projectsDir: root,
      allowedProjectRoots: [join(outside, 'ok')],
    });
    try {
      await other.ready();
      await symlink(outside, join(root, 'link-out'));
      for (const path of [join(outside, 'a'), join(root, '..', 'outside', 'a'), join(root, 'link-out', 'a'), outside]) {
        const err = await rejection(other.projects.createProject({ name: 'escape1', path }));
        expect(err, path).toBeInstanceOf(ValidationError);
        expect(err.message, path).toBe(
          `path: ${path} is outside the projects folder ${root} and the allowed roots ${join(outside, 'ok')}; put the project under it, or allow that folder: engine option allowedProjectRoots: ['${dirname(path)}'], CLI (and daemon, mcp) --allow-path ${dirname(path)}, or env CODOMYRMEX_ALLOWED_PROJECT_ROOTS`,
        );
      }
      expect(await readdir(outside)).toEqual([]);
      const ok = await other.projects.createProject({ name: 'allowed1', path: join(outside, 'ok', 'allowed1') });
      expect(existsSync(join(ok.path, '.codomyrmex', 'project.json'))).toBe(true);
      expect((await other.projects.createProject({ name: 'nested1', path: join(root, 'group', 'nested1') })).path).toBe(
        join(root, 'group', 'nested1'),
      );
    } finally {
      await other.shutdown({ graceMs: 0 });
    }
  });

  it('refuses bad input with the field named, leaving nothing on disk', async () => {
    const pm = engine.projects;
    const before = await readdir(root);
    for (const name of ['../escape', 'a/b', '/etc/passwd', 'bad\u0007name', 'CON', '..', '', '.codomyrmex']) {
      const err = await rejection(pm.createProject({ name, templateName: 'ai_analysis' }));
      expect(err, name).toBeInstanceOf(ValidationError);
      expect(err.message, name).toMatch(/^name: /);
    }
    const unknown = await rejection(pm.createProject({ name: 'x1', templateName: 'ai_analisys' }));
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(unknown.message).toMatch(
      /templateName: no template named "ai_analisys" \(did you mean "ai_analysis"\?\); known templates: ai_analysis, data_pipeline, web_application/,
    );
    expect((await rejection(pm.createProject({ name: 'my_ai_project' }))).message).toMatch(
      /name: a project named "my_ai_project" already exists/,
    );
    const busy = join(root, 'busy');
    await mkdir(busy);
    await writeFile(join(busy, 'keep.txt'), 'mine');
    expect((await rejection(pm.createProject({ name: 'busy' }))).message).toMatch(
      /path: the folder .* exists and is not empty .* pass force: true/,
    );
    expect(await readdir(busy)).toEqual(['keep.txt']);
    expect((await rejection(pm.createProject({ name: 'x2', tags: ['has space'] }))).message).toMatch(
      /createProject.tags\[0\]/,
    );
    expect((await rejection(engine.executeProjectWorkflow('my_ai_project', 'deploy'))).message).toMatch(
      /workflow: project "my_ai_project" has no workflow "deploy"; its workflows: ai-analysis, build-and-test/,
    );
    expect(await readdir(root)).toEqual([...before, 'busy'].sort());

    const forced = await pm.createProject({ name: 'busy', force: true });
    expect(await readFile(join(forced.path, 'keep.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(forced.path, '.codomyrmex', 'project.json'))).toBe(true);
  });

  it('counts projects in getMetrics() and deletes with their files when asked', async () => {
    const metrics = await engine.getMetrics();
    const all = await engine.projects.listProjects();
    expect(metrics.projects).toMatchObject({ total: all.length, byStatus: { archived: 1, active: all.length - 1 } });
    const p = await engine.projects.createProject({ name: 'doomed', templateName: 'ai_analysis' });
    expect(await engine.projects.deleteProject('doomed', { removeFiles: true })).toEqual({
      deleted: true,
      removedFiles: true,
    });
    expect(existsSync(p.path)).toBe(false);
    expect(await engine.projects.getProject('doomed')).toBeNull();
    expect((await engine.getMetrics()).projects.total).toBe(all.length);
  });
});
