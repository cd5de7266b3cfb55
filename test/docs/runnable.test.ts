/**
 * Docs that run: every block of the README and docs/ marked runnable (see docs/architecture.md, "Docs that run") is
 * executed, each page in a fresh temp folder against the built CLI and package, and an output block shown after a
 * block is compared with what it printed. A page with a `nats` block gets its own nats-server.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';
import { normalizeOutput, runnablePages, shellParts, showsOutput, type Step } from './runnable.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * A fresh folder with `codomyrmex` on PATH (the built CLI of this checkout) and `node_modules/codomyrmex` linked to
 * this checkout, so `import ... from 'codomyrmex'` resolves as in an installed package (and `zod`, which a project
 * that writes action modules installs). The daemon's HTTP edge takes a free port.
 */
function sandbox(): { cwd: string; env: NodeJS.ProcessEnv } {
  const cwd = mkdtempSync(join(tmpdir(), 'codomyrmex-docs-'));
  dirs.push(cwd);
  const bin = join(cwd, '.bin');
  mkdirSync(bin);
  const shim = join(bin, 'codomyrmex');
  writeFileSync(
    shim,
    `#!/bin/sh\nexec "${process.execPath}" "${packagePath('dist', 'src', 'edges', 'cli', 'main.js')}" "$@"\n`,
  );
  chmodSync(shim, 0o755);
  mkdirSync(join(cwd, 'node_modules'));
  symlinkSync(packagePath(), join(cwd, 'node_modules', 'codomyrmex'), 'dir');
  // What a user installs next to it to write an action module's parameter schemas (docs/modules.md).
  symlinkSync(packagePath('node_modules', 'zod'), join(cwd, 'node_modules', 'zod'), 'dir');
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('CODOMYRMEX_')),
  );
  return {
    cwd,
    env: {
      ...env,
      PATH: `${bin}:${process.env['PATH'] ?? ''}`,
      CODOMYRMEX_THREADS: '1',
      CODOMYRMEX_HTTP: '127.0.0.1:0',
      NO_COLOR: '1',
    },
  };
}

/** Starts a long-running command (a daemon, a worker) and resolves once its log shows `ready`. */
function background(
  command: string,
  ready: RegExp,
  cwd: string,
  env: NodeJS.ProcessEnv,
  where: string,
): Promise<ChildProcess> {
  const child = spawn('bash', ['-c', `exec ${command}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      log += d.toString();
      if (ready.test(log)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${where}: \`${command}\` exited (${code}) before it was ready:\n${log.slice(-2000)}`)),
    );
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Runs one block; resolves with what it printed on stdout. */
async function runStep(
  step: Extract<Step, { kind: 'run' }>,
  where: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  nats: NatsServer | null,
  children: ChildProcess[],
): Promise<string> {
  const fail = (err: Error & { stdout?: string; stderr?: string }): never => {
    throw new Error(`${where}: the block failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  };
  const options = { cwd, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 };
  if (step.language !== 'sh') {
    const program = join(cwd, `.block-${step.line}.mjs`);
    const text =
      step.language === 'ts'
        ? ts.transpileModule(step.script, {
            compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
          }).outputText
        : step.script;
    writeFileSync(program, text);
    return (await run(process.execPath, [program], options).catch(fail)).stdout;
  }
  let stdout = '';
  for (const part of shellParts(step.script, step.nats && nats ? nats.url : null)) {
    if (part.kind === 'background') children.push(await background(part.command, part.ready, cwd, env, where));
    else stdout += (await run('bash', ['-eo', 'pipefail', '-c', part.text], options).catch(fail)).stdout;
  }
  return stdout;
}

describe('docs that run', () => {
  const pages = runnablePages();

  it('finds runnable blocks in the README and the guides', () => {
    expect(pages.map((p) => p.file)).toEqual(expect.arrayContaining(['README.md', 'docs/getting-started.md']));
  });

  it('type-checks the TypeScript blocks against the package as a consumer sees it', () => {
    const { cwd } = sandbox();
    const files: string[] = [];
    const origin = new Map<string, string>();
    for (const page of pages) {
      for (const step of page.steps) {
        if (step.kind !== 'run' || step.language !== 'ts') continue;
        const file = join(cwd, `block-${files.length}.mts`);
        writeFileSync(file, step.script);
        files.push(file);
        origin.set(file, `${page.file}:${step.line}`);
      }
    }
    expect(files.length).toBeGreaterThan(3);
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [packagePath('node_modules', '@types')],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file
        ? `${origin.get(d.file.fileName) ?? d.file.fileName} (block line ${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1})`
        : '';
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  }, 120_000);

  for (const page of pages) {
    it(`runs the blocks of ${page.file}`, async () => {
      const { cwd, env } = sandbox();
      const nats = page.nats ? await startNatsServer() : null;
      const children: ChildProcess[] = [];
      try {
        for (const step of page.steps) {
          const where = `${page.file}:${step.line}`;
          if (step.kind === 'file') {
            mkdirSync(join(cwd, step.name, '..'), { recursive: true });
            writeFileSync(join(cwd, step.name), step.text + '\n');
            continue;
          }
          const stdout = await runStep(step, where, cwd, env, nats, children);
          if (step.expect !== undefined) {
            const shown = normalizeOutput(step.expect);
            const printed = normalizeOutput(stdout);
            expect(
              showsOutput(step.expect, stdout),
              `${where}: the output shown is not what the block prints\n--- shown\n${shown}\n--- printed\n${printed}`,
            ).toBe(true);
          }
        }
      } finally {
        await Promise.all(children.map(stop));
        await nats?.dispose();
      }
    }, 300_000);
  }
});
