import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { ModuleRegistry } from '../../src/modules/registry.js';
import { runWritten } from '../../src/edges/mcp/summary.js';
import { testEngine } from '../helpers.js';
import { enterTempDir, writeTree } from './fixture.js';
import { decodePng } from './png.js';

describe('shipped workflow templates and upstream outputs (end to end, in worker threads)', () => {
  let engine: OrchestrationEngine;
  let dir: string;
  let leave: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, leave } = await enterTempDir('workflows'));
    await writeTree(dir, {
      'src/app.ts':
        'export function f(a: number) {\n  if (a > 1 && a < 5) return 1; // TODO: tidy\n  return a ? 2 : 3;\n}\n',
      'src/app.test.ts': "import { f } from './app';\nf(1);\n",
      'web/page.js': 'export const g = (x) => x || 0;\n',
    });
    engine = testEngine({ threads: 2, workflowDirs: [packagePath('config', 'workflows')] });
  });
  afterAll(async () => {
    await engine.shutdown();
    await leave();
  });

  it('ai-analysis: analyze -> insights -> chart (SVG + PNG) -> Markdown and HTML report', async () => {
    const r = await engine.workflows.executeWorkflow('ai-analysis');
    expect(r.status, JSON.stringify(r.steps, null, 1)).toBe('succeeded');
    const analysis = r.steps['analyze_code']?.result as { totals: Record<string, number> };
    expect(analysis.totals).toMatchObject({ files: 3, functions: 2, todos: 1, testFiles: 1 });
    const insights = r.steps['generate_insights']?.result as { findings: { rule: string }[]; model: unknown };
    expect(insights.model).toBeNull();
    expect(insights.findings.map((f) => f.rule)).toContain('markers');
    expect(r.steps['chart_analysis']?.result).toMatchObject({
      files: [{ path: '.codomyrmex/reports/ai-analysis.svg' }, { path: '.codomyrmex/reports/ai-analysis.png' }],
    });
    const png = decodePng(await readFile(join(dir, '.codomyrmex', 'reports', 'ai-analysis.png')));
    expect(png.width).toBeGreaterThan(400);
    expect(r.steps['write_report']?.result).toMatchObject({
      markdown: '.codomyrmex/reports/ai-analysis.md',
      html: '.codomyrmex/reports/ai-analysis.html',
      charts: 1,
    });
    // What the run lists as written: the chart's and the report's declarations; the analysed sources are not among them.
    expect(runWritten(r)).toEqual({
      files: [
        '.codomyrmex/reports/ai-analysis.svg',
        '.codomyrmex/reports/ai-analysis.png',
        '.codomyrmex/reports/ai-analysis.md',
        '.codomyrmex/reports/ai-analysis.html',
      ],
      more: 0,
      moreAtLeast: false,
    });
    const md = await readFile(join(dir, '.codomyrmex', 'reports', 'ai-analysis.md'), 'utf8');
    expect(md).toContain('# Code analysis of .');
    expect(md).toContain('## Findings');
    // The chart is this run's svg artifact, fetched into the report step's folder; the run records the artifacts.
    expect(md).toContain(`![chart](../artifacts/${r.runId}/chart_analysis/svg.svg)`);
    expect(r.steps['chart_analysis']?.artifacts?.map((a) => a.name)).toEqual(['svg', 'png']);
    expect(r.steps['write_report']?.artifacts?.map((a) => a.name)).toEqual(['md', 'html']);
    const chartSvg = await readFile(join(dir, '.codomyrmex', 'reports', 'ai-analysis.svg'));
    expect(await readFile(join(dir, '.codomyrmex', 'artifacts', r.runId, 'chart_analysis', 'svg.svg'))).toEqual(
      chartSvg,
    );
    expect(md).toMatch(/\| TypeScript \| 2 \| 6 \|/);
    const html = await readFile(join(dir, '.codomyrmex', 'reports', 'ai-analysis.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('src="data:image/svg+xml;base64,');
  });

  it('per-file-analysis fans out over the files the analysis ranked; nightly sleeps, then reports; release loads', async () => {
    const r = await engine.workflows.executeWorkflow('per-file-analysis');
    expect(r.status, JSON.stringify(r.steps, null, 1)).toBe('succeeded');
    const ranked = (r.steps['analyze_code']?.result as { complexFiles: { path: string }[] }).complexFiles.map(
      (f) => f.path,
    );
    expect(ranked.length).toBeGreaterThan(0);
    const each = r.steps['analyze_file']?.result as { totals: { files: number } }[];
    expect(each).toHaveLength(ranked.length);
    expect(each.every((a) => a.totals.files === 1)).toBe(true);
    expect(r.steps['analyze_file']?.items?.map((i) => i.status)).toEqual(ranked.map(() => 'completed'));
    const nightly = await engine.workflows.executeWorkflow('nightly');
    expect(nightly.status, JSON.stringify(nightly.steps, null, 1)).toBe('succeeded');
    expect(nightly.steps['settle']?.status).toBe('completed');
    expect(nightly.steps['write_report']?.result).toMatchObject({ markdown: '.codomyrmex/reports/nightly.md' });
    const release = await engine.workflows.getWorkflow('release');
    expect(release?.steps.map((s) => [s.name, s.workflow ?? s.waitFor?.signal ?? s.module])).toEqual([
      ['build_and_test', 'build-and-test'],
      ['approval', 'approval'],
      ['announce', 'core'],
    ]);
  });

  it("runs the seed's complex workflow as written: setup -> analyze -> visualize, no parameters on any step", async () => {
    const r = await engine.executeComplexWorkflow({
      steps: [
        { name: 'setup', module: 'environment_setup', action: 'check_environment' },
        { name: 'analyze', module: 'static_analysis', action: 'analyze_code_quality' },
        { name: 'visualize', module: 'data_visualization', action: 'create_chart' },
      ],
      dependencies: { analyze: ['setup'], visualize: ['analyze'] },
      parallel_groups: [['analyze', 'visualize']],
    });
    expect(r.status, JSON.stringify(r.steps, null, 1)).toBe('succeeded');
    expect(r.steps['analyze']?.result).toMatchObject({ path: '.', totals: { files: 3 } });
    const chart = r.steps['visualize']?.result as { output: string; type: string; panels: number };
    expect(chart).toMatchObject({ type: 'analysis', panels: 3 });
    expect(chart.output).toMatch(/^\.codomyrmex\/charts\/.+\.visualize\.svg$/);
    const svg = await readFile(join(dir, chart.output), 'utf8');
    expect(svg).toContain('f (src/app.ts:1)');
  });

  it('explicit parameters win over upstream outputs', async () => {
    const r = await engine.executeComplexWorkflow({
      steps: [
        { name: 'analyze', module: 'static_analysis', action: 'analyze_code_quality', parameters: { path: 'web' } },
        {
          name: 'chart',
          module: 'data_visualization',
          action: 'create_chart',
          parameters: { data: { a: 1, b: 2 }, output: 'explicit.svg' },
          dependencies: ['analyze'],
        },
        { name: 'echo', module: 'core', action: 'echo', parameters: { value: 1 }, dependencies: ['analyze'] },
      ],
    });
    expect(r.status).toBe('succeeded');
    expect(r.steps['analyze']?.result).toMatchObject({ path: 'web', totals: { files: 1 } });
    expect(r.steps['chart']?.result).toMatchObject({ output: 'explicit.svg', type: 'bar', rows: 2 });
  });

  it('build-and-test: check environment -> install -> test -> build, via shell.run, on an npm project', async () => {
    await writeTree(dir, {
      'pkg/package.json': JSON.stringify({
        name: 'fixture-pkg',
        version: '1.0.0',
        private: true,
        scripts: {
          test: "node -e \"require('fs').writeFileSync('tested', 'yes')\"",
          build: "node -e \"require('fs').writeFileSync('built', String(require('fs').existsSync('tested')))\"",
        },
      }),
    });
    const r = await engine.workflows.executeWorkflow('build-and-test', { dir: 'pkg' });
    expect(r.status, JSON.stringify(r.steps, null, 1)).toBe('succeeded');
    expect(Object.keys(r.steps)).toEqual(['check_environment', 'install', 'test', 'build']);
    expect(await readFile(join(dir, 'pkg', 'built'), 'utf8')).toBe('true');
    await writeFile(
      join(dir, 'pkg', 'package.json'),
      JSON.stringify({
        name: 'fixture-pkg',
        version: '1.0.0',
        private: true,
        scripts: { test: 'node -e "process.exit(4)"' },
      }),
    );
    const failed = await engine.workflows.executeWorkflow('build-and-test', { dir: 'pkg' });
    expect(failed.status).toBe('failed');
    expect(failed.steps['test']?.error?.message).toMatch(/exited with code 4/);
    expect(failed.steps['build']?.status).toBe('skipped');
  });

  it('every action declares a parameter JSON Schema and an output description', () => {
    const described = new ModuleRegistry().describe();
    expect(described.length).toBeGreaterThan(20);
    for (const d of described) {
      expect(d.output, `${d.module}.${d.action}`).not.toBe('');
      expect(d.params['type'], `${d.module}.${d.action}`).toBe('object');
    }
    const chart = new ModuleRegistry().describe('data_visualization').find((d) => d.action === 'create_chart');
    expect(chart?.params).toMatchObject({
      additionalProperties: false,
      properties: { type: { type: 'string', enum: ['bar', 'line', 'pie', 'scatter', 'heatmap'], default: 'bar' } },
    });
    expect(chart?.params['required']).toBeUndefined();
    const shell = new ModuleRegistry().describe('shell')[0];
    expect(shell?.params['required']).toEqual(['command']);
    expect(() => new ModuleRegistry().describe('nope')).toThrow(/unknown module "nope"/);
  });
});
