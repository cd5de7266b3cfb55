import { execFile } from 'node:child_process';
import { z } from 'zod';
import { NonRetryableError } from '../errors.js';
import { defineAction, defineModule } from './contract.js';
import { displayPath, insideWorkingDir } from './paths.js';

/** Runs `git` in `cwd`; a folder that is not a repository, or git missing, fails without retry. */
function git(cwd: string, args: string[], signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      {
        cwd,
        signal,
        maxBuffer: 64 * 2 ** 20,
        encoding: 'utf8',
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          return reject(new NonRetryableError('git is not installed (or not on PATH)'));
        if (/not a git repository/i.test(stderr))
          return reject(new NonRetryableError(`path: ${displayPath(cwd)} is not inside a git repository`));
        if (/unknown revision|bad revision|ambiguous argument/i.test(stderr))
          return reject(new NonRetryableError(`git ${args[0]}: ${stderr.trim().split('\n')[0]}`));
        reject(new Error(`git ${args.join(' ')} failed: ${stderr.trim().slice(0, 500) || err.message}`));
      },
    );
  });
}

const pathParam = z.string().min(1).default('.').describe('a folder inside the working folder, in a git repository');
const revision = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w./~^@{}-]+$/, 'must be a revision such as HEAD~1, main or a commit hash')
  .refine((r) => !r.startsWith('-'), 'must not start with "-"');

/** Read-only git queries, through the `git` command. */
export default defineModule({
  name: 'git_operations',
  description: 'Git status, log and diff summaries (via the git command)',
  actions: {
    status: defineAction({
      description:
        'The branch, its upstream and ahead/behind counts, and changed files (staged, unstaged, untracked) of the repository at `path`.',
      output:
        '{ branch, upstream, ahead, behind, clean, files: [{ path, index, worktree }], counts: { staged, unstaged, untracked } }',
      params: z.object({ path: pathParam }).strict(),
      run: async ({ path }, ctx) => {
        const cwd = insideWorkingDir(path, 'path');
        const out = await git(cwd, ['status', '--porcelain=v1', '--branch', '-z'], ctx.signal);
        const parts = out.split('\0').filter(Boolean);
        let branch: string | null = null;
        let upstream: string | null = null;
        let ahead = 0;
        let behind = 0;
        const files: { path: string; index: string; worktree: string; from?: string }[] = [];
        for (let i = 0; i < parts.length; i++) {
          const p = parts[i] as string;
          if (p.startsWith('## ')) {
            // "## main...origin/main [ahead 1, behind 2]", "## No commits yet on main", "## HEAD (no branch)"
            let head = p.slice(3).replace(/^No commits yet on /, '');
            const bracket = head.indexOf(' [');
            const tracking = bracket >= 0 ? head.slice(bracket + 2, -1) : '';
            if (bracket >= 0) head = head.slice(0, bracket);
            const [b, u] = head.split('...');
            branch = b ?? null;
            upstream = u ?? null;
            ahead = Number(/ahead (\d+)/.exec(tracking)?.[1] ?? 0);
            behind = Number(/behind (\d+)/.exec(tracking)?.[1] ?? 0);
            continue;
          }
          const entry: { path: string; index: string; worktree: string; from?: string } = {
            index: p[0] ?? ' ',
            worktree: p[1] ?? ' ',
            path: p.slice(3),
          };
          if (entry.index === 'R' || entry.index === 'C') entry.from = parts[++i] as string;
          files.push(entry);
        }
        const counts = {
          staged: files.filter((f) => f.index !== ' ' && f.index !== '?').length,
          unstaged: files.filter((f) => f.worktree !== ' ' && f.worktree !== '?').length,
          untracked: files.filter((f) => f.index === '?').length,
        };
        return { branch, upstream, ahead, behind, clean: files.length === 0, files, counts };
      },
    }),
    log: defineAction({
      description: 'The last `max` commits reachable from `revision` (default HEAD) of the repository at `path`.',
      output: '{ commits: [{ hash, author, email, date, subject }] }',
      params: z
        .object({
          path: pathParam,
          max: z.number().int().min(1).max(10_000).default(20),
          revision: revision.default('HEAD'),
        })
        .strict(),
      run: async ({ path, max, revision: rev }, ctx) => {
        const cwd = insideWorkingDir(path, 'path');
        const out = await git(
          cwd,
          ['log', `-n${max}`, '--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1e', rev, '--'],
          ctx.signal,
        );
        const commits = out
          .split('\x1e')
          .map((r) => r.trim())
          .filter(Boolean)
          .map((r) => {
            const [hash, author, email, date, subject] = r.split('\x1f');
            return { hash, author, email, date, subject };
          });
        return { commits };
      },
    }),
    diff_summary: defineAction({
      description:
        'Lines added and deleted per file between `base` and the working tree (or `head`), or of the staged changes with `staged: true`.',
      output: '{ base, head, files: [{ path, added, deleted, binary }], totals: { files, added, deleted } }',
      params: z
        .object({
          path: pathParam,
          base: revision.default('HEAD'),
          head: revision.optional(),
          staged: z.boolean().default(false),
        })
        .strict(),
      run: async ({ path, base, head, staged }, ctx) => {
        const cwd = insideWorkingDir(path, 'path');
        const args = ['diff', '--numstat', '-z', ...(staged ? ['--cached'] : []), base, ...(head ? [head] : []), '--'];
        const out = await git(cwd, args, ctx.signal);
        const files: { path: string; added: number; deleted: number; binary: boolean }[] = [];
        const parts = out.split('\0');
        for (let i = 0; i < parts.length; i++) {
          const rec = parts[i];
          if (!rec) continue;
          const [a, d, name] = rec.split('\t');
          // A rename gives an empty name followed by the old and new paths as their own fields.
          const file = name === '' ? ((i += 2), parts[i] ?? '') : (name ?? '');
          files.push({
            path: file,
            added: a === '-' ? 0 : Number(a),
            deleted: d === '-' ? 0 : Number(d),
            binary: a === '-',
          });
        }
        const totals = {
          files: files.length,
          added: files.reduce((n, f) => n + f.added, 0),
          deleted: files.reduce((n, f) => n + f.deleted, 0),
        };
        return { base, head: head ?? (staged ? 'index' : 'worktree'), files, totals };
      },
    }),
  },
});
