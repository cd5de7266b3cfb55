import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WriteBatch } from '../../src/index.js';
import { testEngine } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-run-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run records of large workflows', () => {
  it('writes a run of more than 1,000 steps at its start, its end and a few times between, not at every commit', async () => {
    const engine = testEngine({ store: 'sqlite', dbPath: join(dir, 'state.db'), concurrentTasksPerWorker: 16 });
    try {
      await engine.ready();
      const steps = Array.from({ length: 1500 }, (_, i) => ({
        name: `s${i}`,
        module: 'core',
        action: 'noop',
        ...(i >= 100 ? { dependencies: [`s${i - 100}`] } : {}),
      }));
      await engine.workflows.createWorkflow('large', steps);
      const store = engine.store;
      const send = store.commitAsync;
      if (!send) throw new Error('the SQLite store writes off-thread');
      let commits = 0;
      let runWrites = 0;
      (store as { commitAsync: (b: WriteBatch) => Promise<void> }).commitAsync = (batch) => {
        commits++;
        if (batch.records.some((r) => r.kind === 'workflow_runs')) runWrites++;
        return send(batch);
      };
      const t0 = performance.now();
      const result = await engine.workflows.executeWorkflow('large');
      const elapsedMs = performance.now() - t0;
      expect(result.success).toBe(true);
      expect(commits).toBeGreaterThan(20);
      // 1,500 steps: its start, its end, and at most one write per 150 ms in between; not one per commit.
      expect(runWrites).toBeLessThanOrEqual(3 + Math.ceil(elapsedMs / 150));
      expect(runWrites).toBeLessThan(commits);
      const stored = await engine.workflows.getRun(result.runId);
      expect(stored?.status).toBe('succeeded');
      expect(Object.values(stored?.steps ?? {}).filter((s) => s.status === 'completed')).toHaveLength(1500);
    } finally {
      await engine.shutdown();
    }
  });
});
