import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { testEngine } from '../helpers.js';

describe('built-in action modules (run in worker threads)', () => {
  let engine: OrchestrationEngine;
  let dir: string;
  let rel: string;
  beforeAll(async () => {
    engine = testEngine({ threads: 2, concurrentTasksPerWorker: 2 });
    // Inside the working folder (file actions refuse anything outside it).
    await mkdir(join(process.cwd(), '.codomyrmex'), { recursive: true });
    dir = await mkdtemp(join(process.cwd(), '.codomyrmex', 'modules-'));
    rel = relative(process.cwd(), dir);
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'a.ts'), `// TODO one\n${'x'.repeat(130)}\nconst a = 1;\n`);
    await writeFile(join(dir, 'src', 'b.js'), 'const b = 2; // FIXME\n\n');
    await writeFile(join(dir, 'src', 'notes.md'), 'TODO not code\n');
  });
  afterAll(async () => {
    await engine.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (module: string, action: string, parameters: Record<string, unknown>) => engine.tasks.executeTask({ module, action, parameters, maxRetries: 0 });

  it('static_analysis.analyze_code_quality counts lines, TODOs and long lines of source files only', async () => {
    const r = await run('static_analysis', 'analyze_code_quality', { path: rel });
    expect(r.status).toBe('completed');
    const out = r.result as { totals: Record<string, number>; files: { path: string; todos: number; longLines: number }[] };
    expect(out.totals).toMatchObject({ files: 2, lines: 7, blank: 3, todos: 2, longLines: 1 });
    expect(out.files.map((f) => f.path)).toEqual([join(rel, 'src', 'a.ts'), join(rel, 'src', 'b.js')]);
  });

  it('file actions refuse paths outside the working folder, without retrying', async () => {
    const r = await engine.tasks.executeTask({ module: 'static_analysis', action: 'analyze_code_quality', parameters: { path: tmpdir() }, maxRetries: 3 });
    expect(r).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'NON_RETRYABLE' } });
    expect(r.error?.message).toMatch(/outside the working folder/);
  });

  it('ai_code_editing.generate_code_insights ranks hotspots from an analysis', async () => {
    const analysis = (await run('static_analysis', 'analyze_code_quality', { path: rel })).result;
    const r = await run('ai_code_editing', 'generate_code_insights', { analysis_data: analysis });
    expect(r.result).toMatchObject({
      summary: '2 files, 7 lines, 2 TODOs, 1 long lines',
      todoHotspots: [{ path: join(rel, 'src', 'a.ts'), todos: 1 }, { path: join(rel, 'src', 'b.js'), todos: 1 }],
      longLineHotspots: [{ path: join(rel, 'src', 'a.ts'), longLines: 1 }],
    });
  });

  it('environment_setup.check_environment reports the machine and fails at once on a missing requirement', async () => {
    const ok = await run('environment_setup', 'check_environment', { commands: ['node'] });
    expect(ok.result).toMatchObject({ node: process.versions.node, ok: true, commands: { node: expect.any(String) as string } });
    const missing = await engine.tasks.executeTask({ module: 'environment_setup', action: 'check_environment', parameters: { require: ['definitely-not-installed-xyz'] }, maxRetries: 3 });
    expect(missing).toMatchObject({ status: 'failed', attempts: 1 });
    expect(missing.error?.message).toMatch(/definitely-not-installed-xyz/);
  });

  it('data_visualization.create_chart writes an SVG with one bar per value', async () => {
    const output = join(rel, 'chart.svg');
    const r = await run('data_visualization', 'create_chart', { data: { files: 2, todos: 5 }, title: 'A <title>', output });
    expect(r.result).toMatchObject({ bars: 2 });
    const svg = await readFile(output, 'utf8');
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain('A &lt;title&gt;');
  });

  it('shell.run runs a program without a shell, and fails on a non-zero exit', async () => {
    const ok = await run('shell', 'run', { command: process.execPath, args: ['-e', 'console.log("a; echo injected")'] });
    expect(ok.result).toMatchObject({ exitCode: 0, stdout: 'a; echo injected\n' });
    const bad = await run('shell', 'run', { command: process.execPath, args: ['-e', 'process.exit(3)'] });
    expect(bad.status).toBe('failed');
    expect(bad.error?.message).toMatch(/exited with code 3/);
    const missing = await engine.tasks.executeTask({ module: 'shell', action: 'run', parameters: { command: 'no-such-program-xyz' }, maxRetries: 2 });
    expect(missing).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'NON_RETRYABLE' } });
  });

  it('shell.run kills its child when the task times out', async () => {
    const pidFile = join(dir, 'child.pid');
    const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setTimeout(() => {}, 60000)`;
    const r = await engine.tasks.executeTask({ module: 'shell', action: 'run', parameters: { command: process.execPath, args: ['-e', script] }, timeout: 1, maxRetries: 0 });
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
});
