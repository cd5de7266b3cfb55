/**
 * The chart of a static analysis: complexity per file, the most complex functions, and lines per language (code,
 * comment, blank stacked: one unit, one axis). Each panel has its own scales.
 */
import { NonRetryableError } from '../../errors.js';
import { FONT } from './spec.js';
import type { VlSpec } from './spec.js';

interface AnalysisLike {
  path?: string;
  files?: { path: string; complexity?: number; lines: number }[];
  languages?: Record<string, { code: number; comment: number; blank: number }>;
  complexFunctions?: { file: string; name: string; line: number; complexity: number }[];
}

const bars = (
  title: string,
  values: Record<string, unknown>[],
  cat: string,
  val: string,
  valTitle: string,
  width: number,
): VlSpec => ({
  title,
  data: { values },
  width,
  height: { step: 18 },
  layer: [
    // Values come sorted; `sort: null` keeps their order in both layers.
    {
      mark: { type: 'bar', color: '#4e79a7' },
      encoding: {
        y: { field: cat, type: 'nominal', sort: null, title: null, axis: { labelLimit: 640 } },
        x: { field: val, type: 'quantitative', title: valTitle },
      },
    },
    {
      mark: { type: 'text', align: 'left', dx: 3 },
      encoding: {
        y: { field: cat, type: 'nominal', sort: null },
        x: { field: val, type: 'quantitative' },
        text: { field: val, type: 'quantitative', format: ',' },
      },
    },
  ],
});

/** A Vega-Lite spec for an analysis result; `top` bars per ranking. An analysis with nothing measured gets one panel saying so (`panels: 0`). */
export function analysisSpec(
  analysis: unknown,
  title: string | undefined,
  top: number,
  width = 420,
): { spec: VlSpec; panels: number } {
  const a = analysis as AnalysisLike;
  if (typeof a !== 'object' || a === null || !Array.isArray(a.files)) {
    throw new NonRetryableError('analysis: not a static_analysis.analyze_code_quality result (no "files" list)');
  }
  const panels: VlSpec[] = [];
  const files = a.files
    .filter((f) => (f.complexity ?? 0) > 0)
    .sort((x, y) => (y.complexity ?? 0) - (x.complexity ?? 0))
    .slice(0, top);
  if (files.length)
    panels.push(
      bars(
        `Cyclomatic complexity per file (top ${files.length})`,
        files.map((f) => ({ file: f.path, complexity: f.complexity })),
        'file',
        'complexity',
        'total complexity of its functions',
        width,
      ),
    );
  const fns = (a.complexFunctions ?? []).slice(0, top);
  if (fns.length)
    panels.push(
      bars(
        `Most complex functions (top ${fns.length})`,
        fns.map((f) => ({ fn: `${f.name} (${f.file}:${f.line})`, complexity: f.complexity })),
        'fn',
        'complexity',
        'cyclomatic complexity',
        width,
      ),
    );
  const langs = Object.entries(a.languages ?? {});
  if (langs.length) {
    const values = langs.flatMap(([language, l]) => [
      { language, kind: 'code', lines: l.code },
      { language, kind: 'comment', lines: l.comment },
      { language, kind: 'blank', lines: l.blank },
    ]);
    panels.push({
      title: 'Lines per language',
      data: { values },
      width,
      height: { step: 18 },
      mark: 'bar',
      encoding: {
        y: { field: 'language', type: 'nominal', sort: '-x', title: null },
        x: { field: 'lines', type: 'quantitative', stack: true, title: 'lines' },
        color: {
          field: 'kind',
          type: 'nominal',
          scale: { domain: ['code', 'comment', 'blank'], range: ['#4e79a7', '#59a14f', '#bab0ac'] },
          title: null,
        },
      },
    });
  }
  const measured = panels.length;
  // An empty folder is an answer too: the chart says so, and the step succeeds (a report can still embed it).
  if (measured === 0) {
    const why =
      a.files.length === 0
        ? `no files found in ${a.path ?? '.'}`
        : `no lines or functions measured in ${a.path ?? '.'}`;
    panels.push({
      title: 'Nothing to chart',
      data: { values: [{ text: why }] },
      width,
      height: 40,
      mark: { type: 'text', fontSize: 14, align: 'center' },
      encoding: { text: { field: 'text', type: 'nominal' } },
    });
  }
  return {
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: title ?? `Code analysis of ${a.path ?? '.'}`, fontSize: 16 },
      config: { font: FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 } },
      background: 'white',
      padding: 12,
      vconcat: panels,
      resolve: { scale: { x: 'independent', y: 'independent', color: 'independent' } },
    },
    panels: measured,
  };
}
