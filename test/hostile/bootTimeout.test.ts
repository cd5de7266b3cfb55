/**
 * Issue 20 item 8: a module that never finishes loading inside worker threads fails the start at the configured
 * `workerBootTimeoutMs` (counted from when the threads started loading), not ~5 s later, and the failed start
 * releases every handle: a script that catches the error exits by itself. A real child process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';

const CHILD = packagePath('dist', 'test', 'fixtures', 'bootHangChild.js');
const HANGS = packagePath('dist', 'test', 'fixtures', 'hostileImportHangs');
const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-boot-timeout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a module that hangs at import in worker threads', () => {
  it('fails the start at workerBootTimeoutMs, and a script that catches it exits by itself', async () => {
    const timeoutMs = 1500;
    const child = spawn(process.execPath, [CHILD, HANGS, join(dir, 'state.db'), String(timeoutMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // No kill: a handle left open would keep the child alive and this wait would time out.
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, err).toBe(0);
    const match = /^rejected (\d+) (.*)$/m.exec(out);
    expect(match, out).not.toBeNull();
    expect(match?.[2]).toBe(
      `moduleDirs: a worker thread could not load the modules: the worker threads did not finish loading their modules within ${timeoutMs} ms (option workerBootTimeoutMs); a module's top-level code never finishes inside a worker thread`,
    );
    // Before: the threads were given 5 s more to finish loading before the failure was reported.
    expect(Number(match?.[1])).toBeLessThan(timeoutMs + 5000);
  }, 60_000);
});
