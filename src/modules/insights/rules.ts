/**
 * Rule-based findings from a static analysis: deterministic, ranked and explained. Every finding says what was
 * measured, why it matters and what to do, with the threshold it crossed.
 */

export type Severity = 'high' | 'medium' | 'low';

export interface Finding {
  rule:
    | 'complex-function'
    | 'long-function'
    | 'deep-nesting'
    | 'hotspot-file'
    | 'large-file'
    | 'untested-area'
    | 'no-tests'
    | 'comment-density'
    | 'markers'
    | 'coverage-gap';
  severity: Severity;
  /** What it is about: a file, `file:line name` for a function, a folder, or a language. */
  target: string;
  title: string;
  /** Why it matters. */
  explanation: string;
  suggestion: string;
  /** Measured value over its threshold (ties rank by it). */
  ratio: number;
}

/** The parts of `static_analysis.analyze_code_quality` output the rules read (all optional but `totals`). */
export interface AnalysisInput {
  totals: {
    files: number;
    lines: number;
    code?: number;
    comment?: number;
    todos?: number;
    fixmes?: number;
    functions?: number;
    testFiles?: number;
  };
  languages?: Record<string, { files: number; code: number; comment: number }>;
  files?: { path: string; language?: string; lines: number; code?: number; complexity?: number; test?: boolean }[];
  complexFunctions?: FnInput[];
  longFunctions?: FnInput[];
  deepFunctions?: FnInput[];
  skipped?: { parseErrors?: number; binary?: number; oversized?: number };
  truncated?: boolean;
  /** The analysed path, relative to the working folder. */
  path?: string;
  /** With no tests in the path: the test files of the repository around it, and what was looked for. */
  testsAround?: { root: string; conventions: string; files: string[]; count: number; folders: string[] } | null;
}

interface FnInput {
  file: string;
  name: string;
  line: number;
  lines: number;
  complexity: number;
  nesting: number;
}

export const THRESHOLDS = {
  complexity: { medium: 10, high: 20 },
  functionLines: { medium: 60, high: 120 },
  nesting: { medium: 4, high: 6 },
  fileLines: { medium: 400, high: 800 },
  hotspotComplexity: 60,
  /** Comment lines per code+comment line, below which a language with enough code is flagged. */
  commentDensity: 0.05,
  commentDensityMinCode: 500,
} as const;

const RANK: Record<Severity, number> = { high: 3, medium: 2, low: 1 };

const sev = (v: number, t: { medium: number; high: number }): Severity | null =>
  v > t.high ? 'high' : v > t.medium ? 'medium' : null;
const fnTarget = (f: FnInput): string => `${f.file}:${f.line} ${f.name}`;
const CODE_LANGS = new Set([
  'TypeScript',
  'JavaScript',
  'Python',
  'Go',
  'Rust',
  'Java',
  'Kotlin',
  'Swift',
  'C',
  'C++',
  'C#',
  'PHP',
  'Ruby',
  'Shell',
]);

/** The stem a test file is named after: `foo.test.ts`, `foo.spec.js`, `test_foo.py`, `foo_test.go` → `foo`. */
function testStem(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base
    .replace(/\.(test|spec)\.[^.]+$/, '')
    .replace(/^test_/, '')
    .replace(/_test\.go$/, '')
    .replace(/\.[^.]+$/, '')
    .toLowerCase();
}

/** Ranks findings: severity first, then how far past its threshold, then target (so the order is stable). */
export function rank(findings: Finding[]): Finding[] {
  return findings.sort(
    (a, b) =>
      RANK[b.severity] - RANK[a.severity] ||
      b.ratio - a.ratio ||
      (a.target < b.target ? -1 : a.target > b.target ? 1 : 0),
  );
}

/** Every finding the rules make for an analysis, ranked. */
export function findingsFor(a: AnalysisInput): Finding[] {
  const out: Finding[] = [];
  // Tests are long and nested by nature (describe/it callbacks): their size is not a finding.
  const tests = new Set((a.files ?? []).filter((f) => f.test).map((f) => f.path));
  const seen = new Set<string>();
  const fns = [...(a.complexFunctions ?? []), ...(a.longFunctions ?? []), ...(a.deepFunctions ?? [])];
  for (const f of fns) {
    const key = fnTarget(f);
    if (seen.has(key) || tests.has(f.file)) continue;
    seen.add(key);
    const c = sev(f.complexity, THRESHOLDS.complexity);
    if (c) {
      out.push({
        rule: 'complex-function',
        severity: c,
        target: key,
        ratio: f.complexity / THRESHOLDS.complexity.medium,
        title: `${f.name} has cyclomatic complexity ${f.complexity}`,
        explanation: `${f.complexity} independent paths run through it (over ${THRESHOLDS.complexity.medium} is hard to test fully and to change safely)`,
        suggestion: 'split it into smaller functions, or replace branches with a lookup table or early returns',
      });
    }
    const l = sev(f.lines, THRESHOLDS.functionLines);
    if (l) {
      out.push({
        rule: 'long-function',
        severity: l,
        target: key,
        ratio: f.lines / THRESHOLDS.functionLines.medium,
        title: `${f.name} is ${f.lines} lines long`,
        explanation: `a function over ${THRESHOLDS.functionLines.medium} lines rarely does one thing`,
        suggestion: 'extract the parts that have their own name',
      });
    }
    const n = f.nesting >= THRESHOLDS.nesting.high ? 'high' : f.nesting >= THRESHOLDS.nesting.medium ? 'medium' : null;
    if (n) {
      out.push({
        rule: 'deep-nesting',
        severity: n,
        target: key,
        ratio: f.nesting / THRESHOLDS.nesting.medium,
        title: `${f.name} nests control flow ${f.nesting} deep`,
        explanation: `at ${f.nesting} levels a reader has to hold every enclosing condition in mind`,
        suggestion: 'invert conditions into early returns (guard clauses) or extract the inner loop',
      });
    }
  }
  const files = a.files ?? [];
  for (const f of files) {
    if (f.test) continue;
    const complexity = f.complexity ?? 0;
    if (complexity > THRESHOLDS.hotspotComplexity && f.lines > THRESHOLDS.fileLines.medium) {
      out.push({
        rule: 'hotspot-file',
        severity: 'high',
        target: f.path,
        ratio: complexity / THRESHOLDS.hotspotComplexity,
        title: `${f.path} is a hotspot: ${f.lines} lines, total complexity ${complexity}`,
        explanation: 'large and branchy at once: changes here are the most likely to break something',
        suggestion: 'split it by concern and cover its branches with tests first',
      });
      continue;
    }
    const s = sev(f.lines, THRESHOLDS.fileLines);
    if (s) {
      out.push({
        rule: 'large-file',
        severity: s === 'high' ? 'medium' : 'low',
        target: f.path,
        ratio: f.lines / THRESHOLDS.fileLines.medium,
        title: `${f.path} has ${f.lines} lines`,
        explanation: `files over ${THRESHOLDS.fileLines.medium} lines usually hold more than one concern`,
        suggestion: 'split it into modules named for what each does',
      });
    }
  }
  out.push(...testFindings(a));
  for (const [lang, l] of Object.entries(a.languages ?? {})) {
    if (!CODE_LANGS.has(lang) || l.code < THRESHOLDS.commentDensityMinCode) continue;
    const density = l.comment / Math.max(1, l.code + l.comment);
    if (density < THRESHOLDS.commentDensity) {
      out.push({
        rule: 'comment-density',
        severity: 'low',
        target: lang,
        ratio: THRESHOLDS.commentDensity / Math.max(density, 0.001),
        title: `${lang}: ${(density * 100).toFixed(1)}% of lines are comments`,
        explanation: `${l.comment} comment lines for ${l.code} lines of code (under ${THRESHOLDS.commentDensity * 100}%): intent and invariants are probably undocumented`,
        suggestion: 'document each exported function and the non-obvious decisions',
      });
    }
  }
  const fixmes = a.totals.fixmes ?? 0;
  const todos = a.totals.todos ?? 0;
  if (fixmes + todos > 0) {
    out.push({
      rule: 'markers',
      severity: fixmes > 0 ? 'medium' : 'low',
      target: 'TODO/FIXME',
      ratio: fixmes + todos / 10,
      title: `${todos} TODO and ${fixmes} FIXME markers`,
      explanation: 'FIXME marks known defects; TODO marks unfinished work',
      suggestion: 'turn them into tracked issues, fixing the FIXMEs first',
    });
  }
  const gaps = (a.skipped?.parseErrors ?? 0) + (a.truncated ? 1 : 0);
  if (gaps > 0) {
    out.push({
      rule: 'coverage-gap',
      severity: a.truncated ? 'medium' : 'low',
      target: 'analysis',
      ratio: gaps,
      title: a.truncated ? 'the analysis stopped at maxFiles' : `${a.skipped?.parseErrors} files did not parse`,
      explanation: 'some code was not measured, so the findings may miss hotspots',
      suggestion: a.truncated
        ? 'raise maxFiles or narrow path/include'
        : 'fix the syntax errors (see skipped.examples)',
    });
  }
  return rank(out);
}

function testFindings(a: AnalysisInput): Finding[] {
  const files = a.files ?? [];
  const code = files.filter((f) => !f.test && f.language !== undefined && CODE_LANGS.has(f.language));
  if (code.length === 0) return [];
  // Tests in the analysed path, and those the conventions put beside it (`test/` next to `src/`).
  const around = a.testsAround ?? null;
  const tests = [...files.filter((f) => f.test).map((f) => f.path), ...(around?.files ?? [])];
  if (tests.length === 0) {
    const path = a.path ?? a.files?.[0]?.path.split('/')[0] ?? '.';
    const where = around ? `in ${path} and in the repository around it (${around.root})` : `in ${path}`;
    const top = (a.complexFunctions ?? [])
      .slice(0, 3)
      .map((f) => `${f.name} (${f.file}:${f.line}, complexity ${f.complexity})`);
    return [
      {
        rule: 'no-tests',
        severity: 'high',
        target: path,
        ratio: code.length,
        title: `no test files among ${code.length} source files`,
        explanation: `no test file was found ${where}, looking for ${around?.conventions ?? 'test/, tests/, __tests__/, spec/, *.test.*, *.spec.*, *_test.*, test_*.py'}: nothing checks that the code does what it should, and every change is a gamble`,
        suggestion: top.length
          ? `start with tests for the most complex functions: ${top.join(', ')}`
          : 'start with tests for the code that changes most often',
      },
    ];
  }
  const stems = new Set(tests.map(testStem));
  const byFolder = new Map<string, { total: number; untested: string[]; complexity: number }>();
  for (const f of code) {
    const folder = f.path.includes('/') ? f.path.slice(0, f.path.lastIndexOf('/')) : '.';
    const g = byFolder.get(folder) ?? { total: 0, untested: [], complexity: 0 };
    g.total++;
    const stem = testStem(f.path);
    if (!stems.has(stem) && stem !== 'index') {
      g.untested.push(f.path);
      g.complexity += f.complexity ?? 0;
    }
    byFolder.set(folder, g);
  }
  const out: Finding[] = [];
  for (const [folder, g] of byFolder) {
    if (g.untested.length === 0 || g.untested.length / g.total < 0.5) continue;
    const names = g.untested
      .slice(0, 5)
      .map((p) => p.slice(p.lastIndexOf('/') + 1))
      .join(', ');
    out.push({
      rule: 'untested-area',
      severity: g.complexity > THRESHOLDS.hotspotComplexity ? 'medium' : 'low',
      target: folder,
      ratio: g.untested.length / g.total + g.complexity / 1000,
      title: `${folder}: ${g.untested.length} of ${g.total} files have no test named after them`,
      explanation: `no test file matches ${names}${g.untested.length > 5 ? ', …' : ''} (complexity ${g.complexity} untested)`,
      suggestion: 'add tests named after these files, most complex first',
    });
  }
  return out;
}
