/**
 * Lists the files of a source tree the way git would see them: `.gitignore` files (the `ignore` package, full
 * gitignore semantics) from the analysed folder down, plus those of its ancestors up to the repository root inside
 * the working folder, `include`/`exclude` patterns (gitignore syntax too), and never `.git`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Ignore } from 'ignore';
import { isInside } from '../paths.js';

type CreateIgnore = (options?: { ignorecase?: boolean }) => Ignore;
let createIgnore: CreateIgnore = () => {
  throw new Error('walkTree loads the ignore package first');
};
let loaded = false;

/** Loads the `ignore` package on first use (workers that never walk a tree do not pay for it). */
async function loadIgnore(): Promise<void> {
  if (loaded) return;
  createIgnore = (await import('ignore')).default;
  loaded = true;
}

interface RuleSet {
  base: string;
  ig: Ignore;
}

export interface WalkOptions {
  include: readonly string[];
  exclude: readonly string[];
  gitignore: boolean;
  maxFiles: number;
  signal: AbortSignal;
}

export interface WalkResult {
  /** Absolute paths, in a stable order (sorted per folder). */
  files: string[];
  /** Entries left out by .gitignore rules. */
  ignored: number;
  /** Entries left out by `exclude` or not matched by `include`. */
  excluded: number;
  /** More than `maxFiles` files matched: the rest were not listed. */
  truncated: boolean;
}

const toPosix = (p: string): string => (sep === '/' ? p : p.split(sep).join('/'));

function readRules(dir: string): RuleSet | null {
  const file = join(dir, '.gitignore');
  if (!existsSync(file)) return null;
  try {
    return { base: dir, ig: createIgnore().add(readFileSync(file, 'utf8')) };
  } catch {
    return null;
  }
}

function decide(rules: readonly RuleSet[], abs: string, isDir: boolean): boolean {
  let ignored = false;
  for (const r of rules) {
    const rel = toPosix(relative(r.base, abs));
    if (rel === '' || rel.startsWith('..')) continue;
    const t = r.ig.test(isDir ? `${rel}/` : rel);
    if (t.ignored) ignored = true;
    else if (t.unignored) ignored = false;
  }
  return ignored;
}

/**
 * The ancestor rule sets of `root`, from the repository root (the nearest ancestor holding `.git`, not above the
 * working folder) down to `root`'s parent. A set that would ignore `root` itself is dropped: the caller asked for
 * that folder by name.
 */
function ancestorRules(root: string, workDir: string): RuleSet[] {
  const chain: string[] = [];
  for (let d = dirname(root); isInside(workDir, d); d = dirname(d)) {
    chain.unshift(d);
    if (existsSync(join(d, '.git')) || d === workDir || dirname(d) === d) break;
  }
  const sets: RuleSet[] = [];
  for (const d of chain) {
    const r = readRules(d);
    if (r && !decide([r], root, true)) sets.push(r);
  }
  return sets;
}

/** Walks `root` (a real folder inside `workDir`), depth first, entries sorted by name. */
export async function walkTree(root: string, workDir: string, opts: WalkOptions): Promise<WalkResult> {
  await loadIgnore();
  const include = opts.include.length ? createIgnore().add([...opts.include]) : null;
  const exclude = createIgnore().add(['.git/', ...opts.exclude]);
  const out: WalkResult = { files: [], ignored: 0, excluded: 0, truncated: false };
  const base = opts.gitignore ? ancestorRules(root, workDir) : [];
  const visit = async (dir: string, rules: RuleSet[]): Promise<void> => {
    const own = opts.gitignore ? readRules(dir) : null;
    const here = own ? [...rules, own] : rules;
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (opts.signal.aborted || out.truncated) return;
      const abs = join(dir, entry.name);
      const isDir = entry.isDirectory();
      if (!isDir && !entry.isFile()) continue; // symlinks, sockets, devices: never followed
      const rel = toPosix(relative(root, abs));
      if (exclude.ignores(isDir ? `${rel}/` : rel)) {
        out.excluded++;
        continue;
      }
      if (here.length && decide(here, abs, isDir)) {
        out.ignored++;
        continue;
      }
      if (isDir) {
        await visit(abs, here);
        continue;
      }
      if (include && !include.ignores(rel)) {
        out.excluded++;
        continue;
      }
      if (out.files.length >= opts.maxFiles) {
        out.truncated = true;
        return;
      }
      out.files.push(abs);
    }
  };
  await visit(root, base);
  return out;
}
