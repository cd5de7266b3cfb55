import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { z } from 'zod';
import { defineAction, defineModule } from './contract.js';
import { insideWorkingDir } from './paths.js';

const SKIP = new Set(['node_modules', '.git', 'dist', 'build', 'coverage', '.codomyrmex']);
const DEFAULT_EXTENSIONS = ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.jsx', '.py', '.go', '.rs', '.java', '.c', '.h', '.cpp', '.rb', '.sh'];

export interface FileReport {
  path: string;
  lines: number;
  blank: number;
  todos: number;
  longLines: number;
  bytes: number;
}

/** Line-level quality facts of a source tree: sizes, TODO/FIXME markers, over-long lines. */
export default defineModule({
  name: 'static_analysis',
  description: 'Measures a source tree: files, lines, TODO/FIXME markers, over-long lines',
  actions: {
    analyze_code_quality: defineAction({
      description: 'Walks `path` (inside the working folder) and reports per-file and total line counts, TODOs and lines over `maxLineLength`.',
      params: z
        .object({
          path: z.string().default('.'),
          extensions: z.array(z.string().regex(/^\.\w+$/)).default(DEFAULT_EXTENSIONS),
          maxFiles: z.number().int().min(1).max(100_000).default(5000),
          maxLineLength: z.number().int().min(20).default(120),
        })
        .strict(),
      run: async ({ path, extensions, maxFiles, maxLineLength }, ctx) => {
        const root = insideWorkingDir(path);
        const wanted = new Set(extensions);
        const files: FileReport[] = [];
        let truncated = false;
        const walk = async (dir: string): Promise<void> => {
          for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
            if (ctx.signal.aborted || truncated) return;
            const full = join(dir, entry.name);
            if (entry.isDirectory()) {
              if (!SKIP.has(entry.name) && !entry.name.startsWith('.')) await walk(full);
            } else if (entry.isFile() && wanted.has(extname(entry.name))) {
              if (files.length >= maxFiles) {
                truncated = true;
                return;
              }
              const text = await readFile(full, 'utf8');
              const lines = text.split('\n');
              files.push({
                path: relative(process.cwd(), full) || entry.name,
                lines: lines.length,
                blank: lines.filter((l) => l.trim() === '').length,
                todos: (text.match(/\b(TODO|FIXME|XXX)\b/g) ?? []).length,
                longLines: lines.filter((l) => l.length > maxLineLength).length,
                bytes: Buffer.byteLength(text),
              });
            }
          }
        };
        if ((await stat(root)).isDirectory()) await walk(root);
        else {
          const text = await readFile(root, 'utf8');
          const lines = text.split('\n');
          files.push({ path: relative(process.cwd(), root), lines: lines.length, blank: lines.filter((l) => l.trim() === '').length, todos: (text.match(/\b(TODO|FIXME|XXX)\b/g) ?? []).length, longLines: lines.filter((l) => l.length > maxLineLength).length, bytes: Buffer.byteLength(text) });
        }
        const sum = (k: keyof Omit<FileReport, 'path'>): number => files.reduce((n, f) => n + f[k], 0);
        return {
          path,
          files,
          truncated,
          totals: { files: files.length, lines: sum('lines'), blank: sum('blank'), todos: sum('todos'), longLines: sum('longLines'), bytes: sum('bytes') },
        };
      },
    }),
  },
});
