/**
 * Docs that run: every block of the README and docs/ marked runnable (see docs/architecture.md, "Docs that run") is
 * executed, each page in a fresh temp folder against the built CLI, and an output block shown after a command is
 * compared with what it printed.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { normalizeOutput, runnablePages } from './runnable.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh folder with `codomyrmex` on PATH: the built CLI of this checkout. */
function sandbox(): { cwd: string; env: NodeJS.ProcessEnv } {
  const cwd = mkdtempSync(join(tmpdir(), 'codomyrmex-docs-'));
  dirs.push(cwd);
  const bin = join(cwd, '.bin');
  mkdirSync(bin);
  const shim = join(bin, 'codomyrmex');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${packagePath('dist', 'src', 'edges', 'cli', 'main.js')}" "$@"\n`);
  chmodSync(shim, 0o755);
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODOMYRMEX_')));
  return { cwd, env: { ...env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, CODOMYRMEX_THREADS: '1', NO_COLOR: '1' } };
}

describe('docs that run', () => {
  const pages = runnablePages();

  it('finds runnable blocks in the README and the guides', () => {
    expect(pages.map((p) => p.file)).toEqual(expect.arrayContaining(['README.md', 'docs/getting-started.md']));
  });

  for (const page of pages) {
    it(`runs the blocks of ${page.file}`, async () => {
      const { cwd, env } = sandbox();
      for (const step of page.steps) {
        const where = `${page.file}:${step.line}`;
        if (step.kind === 'file') {
          writeFileSync(join(cwd, step.name), step.text + '\n');
          continue;
        }
        const out = await run('bash', ['-eo', 'pipefail', '-c', step.script], { cwd, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }).catch((err: Error & { stdout?: string; stderr?: string }) => {
          throw new Error(`${where}: the block failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
        });
        if (step.expect !== undefined) {
          const shown = normalizeOutput(step.expect);
          const printed = normalizeOutput(out.stdout);
          expect(printed.includes(shown), `${where}: the output shown is not what the block prints\n--- shown\n${shown}\n--- printed\n${printed}`).toBe(true);
        }
      }
    }, 300_000);
  }
});
