/**
 * Where a source tree's tests are: inside the analysed path, or where the language's conventions put them in the
 * repository around it (`src/` analysed, `test/` beside it). The insights rules read this instead of concluding
 * "no tests" from the analysed folder alone.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { walkTree } from './walk.js';

/** Test files by the common conventions: `test/`, `tests/`, `__tests__/`, `spec/`, `*.test.*`, `*.spec.*`, `test_*.py`, `*_test.*`. */
export const TEST_FILE_RE =
  /(^|\/)(tests?|__tests__|spec)\/|\.(test|spec)\.[^/]+$|(^|\/)test_[^/]+\.py$|_test\.[^/.]+$/;

/** What the search looked for, in words, for findings to say. */
export const TEST_CONVENTIONS = 'test/, tests/, __tests__/, spec/, *.test.*, *.spec.*, *_test.*, test_*.py';

/** Files that mark a repository's (or a package's) root. */
const ROOT_MARKERS = [
  '.git',
  'package.json',
  'pyproject.toml',
  'setup.py',
  'go.mod',
  'Cargo.toml',
  'pom.xml',
  'build.gradle',
];

/** The most files listed while looking around (a huge monorepo is not walked whole for this). */
const MAX_FILES = 20_000;

export interface TestsAround {
  /** The folder searched (relative to the working folder; `.` for itself). */
  root: string;
  /** What was looked for. */
  conventions: string;
  /** Test files found outside the analysed path, relative to the working folder (at most 2,000 listed). */
  files: string[];
  /** How many there are (when more than listed). */
  count: number;
  /** The top-level folders they are in (`test`, `packages/a/tests`). */
  folders: string[];
}

/** The nearest folder from `start` up to `workDir` that holds a repository marker; `workDir` when none does. */
function repositoryRoot(start: string, workDir: string): string {
  let dir = start;
  for (;;) {
    if (ROOT_MARKERS.some((m) => existsSync(join(dir, m)))) return dir;
    if (dir === workDir || !dir.startsWith(workDir + sep)) return workDir;
    dir = dirname(dir);
  }
}

/**
 * Test files in the repository around `root` (an analysed folder inside `workDir`), outside `root` itself. Null when
 * `root` is the repository's root (the analysis already saw everything).
 */
export async function testsAround(root: string, workDir: string, signal: AbortSignal): Promise<TestsAround | null> {
  if (root === workDir || !root.startsWith(workDir + sep)) return null;
  const repo = repositoryRoot(root, workDir);
  if (repo === root) return null;
  const listing = await walkTree(repo, workDir, {
    include: [],
    exclude: ['node_modules/', 'dist/', 'build/', 'coverage/', '.codomyrmex/', 'vendor/', '.venv/', 'target/'],
    gitignore: true,
    maxFiles: MAX_FILES,
    signal,
  });
  const inside = root + sep;
  const found = listing.files
    .filter((f) => !f.startsWith(inside) && TEST_FILE_RE.test(relative(repo, f).split(sep).join('/')))
    .map((f) => relative(workDir, f).split(sep).join('/'));
  const folders = [
    ...new Set(
      found.map((f) => {
        const m = /^(.*?(?:^|\/)(?:tests?|__tests__|spec))\//.exec(f);
        return m?.[1] ?? (f.includes('/') ? f.slice(0, f.lastIndexOf('/')) : '.');
      }),
    ),
  ].slice(0, 20);
  return {
    root: relative(workDir, repo).split(sep).join('/') || '.',
    conventions: TEST_CONVENTIONS,
    files: found.slice(0, 2000),
    count: found.length,
    folders,
  };
}
