/**
 * The seed's ProjectManager examples, as written: the process engine's `getProjectManager()`, `createProject` with
 * `name`, `templateName`, `description`, then `getProjectStatus("my_ai_project")`; and the quick start's
 * `web_application` project. The process engine keeps its state in SQLite; here its files go to a temp folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getOrchestrationEngine, getProjectManager } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-seed-projects-'));
process.env['CODOMYRMEX_DB'] = join(dir, 'state.db');
process.env['CODOMYRMEX_PROJECTS_DIR'] = join(dir, 'projects');
process.env['CODOMYRMEX_THREADS'] = '1';

afterAll(async () => {
  await getOrchestrationEngine().shutdown({ graceMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

describe("the seed's ProjectManager examples", () => {
  it('creates my_ai_project from ai_analysis and reports its status', async () => {
    // Get project manager
    const projectManager = getProjectManager();

    // Create project from template
    const project = await projectManager.createProject({
      name: 'my_ai_project',
      templateName: 'ai_analysis',
      description: 'AI-powered code analysis project',
    });

    // Get project status
    const status = await projectManager.getProjectStatus('my_ai_project');

    expect(project.name).toBe('my_ai_project');
    expect(status).toMatchObject({
      name: 'my_ai_project',
      status: 'active',
      template: 'ai_analysis',
      description: 'AI-powered code analysis project',
      path: join(dir, 'projects', 'my_ai_project'),
    });
    expect(status.workflows.map((w) => w.name)).toEqual(['ai-analysis', 'build-and-test']);
    expect(status.files.missing).toEqual([]);
  });

  it('creates my_project from web_application (quick start)', async () => {
    const projectManager = getProjectManager();
    const project = await projectManager.createProject({ name: 'my_project', templateName: 'web_application' });
    expect(`Created project: ${project.name}`).toBe('Created project: my_project');
    expect(getOrchestrationEngine().store.kind).toBe('sqlite');
  });
});
