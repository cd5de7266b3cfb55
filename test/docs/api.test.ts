/**
 * The library API reference (docs/reference/api/, `npm run docs:api`): TypeDoc's validation passes (every export and
 * every method documented, no broken `{@link}`), and the committed pages are what TypeDoc makes of the code today.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';

const run = promisify(execFile);
const COMMITTED = packagePath('docs', 'reference', 'api');

/** Every file under `dir`, as `path relative to dir -> text`. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

describe('API reference (TypeDoc)', () => {
  const out = mkdtempSync(join(tmpdir(), 'codomyrmex-api-'));
  let result: { code: number; log: string } = { code: -1, log: '' };
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  beforeAll(async () => {
    // typedoc.json: the package's entry points, treatValidationWarningsAsErrors with validation.notDocumented on.
    result = await run(process.execPath, [packagePath('node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], {
      cwd: packagePath(),
      env: { ...process.env, NO_COLOR: '1' },
      maxBuffer: 16 * 1024 * 1024,
    })
      .then((r) => ({ code: 0, log: r.stdout + r.stderr }))
      .catch((err: Error & { code?: number; stdout?: string; stderr?: string }) => ({
        code: err.code ?? 1,
        log: `${err.stdout ?? ''}${err.stderr ?? ''}`,
      }));
  }, 180_000);

  it('passes validation: every export documented, no broken link', () => {
    expect(
      result.log.split('\n').filter((l) => /warning|error/i.test(l) && !/Found 0 errors and 0 warnings/.test(l)),
    ).toEqual([]);
    expect(result.code).toBe(0);
  });

  it('is up to date (else: npm run docs:api, and commit docs/reference/api/)', () => {
    const fresh = tree(out);
    const committed = tree(COMMITTED);
    const stale = [...new Set([...fresh.keys(), ...committed.keys()])]
      .filter((f) => fresh.get(f) !== committed.get(f))
      .sort();
    expect(
      stale.map(
        (f) =>
          `docs/reference/api/${f} is ${!committed.has(f) ? 'missing' : !fresh.has(f) ? 'no longer generated' : 'out of date'}`,
      ),
    ).toEqual([]);
    expect(fresh.has('codomyrmex/classes/OrchestrationEngine.md')).toBe(true);
  });
});
