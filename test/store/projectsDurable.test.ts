/**
 * Projects and their milestones live in the SQLite store: a new engine on the same file has them, with their runs,
 * config and milestone progress, and can go on working with them.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { createOrchestrationEngine } from '../../src/index.js';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

describe('projects across a restart', () => {
  it('keeps projects, milestones, config and run counts in a real SQLite file', async () => {
    const dir = dirs.make('projects-db');
    const options = {
      store: 'sqlite' as const,
      dbPath: join(dir, 'state.db'),
      projectsDir: join(dir, 'projects'),
      threads: 1,
      workflowDirs: [packagePath('config', 'workflows')],
    };
    const a = createOrchestrationEngine(options);
    try {
      await a.projects.createProject({ name: 'kept', templateName: 'data_pipeline', tags: ['durable'] });
      await a.projects.createProject({ name: 'shelved', templateName: 'ai_analysis' });
      await a.projects.addMilestone('kept', { name: 'processed', workflows: ['data-processing'] });
      await a.projects.addMilestone('kept', { name: 'charted', workflows: ['visualization'] });
      await a.projects.setProjectConfig('kept', 'processing.batch_size', 3);
      expect((await a.executeProjectWorkflow('kept', 'data-processing')).status).toBe('succeeded');
      await a.projects.archiveProject('shelved');
    } finally {
      await a.shutdown();
    }

    const b = createOrchestrationEngine(options);
    try {
      const recovered: unknown[] = [];
      b.registerEventHandler('recovery', (_, d) => void recovered.push(d));
      await b.ready();
      expect(recovered).toContainEqual(
        expect.objectContaining({ component: 'projectManager', byStatus: { projects: 2, active: 1, archived: 1 } }),
      );
      expect((await b.projects.listProjects()).map((p) => [p.name, p.status])).toEqual([
        ['kept', 'active'],
        ['shelved', 'archived'],
      ]);
      expect(await b.projects.getProjectConfig('kept', 'processing.batch_size')).toBe(3);
      const before = await b.projects.getProjectStatus('kept');
      expect(before.milestones).toMatchObject({ total: 2, completed: 1, fraction: 0.5 });
      expect(before.workflows.find((w) => w.name === 'data-processing')).toMatchObject({ runs: 1, successes: 1 });
      expect((await b.getMetrics()).projects).toMatchObject({ total: 2, milestones: { total: 2, completed: 1 } });
      // The restored project goes on: its second milestone completes on the new engine.
      expect((await b.executeProjectWorkflow('kept', 'visualization')).status).toBe('succeeded');
      expect((await b.projects.getProjectStatus('kept')).milestones.fraction).toBe(1);
      await expect(b.projects.archiveProject('shelved')).rejects.toThrow(/already archived/);
    } finally {
      await b.shutdown();
    }
  }, 60_000);
});
