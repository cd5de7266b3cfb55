import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { testEngine } from '../helpers.js';
import { enterTempDir } from './fixture.js';

describe('built-in action modules (run in worker threads)', () => {
  let engine: OrchestrationEngine;
  let dir: string;
  let leave: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, leave } = await enterTempDir('builtin'));
    engine = testEngine({ threads: 2, concurrentTasksPerWorker: 2 });
  });
  afterAll(async () => {
    await engine.shutdown();
    await leave();
  });

  const run = (module: string, action: string, parameters: Record<string, unknown>) =>
    engine.tasks.executeTask({ module, action, parameters, maxRetries: 0 });

  it('environment_setup.check_environment reports the machine and fails at once on a missing requirement', async () => {
    const ok = await run('environment_setup', 'check_environment', { commands: ['node'] });
    expect(ok.result).toMatchObject({
      node: process.versions.node,
      ok: true,
      commands: { node: expect.any(String) as string },
    });
    const missing = await engine.tasks.executeTask({
      module: 'environment_setup',
      action: 'check_environment',
      parameters: { require: ['definitely-not-installed-xyz'] },
      maxRetries: 3,
    });
    expect(missing).toMatchObject({ status: 'failed', attempts: 1 });
    expect(missing.error?.message).toMatch(/definitely-not-installed-xyz/);
  });

  it('shell.run runs a program without a shell, and fails on a non-zero exit', async () => {
    const ok = await run('shell', 'run', {
      command: process.execPath,
      args: ['-e', 'console.log("a; echo injected")'],
    });
    expect(ok.result).toMatchObject({ exitCode: 0, stdout: 'a; echo injected\n' });
    const bad = await run('shell', 'run', { command: process.execPath, args: ['-e', 'process.exit(3)'] });
    expect(bad.status).toBe('failed');
    expect(bad.error?.message).toMatch(/exited with code 3/);
    const allowed = await run('shell', 'run', {
      command: process.execPath,
      args: ['-e', 'process.exit(3)'],
      allowFailure: true,
    });
    expect(allowed.result).toMatchObject({ exitCode: 3 });
  });

  it('shell.run kills its child when the task times out', async () => {
    const pidFile = join(dir, 'child.pid');
    const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setTimeout(() => {}, 60000)`;
    const r = await engine.tasks.executeTask({
      module: 'shell',
      action: 'run',
      parameters: { command: process.execPath, args: ['-e', script] },
      timeout: 1,
      maxRetries: 0,
    });
    expect(r.status).toBe('timed_out');
    const pid = Number(await readFile(pidFile, 'utf8'));
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await expect.poll(alive, { timeout: 5000, interval: 20 }).toBe(false);
  });

  it('actions see no upstream outside a workflow, and a plain task analyses the working folder by default', async () => {
    const r = await run('static_analysis', 'analyze_code_quality', {});
    expect(r.result).toMatchObject({ path: '.', totals: { files: 0 } });
    const chart = await run('data_visualization', 'create_chart', {});
    expect(chart.error?.message).toMatch(/data: missing/);
  });
});
