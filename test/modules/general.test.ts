import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { testEngine } from '../helpers.js';
import { enterTempDir, writeTree } from './fixture.js';

const sh = promisify(execFile);

describe('general modules: shell, fs, http, git_operations, documentation', () => {
  let engine: OrchestrationEngine;
  let dir: string;
  let outside: string;
  let leave: () => Promise<void>;
  let url: string;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/json') {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            method: req.method,
            got: body ? (JSON.parse(body) as unknown) : null,
            auth: req.headers['x-token'] ?? null,
          }),
        );
      } else if (req.url === '/missing') {
        res.statusCode = 404;
        res.end('no such thing');
      } else if (req.url === '/big') res.end('x'.repeat(50_000));
      else if (req.url === '/hang') {
        /* never answers */
      } else res.end('plain');
    });
  });
  beforeAll(async () => {
    ({ dir, leave } = await enterTempDir('general'));
    outside = await mkdtemp(join(tmpdir(), 'codomyrmex-general-out-'));
    await symlink(outside, join(dir, 'linkdir'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    engine = testEngine({ threads: 2 });
  });
  afterAll(async () => {
    await engine.shutdown();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await leave();
    await rm(outside, { recursive: true, force: true });
  });

  const run = (
    module: string,
    action: string,
    parameters: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ) => engine.tasks.executeTask({ module, action, parameters, maxRetries: 0, ...extra });

  it('shell.run bounds a flood of output (head and tail kept, the middle noted), passes env and stdin, keeps cwd inside', async () => {
    const flood = await run('shell', 'run', {
      command: process.execPath,
      args: ['-e', 'process.stdout.write("START" + "y".repeat(5e6) + "END")'],
      maxOutputBytes: 4096,
    });
    expect(flood.status).toBe('completed');
    const out = flood.result as { stdout: string; stdoutBytes: number; truncated: boolean };
    expect(out).toMatchObject({ stdoutBytes: 5_000_008, truncated: true });
    expect(out.stdout.startsWith('START')).toBe(true);
    expect(out.stdout.endsWith('END')).toBe(true);
    expect(out.stdout).toMatch(/\[… 4995912 bytes of output truncated …\]/);
    expect(out.stdout.length).toBeLessThan(5000);
    const env = await run('shell', 'run', {
      command: process.execPath,
      args: ['-e', 'process.stdin.pipe(process.stdout); process.stderr.write(process.env.GREETING)'],
      env: { GREETING: 'hi' },
      input: 'from stdin',
    });
    expect(env.result).toMatchObject({ stdout: 'from stdin', stderr: 'hi', exitCode: 0, truncated: false });
    expect(env.result).not.toHaveProperty('written');
    // `writes` declares what the command writes (relative to its cwd): those there once it ends are `written`.
    await writeTree(dir, { 'pkg/package.json': '{}' });
    const built = await run('shell', 'run', {
      command: process.execPath,
      args: ['-e', 'require("fs").mkdirSync("dist"); require("fs").writeFileSync("dist/app.js", "")'],
      cwd: 'pkg',
      writes: ['dist', 'coverage'],
    });
    expect(built.result).toMatchObject({ exitCode: 0, written: ['pkg/dist'] });
    await rm(join(dir, 'pkg'), { recursive: true });
    const leaks = await run('shell', 'run', { command: 'true', writes: ['linkdir/out.txt'] });
    expect(leaks.error?.message).toMatch(/writes\[0\]: .* is outside the working folder/);
    const escaped = await run('shell', 'run', { command: 'ls', cwd: 'linkdir' });
    expect(escaped.error?.message).toMatch(/cwd: "linkdir" is outside the working folder/);
    const missing = await run('shell', 'run', { command: 'no-such-program-xyz' }, { maxRetries: 2 });
    expect(missing).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'NON_RETRYABLE' } });
    expect(missing.error?.message).toMatch(/command "no-such-program-xyz" not found/);
  });

  it('fs: write, read, list, copy, remove inside the working folder; symlinks out refused', async () => {
    expect((await run('fs', 'write', { path: 'a/b/c.txt', content: 'hello' })).result).toEqual({
      path: 'a/b/c.txt',
      bytes: 5,
      written: ['a/b/c.txt'],
    });
    expect((await run('fs', 'read', { path: 'a/b/c.txt' })).result).toMatchObject({ content: 'hello', bytes: 5 });
    const exists = await run('fs', 'write', { path: 'a/b/c.txt', content: 'again', overwrite: false });
    expect(exists.error?.message).toMatch(/already exists/);
    // A copy declares its target (here the folder it copied into), not each file.
    expect((await run('fs', 'copy', { from: 'a', to: 'copy' })).result).toMatchObject({
      files: 1,
      bytes: 5,
      written: ['copy'],
    });
    expect(await readFile(join(dir, 'copy', 'b', 'c.txt'), 'utf8')).toBe('hello');
    const into = await run('fs', 'copy', { from: 'a', to: 'a/inner' });
    expect(into.error?.message).toMatch(/cannot be copied into itself/);
    const listed = (await run('fs', 'list', { path: '.', recursive: true })).result as {
      entries: { path: string; type: string }[];
    };
    expect(listed.entries.map((e) => `${e.type} ${e.path}`)).toEqual([
      'dir a',
      'dir a/b',
      'file a/b/c.txt',
      'dir copy',
      'dir copy/b',
      'file copy/b/c.txt',
      'symlink linkdir',
    ]);
    for (const [action, params] of [
      ['write', { path: 'linkdir/x.txt', content: 'x' }],
      ['read', { path: 'linkdir/x.txt' }],
      ['list', { path: 'linkdir' }],
      ['copy', { from: 'a', to: 'linkdir/a' }],
      ['remove', { path: '../x' }],
      ['write', { path: '/tmp/abs.txt', content: 'x' }],
    ] as const) {
      const r = await run('fs', action, params);
      expect(r.status, `${action} ${JSON.stringify(params)}`).toBe('failed');
      expect(r.error?.message).toMatch(/outside the working folder/);
    }
    const dirNoRecursive = await run('fs', 'remove', { path: 'copy' });
    expect(dirNoRecursive.error?.message).toMatch(/is a folder; pass recursive: true/);
    expect((await run('fs', 'remove', { path: 'copy', recursive: true })).result).toMatchObject({
      removed: true,
      type: 'dir',
    });
    // Removing the symlink removes the link, never what it points to.
    expect((await run('fs', 'remove', { path: 'linkdir' })).result).toMatchObject({ removed: true, type: 'symlink' });
    expect((await stat(outside)).isDirectory()).toBe(true);
    await symlink(outside, join(dir, 'linkdir'));
    const binary = await run('fs', 'write', {
      path: 'bin.dat',
      content: Buffer.from([0, 1, 2]).toString('base64'),
      encoding: 'base64',
    });
    expect(binary.status).toBe('completed');
    expect((await run('fs', 'read', { path: 'bin.dat' })).error?.message).toMatch(
      /is binary; read it with encoding "base64"/,
    );
    expect((await run('fs', 'read', { path: 'a' })).error?.message).toMatch(/is not a file/);
  });

  it('http.request sends JSON with headers and parses the answer; fails on status, size, refusal and hangs', async () => {
    const ok = await run('http', 'request', {
      url: `${url}/json`,
      method: 'POST',
      json: { a: 1 },
      headers: { 'x-token': 't' },
    });
    expect(ok.result).toMatchObject({ status: 200, body: { method: 'POST', got: { a: 1 }, auth: 't' } });
    expect((await run('http', 'request', { url: `${url}/text` })).result).toMatchObject({ body: 'plain' });
    const notFound = await run(
      'http',
      'request',
      { url: `${url}/missing` },
      { maxRetries: 2, retry: { initialDelay: 0 } },
    );
    expect(notFound).toMatchObject({ status: 'failed', attempts: 1 });
    expect(notFound.error?.message).toMatch(/HTTP 404: no such thing/);
    expect((await run('http', 'request', { url: `${url}/missing`, expectStatus: [404] })).result).toMatchObject({
      status: 404,
    });
    const big = await run('http', 'request', { url: `${url}/big`, maxBytes: 1000 });
    expect(big.error?.message).toMatch(/over maxBytes 1000/);
    const hang = await run('http', 'request', { url: `${url}/hang`, timeoutMs: 200 });
    expect(hang.error?.message).toMatch(/no answer within 200 ms/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await run(
      'http',
      'request',
      { url: `http://127.0.0.1:${port}/` },
      { maxRetries: 1, retry: { initialDelay: 0 } },
    );
    expect(refused).toMatchObject({ status: 'failed', attempts: 2 });
    expect(refused.error?.message).toMatch(/connection refused/);
    await expect(run('http', 'request', { url: 'file:///etc/passwd' })).rejects.toThrow(
      /must be an http:\/\/ or https:\/\/ URL/,
    );
  });

  it('git_operations: status, log and diff_summary of a real repository; a folder outside git fails clearly', async () => {
    await writeTree(dir, { 'repo/a.txt': 'one\n', 'repo/b.txt': 'two\n' });
    const git = (...args: string[]) =>
      sh('git', ['-C', join(dir, 'repo'), '-c', 'user.name=T', '-c', 'user.email=t@example.com', ...args]);
    await git('init', '-q', '-b', 'main');
    await git('add', '.');
    await git('commit', '-q', '-m', 'first');
    await writeTree(dir, { 'repo/a.txt': 'one\nmore\nlines\n', 'repo/new.txt': 'x' });
    const status = (await run('git_operations', 'status', { path: 'repo' })).result;
    expect(status).toMatchObject({ branch: 'main', clean: false, counts: { staged: 0, unstaged: 1, untracked: 1 } });
    const log = (await run('git_operations', 'log', { path: 'repo' })).result as {
      commits: { subject: string; author: string }[];
    };
    expect(log.commits).toMatchObject([{ subject: 'first', author: 'T' }]);
    const diff = (await run('git_operations', 'diff_summary', { path: 'repo' })).result;
    expect(diff).toMatchObject({
      files: [{ path: 'a.txt', added: 2, deleted: 0 }],
      totals: { files: 1, added: 2, deleted: 0 },
    });
    const notRepo = await run('git_operations', 'status', { path: 'a' });
    expect(notRepo).toMatchObject({ status: 'failed', error: { code: 'NON_RETRYABLE' } });
    expect(notRepo.error?.message).toMatch(/not inside a git repository/);
    await expect(run('git_operations', 'log', { path: 'repo', revision: '--output=/tmp/x' })).rejects.toThrow(
      /revision/,
    );
  });

  it('documentation.generate_docs writes an index of folders, files and exports', async () => {
    await writeTree(dir, {
      'proj/src/math.ts':
        '/** Small math helpers. */\n\n/** Adds two numbers. More text. */\nexport function add(a: number, b: number) { return a + b; }\nexport const PI = 3.14;\nexport default class Calc {}\n',
      'proj/src/index.ts': "export * from './math.js';\n",
      'proj/lib/tool.py': 'print(1)\n',
    });
    const r = await run('documentation', 'generate_docs', { path: 'proj', output: 'proj/INDEX.md' });
    // It read `proj` and wrote the index: only the index is declared as written.
    expect(r.result).toMatchObject({
      output: 'proj/INDEX.md',
      folders: 2,
      files: 3,
      exports: 4,
      written: ['proj/INDEX.md'],
    });
    const md = await readFile(join(dir, 'proj', 'INDEX.md'), 'utf8');
    expect(md).toContain('## src/');
    expect(md).toContain('- **math.ts**: Small math helpers.');
    expect(md).toContain('  - `add` (function): Adds two numbers.');
    expect(md).toContain('  - `PI` (const)');
    expect(md).toContain('  - `default` (class)');
    expect(md).toContain('  - `* from ./math.js` (re-export)');
    expect(md).toContain('- **tool.py**');
  });
});
