import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { testEngine } from '../helpers.js';
import { enterTempDir } from './fixture.js';
import { decodePng } from './png.js';

/** Widths of the bars in an SVG, by their aria label ("value: 3; label: files"). */
function barWidths(svg: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of svg.matchAll(
    /<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="bar" d="M[-\d.]+,[-\d.]+h([-\d.]+)v/g,
  ))
    out[m[1] as string] = Number(m[2]);
  return out;
}

describe('data_visualization (Vega-Lite to SVG and PNG, in worker threads)', () => {
  let engine: OrchestrationEngine;
  let dir: string;
  let outside: string;
  let leave: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, leave } = await enterTempDir('charts'));
    outside = await mkdtemp(join(tmpdir(), 'codomyrmex-charts-out-'));
    await symlink(outside, join(dir, 'linkdir'));
    engine = testEngine({ threads: 1 });
  });
  afterAll(async () => {
    await engine.shutdown();
    await leave();
    await rm(outside, { recursive: true, force: true });
  });

  const chart = (parameters: Record<string, unknown>, action = 'create_chart') =>
    engine.tasks.executeTask({ module: 'data_visualization', action, parameters, maxRetries: 3 });

  it('puts measures of different magnitudes on separate axes, so no bar is squashed to nothing', async () => {
    const r = await chart({
      data: { files: 124, lines: 18875, todos: 4, longLines: 728 },
      title: 'Totals',
      output: 'totals.svg',
    });
    expect(r.status).toBe('completed');
    // Grouped by order of magnitude: [lines] [files, longLines] [todos].
    expect(r.result).toMatchObject({ output: 'totals.svg', panels: 3, rows: 4, written: ['totals.svg'] });
    const widths = barWidths(await readFile(join(dir, 'totals.svg'), 'utf8'));
    expect(Object.keys(widths).sort()).toEqual([
      'value: 124; label: files',
      'value: 18875; label: lines',
      'value: 4; label: todos',
      'value: 728; label: longLines',
    ]);
    // Within a panel values differ by less than 10x: every bar is readable (the old chart drew todos at 0 px).
    for (const w of Object.values(widths)) expect(w).toBeGreaterThan(48);
  });

  it('gives several measures of rows one panel each; bars of one measure share an axis', async () => {
    const data = [
      { lang: 'TypeScript', files: 120, lines: 18000 },
      { lang: 'YAML', files: 3, lines: 70 },
    ];
    const r = await chart({ data, title: 'Per language', output: 'langs.svg' });
    expect(r.result).toMatchObject({ panels: 2 });
    const widths = barWidths(await readFile(join(dir, 'langs.svg'), 'utf8'));
    expect(widths['files: 120; lang: TypeScript']).toBe(480);
    expect(widths['lines: 18000; lang: TypeScript']).toBe(480);
    expect(widths['files: 3; lang: YAML']).toBe(12);
  });

  it('renders line, pie, scatter and heatmap charts with their marks', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'line',
        {
          data: [
            { day: '2024-01-01', runs: 3 },
            { day: '2024-01-02', runs: 5 },
          ],
          x: 'day',
          y: 'runs',
        },
        'mark-line',
      ],
      ['pie', { data: { ok: 8, failed: 2 } }, 'mark-arc'],
      [
        'scatter',
        {
          data: [
            { lines: 10, complexity: 2 },
            { lines: 200, complexity: 30 },
          ],
          x: 'lines',
          y: 'complexity',
        },
        'mark-symbol',
      ],
      [
        'heatmap',
        {
          data: [
            { a: 'x', b: 'p', n: 1 },
            { a: 'y', b: 'p', n: 4 },
            { a: 'x', b: 'q', n: 2 },
          ],
          x: 'a',
          y: 'b',
          color: 'n',
        },
        'mark-rect',
      ],
    ];
    for (const [type, params, mark] of cases) {
      const r = await chart({ type, ...params, title: type, output: `${type}.svg` });
      expect(r.status, `${type}: ${r.error?.message}`).toBe('completed');
      const svg = await readFile(join(dir, `${type}.svg`), 'utf8');
      expect(svg).toMatch(/^<svg/);
      expect(svg).toContain(`class="${mark} role-mark`);
    }
  });

  it('writes a PNG that decodes to a sized image with dark text and coloured bars', async () => {
    const r = await chart({
      data: { files: 12, todos: 3 },
      title: 'PNG check',
      output: 'reports/chart.svg',
      png: true,
    });
    expect(r.result).toMatchObject({
      files: [
        { path: 'reports/chart.svg', format: 'svg' },
        { path: 'reports/chart.png', format: 'png' },
      ],
      written: ['reports/chart.svg', 'reports/chart.png'],
    });
    const png = decodePng(await readFile(join(dir, 'reports', 'chart.png')));
    expect(png.width).toBeGreaterThan(500);
    expect(png.height).toBeGreaterThan(100);
    let dark = 0;
    let blue = 0;
    for (let i = 0; i < png.pixels.length; i += png.channels) {
      const [r0, g, b] = [png.pixels[i] as number, png.pixels[i + 1] as number, png.pixels[i + 2] as number];
      if (r0 < 60 && g < 60 && b < 60) dark++;
      if (Math.abs(r0 - 0x4e) < 8 && Math.abs(g - 0x79) < 8 && Math.abs(b - 0xa7) < 8) blue++;
    }
    expect(dark).toBeGreaterThan(200); // text was drawn (fonts found)
    expect(blue).toBeGreaterThan(5000); // the bars
    const only = await chart({ data: { a: 1 }, output: 'only.png' });
    expect(only.result).toMatchObject({ files: [{ path: 'only.png', format: 'png' }] });
  });

  it('charts an analysis: complexity per file, functions, lines per language', async () => {
    const analysis = {
      path: 'src',
      files: [
        { path: 'src/a.ts', lines: 100, complexity: 30 },
        { path: 'src/b.ts', lines: 50, complexity: 4 },
      ],
      languages: { TypeScript: { files: 2, lines: 150, code: 120, comment: 20, blank: 10 } },
      complexFunctions: [{ file: 'src/a.ts', name: 'big', line: 3, complexity: 12 }],
    };
    const r = await chart({ analysis, output: 'analysis.svg' }, 'create_analysis_chart');
    expect(r.result).toMatchObject({ panels: 3 });
    const svg = await readFile(join(dir, 'analysis.svg'), 'utf8');
    expect(svg).toContain('Cyclomatic complexity per file');
    expect(svg).toContain('big (src/a.ts:3)');
    expect(svg).toContain('Lines per language');
  });

  it('fails without retry on empty or mistyped data, an unknown field, and an output outside the working folder', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ data: [] }, /data: empty/],
      [{ data: {} }, /data: empty/],
      [{ data: { files: 'many' } }, /data\.files: "many" is not a number/],
      [
        {
          data: [
            { name: 'a', n: 1 },
            { name: 'b', n: 'x' },
          ],
          x: 'name',
          y: 'n',
        },
        /data\[1\]\.n: "x" is not a number/,
      ],
      [
        { data: [{ name: 'a', count: 1 }], x: 'name', y: 'cuont' },
        /y: no field "cuont" in data \(did you mean "count"\?\)/,
      ],
      [{ data: { a: 1 }, output: 'linkdir/escape.svg' }, /outside the working folder/],
      [{ data: { a: 1 }, output: 'linkdir/deeper/escape.svg' }, /outside the working folder/],
      [{ data: { a: 1 }, output: '../escape.svg' }, /outside the working folder/],
      [{ data: { a: 1, b: 1000 }, type: 'pie' }, /use a bar chart/],
      [{}, /data: missing/],
    ];
    for (const [params, message] of cases) {
      const r = await chart(params);
      expect(r, JSON.stringify(params)).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { code: 'NON_RETRYABLE' },
      });
      expect(r.error?.message).toMatch(message);
    }
    await expect(readFile(join(outside, 'escape.svg'))).rejects.toThrow(/ENOENT/);
    await expect(chart({ data: { a: 1 }, output: 'x.jpg' })).rejects.toThrow(/output: must end in \.svg or \.png/);
  });
});
