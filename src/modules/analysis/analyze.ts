/**
 * The work of `static_analysis.analyze_code_quality`: reads the listed files (a few at a time), measures lines per
 * language and, for JavaScript/TypeScript, every function; then ranks files and functions.
 */
import { open, stat } from 'node:fs/promises';
import { basename, relative } from 'node:path';
import type { FunctionReport } from './jsFunctions.js';
import { analyzeJs, loadParser } from './jsFunctions.js';
import type { LineCounts } from './languages.js';
import { classifyLines, languageOf, scanComments } from './languages.js';
import type { TestsAround } from './tests.js';
import { TEST_FILE_RE, testsAround } from './tests.js';
import { walkTree } from './walk.js';

export interface AnalysisOptions {
  include: readonly string[];
  exclude: readonly string[];
  gitignore: boolean;
  maxFileSize: number;
  maxFiles: number;
  maxLineLength: number;
  top: number;
  signal: AbortSignal;
}

export interface FileReport extends LineCounts {
  path: string;
  language: string;
  bytes: number;
  /** Looks like a test file (`*.test.*`, `*.spec.*`, `test/`, `tests/`, `__tests__/`, `test_*.py`, `*_test.go`). */
  test: boolean;
  functions: number;
  /** Sum of the cyclomatic complexity of its functions plus its top-level decisions (JS/TS only, else 0). */
  complexity: number;
  maxComplexity: number;
  parseError?: string;
}

export interface RankedFunction extends FunctionReport {
  file: string;
}

export interface LanguageTotals {
  files: number;
  lines: number;
  code: number;
  comment: number;
  blank: number;
}

export interface AnalysisReport {
  path: string;
  totals: LanguageTotals & {
    bytes: number;
    todos: number;
    fixmes: number;
    longLines: number;
    functions: number;
    testFiles: number;
  };
  languages: Record<string, LanguageTotals>;
  files: FileReport[];
  largestFiles: { path: string; lines: number; code: number }[];
  complexFiles: { path: string; complexity: number; functions: number }[];
  complexFunctions: RankedFunction[];
  longFunctions: RankedFunction[];
  deepFunctions: RankedFunction[];
  skipped: {
    binary: number;
    oversized: number;
    unreadable: number;
    gitignored: number;
    excluded: number;
    unknownType: number;
    parseErrors: number;
    examples: { path: string; reason: string }[];
  };
  truncated: boolean;
  /** With no test files in the path: the test files of the repository around it (null: not looked, or nothing around). */
  testsAround: TestsAround | null;
  durationMs: number;
}

const CONCURRENCY = 16;

/** Reads a file; null when it is binary (a NUL byte in its first 8 KiB). */
async function readText(abs: string, size: number): Promise<{ text: string } | null> {
  const fh = await open(abs, 'r');
  try {
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(buf, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    const head = buf.subarray(0, Math.min(off, 8192));
    if (head.includes(0)) return null;
    return { text: buf.toString('utf8', 0, off) };
  } finally {
    await fh.close();
  }
}

const topBy = <T>(items: readonly T[], key: (t: T) => number, n: number): T[] =>
  items
    .filter((t) => key(t) > 0)
    .sort((a, b) => key(b) - key(a))
    .slice(0, n);

/** Analyses `root` (a real path inside `workDir`, a folder or one file). */
export async function analyzeTree(
  root: string,
  workDir: string,
  isFile: boolean,
  opts: AnalysisOptions,
): Promise<AnalysisReport> {
  const started = performance.now();
  const listing = isFile
    ? { files: [root], ignored: 0, excluded: 0, truncated: false }
    : await walkTree(root, workDir, opts);
  const skipped: AnalysisReport['skipped'] = {
    binary: 0,
    oversized: 0,
    unreadable: 0,
    gitignored: listing.ignored,
    excluded: listing.excluded,
    unknownType: 0,
    parseErrors: 0,
    examples: [],
  };
  const skip = (path: string, reason: string): void => {
    if (skipped.examples.length < 20) skipped.examples.push({ path, reason });
  };
  const display = (abs: string): string => relative(workDir, abs) || basename(abs);
  const candidates = listing.files.filter((f) => {
    if (languageOf(basename(f))) return true;
    skipped.unknownType++;
    return false;
  });
  const needsParser = candidates.some((f) => languageOf(basename(f))?.parsed);
  const parse = needsParser ? await loadParser() : null;
  const reports: (FileReport | null)[] = new Array<FileReport | null>(candidates.length).fill(null);
  const functions: RankedFunction[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < candidates.length && !opts.signal.aborted) {
      const i = next++;
      const abs = candidates[i] as string;
      const path = display(abs);
      const lang = languageOf(basename(abs));
      if (!lang) continue;
      let read: { text: string } | null;
      try {
        const st = await stat(abs);
        if (st.size > opts.maxFileSize) {
          skipped.oversized++;
          skip(path, `${st.size} bytes, over maxFileSize ${opts.maxFileSize}`);
          continue;
        }
        read = await readText(abs, st.size);
      } catch (err) {
        skipped.unreadable++;
        skip(path, `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        continue;
      }
      if (read === null) {
        skipped.binary++;
        skip(path, 'binary');
        continue;
      }
      const text = read.text;
      let counts: LineCounts;
      const report: Omit<FileReport, keyof LineCounts> = {
        path,
        language: lang.name,
        bytes: Buffer.byteLength(text),
        test: TEST_FILE_RE.test(path.split('\\').join('/')),
        functions: 0,
        complexity: 0,
        maxComplexity: 0,
      };
      if (lang.parsed && parse) {
        const js = analyzeJs(parse, abs, text);
        counts = classifyLines(text, js.comments, opts.maxLineLength);
        report.functions = js.functions.length;
        report.complexity = js.topLevelDecisions + js.functions.reduce((n, f) => n + f.complexity, 0);
        report.maxComplexity = js.functions.reduce((m, f) => Math.max(m, f.complexity), 0);
        if (js.error) {
          skipped.parseErrors++;
          report.parseError = js.error;
          skip(path, `parse error (lines counted, functions may be missing): ${js.error}`);
        }
        for (const f of js.functions) functions.push({ file: path, ...f });
      } else {
        counts = classifyLines(text, scanComments(text, lang), opts.maxLineLength);
      }
      reports[i] = { ...report, ...counts };
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, candidates.length) }, worker));
  const files = reports.filter((r): r is FileReport => r !== null);
  const languages: Record<string, LanguageTotals> = {};
  const totals: AnalysisReport['totals'] = {
    files: 0,
    lines: 0,
    code: 0,
    comment: 0,
    blank: 0,
    bytes: 0,
    todos: 0,
    fixmes: 0,
    longLines: 0,
    functions: 0,
    testFiles: 0,
  };
  for (const f of files) {
    const l = (languages[f.language] ??= { files: 0, lines: 0, code: 0, comment: 0, blank: 0 });
    l.files++;
    l.lines += f.lines;
    l.code += f.code;
    l.comment += f.comment;
    l.blank += f.blank;
    totals.files++;
    totals.lines += f.lines;
    totals.code += f.code;
    totals.comment += f.comment;
    totals.blank += f.blank;
    totals.bytes += f.bytes;
    totals.todos += f.todos;
    totals.fixmes += f.fixmes;
    totals.longLines += f.longLines;
    totals.functions += f.functions;
    if (f.test) totals.testFiles++;
  }
  // Stable ranking: ties break by file, then line.
  functions.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  const n = opts.top;
  return {
    path: relative(workDir, root) || '.',
    totals,
    languages,
    files,
    largestFiles: topBy(files, (f) => f.lines, n).map((f) => ({ path: f.path, lines: f.lines, code: f.code })),
    complexFiles: topBy(files, (f) => f.complexity, n).map((f) => ({
      path: f.path,
      complexity: f.complexity,
      functions: f.functions,
    })),
    complexFunctions: topBy(functions, (f) => f.complexity, n),
    longFunctions: topBy(functions, (f) => f.lines, n),
    deepFunctions: topBy(functions, (f) => f.nesting, n),
    skipped,
    truncated: listing.truncated,
    // No tests in the path: look where the conventions put them in the repository around it (src/ and test/).
    testsAround: totals.testFiles === 0 && !isFile ? await testsAround(root, workDir, opts.signal) : null,
    durationMs: Math.round(performance.now() - started),
  };
}
