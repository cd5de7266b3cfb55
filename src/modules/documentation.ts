import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, relative } from 'node:path';
import { z } from 'zod';
import { NonRetryableError } from '../errors.js';
import type { ActionContext } from './contract.js';
import { defineAction, defineModule } from './contract.js';
import { languageOf } from './analysis/languages.js';
import { walkTree } from './analysis/walk.js';
import type { ExportInfo } from './documentation/exports.js';
import { exportsOf } from './documentation/exports.js';
import type { ReportInput } from './documentation/report.js';
import { reportHtml, reportMarkdown } from './documentation/report.js';
import { displayPath, insideWorkingDir, resolveForWrite, workingDir, writeFileInside } from './paths.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Upstream outputs: an analysis and insights (by shape), and chart files. A chart is an upstream step's declared
 * `svg` artifact (the copy of this run, fetched into this folder), never a path its output names: on another
 * worker, or after an earlier run, a file at that path may be another run's.
 */
function fromUpstream(ctx: ActionContext): { analysis?: unknown; insights?: unknown; charts: string[] } {
  const out: { analysis?: unknown; insights?: unknown; charts: string[] } = { charts: [] };
  for (const [step, v] of Object.entries(ctx.upstream)) {
    const svg = ctx.artifacts.upstream[step]?.['svg'];
    if (svg !== undefined) out.charts.push(svg);
    if (!isObj(v)) continue;
    if ('totals' in v && 'files' in v) out.analysis ??= v;
    else if ('findings' in v && 'summary' in v) out.insights ??= v;
  }
  return out;
}

/** Documentation: an index of a project's folders and exports, and analysis reports. */
export default defineModule({
  name: 'documentation',
  description: 'Generates a project index (folders, files, exports) and analysis reports (Markdown + HTML)',
  actions: {
    generate_docs: defineAction({
      description:
        'Writes a Markdown index of the folders under `path`: each file with its summary (its leading comment) and, for JS/TS, its exports with the first sentence of their doc comments. .gitignore is respected.',
      output: '{ output, folders, files, exports, markdown, written: [output] }',
      params: z
        .object({
          path: z.string().min(1).default('.'),
          output: z.string().min(1).regex(/\.md$/, 'must end in .md').default('.codomyrmex/docs/INDEX.md'),
          title: z.string().max(200).optional(),
          exclude: z
            .array(z.string().min(1))
            .default(['node_modules/', 'dist/', 'build/', 'coverage/', '.codomyrmex/']),
          maxFiles: z.number().int().min(1).max(100_000).default(5000),
        })
        .strict(),
      run: async (p, ctx) => {
        const root = insideWorkingDir(p.path, 'path');
        if (!(await stat(root)).isDirectory()) throw new NonRetryableError(`path: "${p.path}" is not a folder`);
        const listing = await walkTree(root, workingDir(), {
          include: [],
          exclude: p.exclude,
          gitignore: true,
          maxFiles: p.maxFiles,
          signal: ctx.signal,
        });
        const folders = new Map<string, { file: string; summary: string; exports: ExportInfo[] }[]>();
        let exportCount = 0;
        for (const abs of listing.files) {
          const lang = languageOf(basename(abs));
          if (!lang || lang.name === 'Markdown') continue;
          const st = await stat(abs);
          let info = { summary: '', exports: [] as ExportInfo[] };
          if (lang.parsed && st.size <= 2 ** 20) info = await exportsOf(abs, await readFile(abs, 'utf8'));
          exportCount += info.exports.length;
          const folder = relative(root, dirname(abs)) || '.';
          folders.set(folder, [...(folders.get(folder) ?? []), { file: basename(abs), ...info }]);
        }
        const title = p.title ?? `Index of ${displayPath(root)}`;
        const md: string[] = [
          `# ${title}`,
          '',
          `${listing.files.length} files in ${folders.size} folders; ${exportCount} exports.`,
          '',
        ];
        for (const [folder, files] of [...folders.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
          md.push(`## ${folder === '.' ? './' : `${folder}/`}`, '');
          for (const f of files) {
            md.push(`- **${f.file}**${f.summary ? `: ${f.summary}` : ''}`);
            for (const e of f.exports) md.push(`  - \`${e.name}\` (${e.kind})${e.summary ? `: ${e.summary}` : ''}`);
          }
          md.push('');
        }
        const markdown = md.join('\n');
        const w = await writeFileInside(p.output, markdown, 'output');
        return {
          output: displayPath(w.path),
          folders: folders.size,
          files: listing.files.length,
          exports: exportCount,
          markdown: markdown.length > 100_000 ? `${markdown.slice(0, 100_000)}\n…` : markdown,
          written: [displayPath(w.path)],
        };
      },
    }),
    generate_report: defineAction({
      description:
        "Writes `output`.md and `output`.html: a report of an analysis, its insights and its charts (each defaulting to the matching upstream step's output; the HTML embeds the charts).",
      output: '{ markdown, html, findings, charts, written: [markdown, html] }',
      params: z
        .object({
          title: z.string().max(200).default('Code analysis report'),
          output: z
            .string()
            .min(1)
            .max(1000)
            .optional()
            .describe('path without extension (default .codomyrmex/reports/<task id>)'),
          analysis: z.unknown().optional(),
          insights: z.unknown().optional(),
          charts: z.array(z.string().min(1)).max(50).optional().describe('SVG chart files inside the working folder'),
        })
        .strict(),
      run: async (p, ctx) => {
        const up = fromUpstream(ctx);
        const analysis = p.analysis ?? up.analysis;
        const insights = p.insights ?? up.insights;
        if (analysis === undefined && insights === undefined)
          throw new NonRetryableError(
            'analysis, insights: nothing to report; pass them or depend on static_analysis / ai_code_editing steps',
          );
        if (analysis !== undefined && !(isObj(analysis) && isObj(analysis['totals'])))
          throw new NonRetryableError('analysis: not a static_analysis.analyze_code_quality result (no "totals")');
        if (insights !== undefined && !(isObj(insights) && Array.isArray(insights['findings'])))
          throw new NonRetryableError('insights: not an ai_code_editing.generate_code_insights result (no "findings")');
        const base = (p.output ?? `.codomyrmex/reports/${ctx.taskId}`).replace(/\.(md|html)$/, '');
        const mdTarget = resolveForWrite(`${base}.md`, 'output').target;
        const charts: ReportInput['charts'] = [];
        for (const c of p.charts ?? up.charts) {
          const abs = insideWorkingDir(c, 'charts');
          const svg = (await stat(abs)).size <= 16 * 2 ** 20 ? await readFile(abs, 'utf8') : null;
          charts.push({ link: relative(dirname(mdTarget), abs), svg: svg?.includes('<svg') ? svg : null });
        }
        const input: ReportInput = {
          title: p.title,
          analysis: analysis as ReportInput['analysis'],
          insights: insights,
          charts,
          generatedAt: new Date().toISOString(),
        };
        const md = await writeFileInside(`${base}.md`, reportMarkdown(input), 'output');
        const html = await writeFileInside(`${base}.html`, reportHtml(input), 'output');
        ctx.artifacts.put(md.path, 'md');
        ctx.artifacts.put(html.path, 'html');
        return {
          markdown: displayPath(md.path),
          html: displayPath(html.path),
          findings: input.insights?.findings?.length ?? 0,
          charts: charts.length,
          written: [displayPath(md.path), displayPath(html.path)],
        };
      },
    }),
  },
});
