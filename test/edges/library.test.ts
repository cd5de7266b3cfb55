/**
 * The seed's facades as a script uses them: the process engine answers its first calls as a started engine, and a
 * script that does its work and nothing else exits by itself, with everything committed.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../store/helpers.js';

const run = promisify(execFile);
const dirs = tempDirs();
afterAll(() => dirs.cleanup());
const entry = pathToFileURL(resolve('dist/src/index.js')).href;

describe('library facades', () => {
  it('a seed script is healthy at once and exits by itself, its run committed', async () => {
    const dir = dirs.make('script');
    const script = join(dir, 'seed.mjs');
    writeFileSync(
      script,
      `import { getOrchestrationEngine, getWorkflowManager } from ${JSON.stringify(entry)};
const engine = getOrchestrationEngine();
const health = await engine.healthCheck();
const metrics = await engine.getMetrics();
const wf = getWorkflowManager();
await wf.createWorkflow('hello', [{ name: 'a', module: 'core', action: 'echo', parameters: { value: 7 } }]);
const result = await wf.executeWorkflow('hello');
console.log(JSON.stringify({ health: health.overallStatus, registered: metrics.workflows.registered, success: result.success, runId: result.runId }));
`,
    );
    // No shutdown in the script: if anything held the process open, the timeout would kill it (and fail here).
    const { stdout } = await run(process.execPath, [script], {
      cwd: dir,
      timeout: 60_000,
      env: { ...process.env, CODOMYRMEX_STORE: '' },
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      health: string;
      registered: number;
      success: boolean;
      runId: string;
    };
    expect(out.health).toBe('healthy');
    expect(out.registered).toBeGreaterThanOrEqual(1);
    expect(out.success).toBe(true);
    const db = new Database(join(dir, '.codomyrmex', 'state.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT status FROM workflow_runs WHERE id = ?').get(out.runId) as
        { status: string } | undefined;
      expect(row?.status).toBe('succeeded');
    } finally {
      db.close();
    }
  }, 90_000);
});
