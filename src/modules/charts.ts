import { extname } from 'node:path';
import { z } from 'zod';
import { NonRetryableError } from '../errors.js';
import type { ActionContext } from './contract.js';
import { defineAction, defineModule } from './contract.js';
import { analysisSpec } from './charts/analysisChart.js';
import { renderPng, renderSvg } from './charts/render.js';
import type { VlSpec } from './charts/spec.js';
import { buildSpec } from './charts/spec.js';
import { upstreamAnalysis } from './insights.js';
import { displayPath, writeFileInside } from './paths.js';

const output = z
  .string()
  .min(1)
  .max(1000)
  .regex(/\.(svg|png)$/i, 'must end in .svg or .png')
  .optional()
  .describe('file inside the working folder; .svg or .png (default .codomyrmex/charts/<task id>.svg)');

interface Written {
  path: string;
  format: 'svg' | 'png';
  bytes: number;
  width?: number;
  height?: number;
}

/** Renders a spec and writes it as SVG, PNG, or both (`png: true` next to an .svg output). */
async function write(
  spec: VlSpec,
  out: string | undefined,
  png: boolean,
  ctx: ActionContext,
): Promise<{ files: Written[]; warnings: string[] }> {
  const target = out ?? `.codomyrmex/charts/${ctx.taskId}.svg`;
  const { svg, warnings } = await renderSvg(spec);
  const files: Written[] = [];
  const isPng = extname(target).toLowerCase() === '.png';
  if (!isPng) {
    const w = await writeFileInside(target, svg, 'output');
    ctx.artifacts.put(w.path, 'svg');
    files.push({ path: displayPath(w.path), format: 'svg', bytes: w.bytes });
  }
  if (isPng || png) {
    const r = await renderPng(svg);
    const pngPath = isPng ? target : target.replace(/\.svg$/i, '.png');
    const w = await writeFileInside(pngPath, r.png, 'output');
    ctx.artifacts.put(w.path, 'png');
    files.push({ path: displayPath(w.path), format: 'png', bytes: w.bytes, width: r.width, height: r.height });
  }
  return { files, warnings };
}

/** Charts rendered with Vega-Lite to SVG and PNG files inside the working folder. */
export default defineModule({
  name: 'data_visualization',
  description: 'Charts (bar, line, pie, scatter, heatmap) rendered with Vega-Lite to SVG/PNG files',
  actions: {
    create_chart: defineAction({
      description:
        'Renders `data` (rows [{...}], a { label: number } record, or [[label, number]] pairs) as a `type` chart of `y` against `x` to `output` (.svg or .png inside the working folder). Several measures, or numbers of different magnitudes, get one panel each with its own axis. With no `data`, charts the analysis of an upstream static_analysis step.',
      output:
        '{ output, files: [{ path, format: svg|png, bytes, width?, height? }], type, rows, panels, written: [path] }',
      params: z
        .object({
          type: z.enum(['bar', 'line', 'pie', 'scatter', 'heatmap']).default('bar'),
          data: z
            .unknown()
            .optional()
            .describe('rows, a { label: number } record or [[label, number]] pairs; default: the upstream analysis'),
          x: z.string().min(1).optional().describe('category (or x value) field; default: the first text field'),
          y: z
            .union([z.string().min(1), z.array(z.string().min(1)).min(1).max(20)])
            .optional()
            .describe('measure field(s); default: every numeric field'),
          color: z.string().min(1).optional().describe('series field (line, scatter) or value field (heatmap)'),
          title: z.string().max(200).default('chart'),
          output,
          png: z.boolean().default(false).describe('also write a PNG next to an .svg output'),
          width: z.number().int().min(100).max(4000).optional(),
          top: z.number().int().min(1).max(100).default(15).describe('bars per ranking when charting an analysis'),
        })
        .strict(),
      run: async (p, ctx) => {
        let built: { spec: VlSpec; rows: number; panels: number };
        if (p.data === undefined) {
          const analysis = upstreamAnalysis(ctx);
          if (analysis === undefined)
            throw new NonRetryableError(
              'data: missing; give rows to chart, or depend on a static_analysis step to chart its analysis',
            );
          const a = analysisSpec(analysis, p.title === 'chart' ? undefined : p.title, p.top, p.width);
          built = { ...a, rows: (analysis as { files: unknown[] }).files.length };
        } else {
          built = buildSpec({
            type: p.type,
            data: p.data,
            x: p.x,
            y: p.y,
            color: p.color,
            title: p.title,
            width: p.width,
          });
        }
        const { files, warnings } = await write(built.spec, p.output, p.png, ctx);
        return {
          output: files[0]?.path,
          files,
          type: p.data === undefined ? 'analysis' : p.type,
          rows: built.rows,
          panels: built.panels,
          warnings,
          written: files.map((f) => f.path),
        };
      },
    }),
    create_analysis_chart: defineAction({
      description:
        "Charts a static_analysis.analyze_code_quality result (default: the upstream step's): complexity per file, the most complex functions, lines per language; each panel on its own axes.",
      output: '{ output, files: [{ path, format, bytes, width?, height? }], panels, written: [path] }',
      params: z
        .object({
          analysis: z.unknown().optional().describe("the analysis; default: the upstream step's"),
          title: z.string().max(200).optional(),
          output,
          png: z.boolean().default(false),
          top: z.number().int().min(1).max(100).default(15),
          width: z.number().int().min(100).max(4000).optional(),
        })
        .strict(),
      run: async (p, ctx) => {
        const analysis = p.analysis ?? upstreamAnalysis(ctx);
        if (analysis === undefined)
          throw new NonRetryableError(
            'analysis: missing; pass a static_analysis result or depend on a step that makes one',
          );
        const { spec, panels } = analysisSpec(analysis, p.title, p.top, p.width);
        const { files, warnings } = await write(spec, p.output, p.png, ctx);
        return { output: files[0]?.path, files, panels, warnings, written: files.map((f) => f.path) };
      },
    }),
  },
});
