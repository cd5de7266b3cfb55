import { symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { testEngine } from '../helpers.js';
import { enterTempDir, writeTree } from './fixture.js';

const A_TS =
  [
    '// TODO: one',
    '/** doc */',
    'export function simple(x: number): number {',
    '  return x + 1;',
    '}',
    '',
    'export function branchy(a: number, b: boolean): number {',
    '  if (a > 0 && b) {',
    '    for (let i = 0; i < a; i++) {',
    '      if (i % 2) {',
    '        while (b) { b = false; }',
    '      }',
    '    }',
    '  } else if (a < 0) {',
    '    return a ?? 0; // FIXME: negative',
    '  }',
    '  return a > 10 ? 1 : 2;',
    '}',
    "const s = 'TODO in a string is not a marker';",
    'export const arrow = (t: string) => t.length || 0;',
  ].join('\n') + '\n';

const UTIL_PY = '# comment\ndef f(x):\n    """doc"""\n    return x  # trailing\n\n';

interface Analysis {
  totals: Record<string, number>;
  languages: Record<string, Record<string, number>>;
  files: { path: string; test: boolean; functions: number; complexity: number; parseError?: string }[];
  complexFunctions: { file: string; name: string; line: number; lines: number; complexity: number; nesting: number }[];
  deepFunctions: { name: string; nesting: number }[];
  skipped: Record<string, number> & { examples: { path: string; reason: string }[] };
}

describe('static_analysis.analyze_code_quality (in worker threads, on a fixture repository)', () => {
  let engine: OrchestrationEngine;
  let dir: string;
  let leave: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, leave } = await enterTempDir('analysis'));
    await writeTree(dir, {
      '.gitignore': 'ignored/\n*.log\n',
      'src/a.ts': A_TS,
      'src/a.test.ts': "import { simple } from './a';\ntest('x', () => simple(1));\n",
      'src/util.py': UTIL_PY,
      'src/broken.ts': 'function ( {\n',
      'src/bin.ts': new Uint8Array([0x63, 0x6f, 0, 1, 2, 3]),
      'src/big.js': `// ${'x'.repeat(5000)}\n`,
      'ignored/x.ts': 'export const ignored = 1;\n',
      'debug.log': 'log\n',
      'node_modules/pkg/index.js': 'module.exports = 1;\n',
      'README.md': '# Title\n\n<!-- note -->\ntext\n',
    });
    await symlink(tmpdir(), join(dir, 'out-link'));
    engine = testEngine({ threads: 1 });
  });
  afterAll(async () => {
    await engine.shutdown();
    await leave();
  });

  const analyze = async (parameters: Record<string, unknown>): Promise<Analysis> => {
    const r = await engine.tasks.executeTask({
      module: 'static_analysis',
      action: 'analyze_code_quality',
      parameters,
      maxRetries: 0,
    });
    expect(r.error).toBeNull();
    return r.result as Analysis;
  };

  it('counts files and code, comment and blank lines per language, respecting .gitignore and skipping binaries and oversized files', async () => {
    const a = await analyze({ maxFileSize: 2000 });
    expect(a.languages['TypeScript']).toEqual({ files: 3, lines: 23, code: 20, comment: 2, blank: 1 });
    expect(a.languages['Python']).toEqual({ files: 1, lines: 5, code: 2, comment: 2, blank: 1 });
    expect(a.languages['Markdown']).toEqual({ files: 1, lines: 4, code: 2, comment: 1, blank: 1 });
    expect(a.files.map((f) => f.path)).toEqual([
      'README.md',
      'src/a.test.ts',
      'src/a.ts',
      'src/broken.ts',
      'src/util.py',
    ]);
    expect(a.totals).toMatchObject({ files: 5, todos: 1, fixmes: 1, testFiles: 1, functions: 4 });
    expect(a.skipped).toMatchObject({
      binary: 1,
      oversized: 1,
      gitignored: 2,
      excluded: 1,
      parseErrors: 1,
      unknownType: 1,
    });
    expect(a.skipped.examples.map((e) => `${e.path}: ${e.reason.split(' ')[0]}`).sort()).toEqual([
      'src/big.js: 5004',
      'src/bin.ts: binary',
      'src/broken.ts: parse',
    ]);
  });

  it('measures every JS/TS function with a real parser: complexity, length, nesting', async () => {
    const a = await analyze({ path: 'src/a.ts' });
    expect(a.complexFunctions.map((f) => [f.name, f.line, f.lines, f.complexity, f.nesting])).toEqual([
      ['branchy', 7, 12, 9, 4],
      ['arrow', 20, 1, 2, 0],
      ['simple', 3, 3, 1, 0],
    ]);
    expect(a.files[0]).toMatchObject({ path: 'src/a.ts', functions: 3, complexity: 12 });
    expect(a.deepFunctions[0]).toMatchObject({ name: 'branchy', nesting: 4 });
  });

  it('include, exclude and gitignore: false change what is measured', async () => {
    expect((await analyze({ include: ['*.py'] })).files.map((f) => f.path)).toEqual(['src/util.py']);
    // `exclude` replaces the default list (node_modules/, dist/, ...).
    expect((await analyze({ exclude: ['src/'] })).files.map((f) => f.path)).toEqual([
      'README.md',
      'node_modules/pkg/index.js',
    ]);
    const all = await analyze({ gitignore: false, exclude: [], maxFileSize: 100_000 });
    expect(all.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['ignored/x.ts', 'node_modules/pkg/index.js', 'src/big.js']),
    );
  });

  it('refuses paths outside the working folder (../, absolute, symlinks out) without retrying', async () => {
    for (const path of ['..', tmpdir(), 'out-link', 'out-link/x']) {
      const r = await engine.tasks.executeTask({
        module: 'static_analysis',
        action: 'analyze_code_quality',
        parameters: { path },
        maxRetries: 3,
      });
      expect(r, path).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'NON_RETRYABLE' } });
      expect(r.error?.message).toMatch(/outside the working folder/);
    }
    const missing = await engine.tasks.executeTask({
      module: 'static_analysis',
      action: 'analyze_code_quality',
      parameters: { path: 'nope' },
      maxRetries: 3,
    });
    expect(missing.error?.message).toMatch(/path: "nope" does not exist/);
  });

  it('survives a file whose expression nests thousands deep (no stack overflow in the walk)', async () => {
    await writeFile(
      join(dir, 'deep.js'),
      `const v = ${'('.repeat(3000)}1${')'.repeat(3000)};\nconst w = ${Array.from({ length: 5000 }, (_, i) => `a${i}`).join(' && ')};\n`,
    );
    const a = await analyze({ path: 'deep.js' });
    expect(a.files[0]).toMatchObject({ path: 'deep.js', complexity: 4999 });
  });
});
