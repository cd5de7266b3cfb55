import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { defineAction, defineModule } from './contract.js';
import { analyzeTree } from './analysis/analyze.js';
import { insideWorkingDir, workingDir } from './paths.js';

const pattern = z.string().min(1).max(500);

/** Measures a source tree: lines per language, functions and their complexity (JS/TS), markers, rankings. */
export default defineModule({
  name: 'static_analysis',
  description:
    'Measures a source tree: lines per language, JS/TS functions with complexity, length and nesting, TODO/FIXME markers',
  actions: {
    analyze_code_quality: defineAction({
      description:
        'Walks `path` (a folder or file inside the working folder; default: the working folder) as git sees it (.gitignore respected), and reports files and lines (code, comment, blank) per language; for JS/TS every function with its cyclomatic complexity, length and nesting (oxc-parser); the largest and most complex files and functions; TODO/FIXME counts; and what it skipped (binary, oversized, ignored) and why.',
      output:
        '{ path, totals: { files, lines, code, comment, blank, bytes, todos, fixmes, longLines, functions, testFiles }, languages: { [name]: { files, lines, code, comment, blank } }, files: [{ path, language, lines, code, comment, blank, todos, fixmes, longLines, bytes, test, functions, complexity, maxComplexity }], largestFiles, complexFiles, complexFunctions, longFunctions, deepFunctions: [{ file, name, line, lines, complexity, nesting, params }], skipped: { binary, oversized, unreadable, gitignored, excluded, unknownType, parseErrors, examples }, truncated, testsAround: null | { root, conventions, files, count, folders } (with no tests in path: those of the repository around it, e.g. test/ beside src/), durationMs }',
      params: z
        .object({
          path: z.string().min(1).default('.').describe('folder or file to analyse, inside the working folder'),
          include: z
            .array(pattern)
            .max(200)
            .default([])
            .describe('gitignore-style patterns a file must match (default: every measured language)'),
          exclude: z
            .array(pattern)
            .max(200)
            .default(['node_modules/', 'dist/', 'build/', 'coverage/', '.codomyrmex/'])
            .describe('gitignore-style patterns to leave out'),
          gitignore: z.boolean().default(true).describe('respect .gitignore files'),
          maxFileSize: z
            .number()
            .int()
            .min(1)
            .max(256 * 2 ** 20)
            .default(2 ** 20)
            .describe('files larger than this many bytes are skipped (and counted)'),
          maxFiles: z.number().int().min(1).max(1_000_000).default(100_000),
          maxLineLength: z.number().int().min(20).default(120),
          top: z.number().int().min(1).max(1000).default(10).describe('entries in each ranking'),
        })
        .strict(),
      run: async (p, ctx) => {
        const root = insideWorkingDir(p.path, 'path');
        const isFile = (await stat(root)).isFile();
        return analyzeTree(root, workingDir(), isFile, { ...p, signal: ctx.signal });
      },
    }),
  },
});
