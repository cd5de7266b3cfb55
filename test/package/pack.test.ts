/**
 * The package as a user gets it: `npm pack` of the built tree, installed into an empty folder with npm, then the
 * CLI through `npx`, the main job, an import from plain JavaScript, and a TypeScript consumer type-checked with
 * `skipLibCheck` off (so every shipped declaration must resolve without our dev dependencies).
 *
 * The install takes npm's cache first (`--prefer-offline`: `npm ci` filled it) and better-sqlite3's compiled
 * addon from this checkout through prebuild-install's local prebuilds, so it costs seconds, not a 50 s compile.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

let dir: string;
let tarball: string;
let files: string[];

/** Runs a command in the consumer folder; npm's own update check and funding lines stay quiet. */
function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}) {
  return run(cmd, args, {
    cwd: opts.cwd ?? join(dir, 'app'),
    env: {
      ...process.env,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      ...opts.env,
    },
    timeout: opts.timeout ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'codomyrmex-pack-'));
  // The built tree is packed as it is (npm test builds first), so no `prepare` run here.
  const { stdout } = await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: packagePath(),
  });
  const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  tarball = join(dir, info.filename);
  files = info.files.map((f) => f.path);

  // better-sqlite3's install script asks prebuild-install for a binary before compiling; hand it ours.
  const sqlite = JSON.parse(readFileSync(packagePath('node_modules', 'better-sqlite3', 'package.json'), 'utf8')) as {
    version: string;
  };
  const prebuilds = join(dir, 'prebuilds');
  mkdirSync(join(prebuilds, 'build', 'Release'), { recursive: true });
  copyFileSync(
    packagePath('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'),
    join(prebuilds, 'build', 'Release', 'better_sqlite3.node'),
  );
  const name = `better-sqlite3-v${sqlite.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await sh('tar', ['-czf', join(prebuilds, name), '-C', prebuilds, 'build'], { cwd: dir });

  mkdirSync(join(dir, 'app'));
  writeFileSync(
    join(dir, 'app', 'package.json'),
    JSON.stringify(
      { name: 'consumer', private: true, type: 'module', overrides: { 'better-sqlite3': sqlite.version } },
      null,
      2,
    ),
  );
  await sh(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball,
      `@types/node@${pkg.devDependencies['@types/node']}`,
    ],
    {
      env: { npm_config_better_sqlite3_local_prebuilds: prebuilds },
      timeout: 300_000,
    },
  );
}, 360_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('the npm package', () => {
  it('ships the built code, its config and docs, and nothing from tests or benchmarks', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'CHANGELOG.md',
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/edges/cli/main.js',
        'config/workflows/ai-analysis.yaml',
        'console/index.html',
      ]),
    );
    // The templates' own starter tests belong to the templates.
    expect(files.some((f) => f.startsWith('config/templates/ai_analysis/files/tests/'))).toBe(true);
    expect(files).toEqual(expect.arrayContaining(['docs/getting-started.md', 'docs/images/console-run.png']));
    const unwanted = files.filter(
      (f) =>
        /^(test|benchmarks|examples|src|\.ci|dist\/(test|benchmarks|examples|api))\//.test(f) ||
        (/\.test\.[jt]s$/.test(f) && !f.startsWith('config/templates/')),
    );
    expect(unwanted).toEqual([]);
  });

  it('runs `npx codomyrmex --version`', async () => {
    const { stdout } = await sh('npx', ['--no-install', 'codomyrmex', '--version']);
    expect(stdout.trim()).toBe(pkg.version);
  }, 60_000);

  it('runs the main job: `npx codomyrmex workflow run ai-analysis --param path=.`', async () => {
    writeFileSync(
      join(dir, 'app', 'sum.js'),
      'export function sum(a, b) {\n  if (a > b) return a + b;\n  return b + a;\n}\n',
    );
    const { stdout } = await sh(
      'npx',
      ['--no-install', 'codomyrmex', 'workflow', 'run', 'ai-analysis', '--param', 'path=.', '--json'],
      { timeout: 240_000 },
    );
    const result = JSON.parse(stdout) as {
      success: boolean;
      status: string;
      steps: Record<string, { status: string }>;
    };
    expect(result).toMatchObject({ success: true, status: 'succeeded' });
    expect(Object.values(result.steps).every((s) => s.status === 'completed')).toBe(true);
    expect(existsSync(join(dir, 'app', '.codomyrmex', 'reports', 'ai-analysis.svg'))).toBe(true);
  }, 240_000);

  it("imports { getOrchestrationEngine } from 'codomyrmex' and runs a task", async () => {
    writeFileSync(
      join(dir, 'app', 'main.js'),
      [
        "import { getOrchestrationEngine } from 'codomyrmex';",
        'const engine = getOrchestrationEngine();',
        "const r = await engine.tasks.executeTask({ module: 'core', action: 'echo', parameters: { value: 'from the package' } });",
        'console.log(JSON.stringify(r.result));',
        'await engine.shutdown();',
      ].join('\n'),
    );
    const { stdout } = await sh(process.execPath, ['main.js']);
    expect(stdout.trim()).toBe('"from the package"');
  }, 60_000);

  it('type-checks a TypeScript consumer with skipLibCheck off', async () => {
    writeFileSync(
      join(dir, 'app', 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    writeFileSync(
      join(dir, 'app', 'consumer.ts'),
      [
        "import { createOrchestrationEngine, getOrchestrationEngine, step, Task, TaskPriority, type TaskResult, type WorkflowResult } from 'codomyrmex';",
        "import { NatsBus } from 'codomyrmex/nats';",
        "import { RemoteEngine } from 'codomyrmex/nats/client';",
        "import { serveStdio } from 'codomyrmex/mcp';",
        "const engine = createOrchestrationEngine({ threads: 1, durability: 'relaxed' });",
        "const r: TaskResult = await engine.tasks.executeTask(new Task({ module: 'core', action: 'echo', priority: TaskPriority.HIGH }));",
        "const w: WorkflowResult = await getOrchestrationEngine().executeWorkflow('ai-analysis', { params: { path: '.' } });",
        "export const all = [r.success, w.success, step({ name: 'a', module: 'core', action: 'noop' }), NatsBus, RemoteEngine, serveStdio];",
      ].join('\n'),
    );
    // tsc reports on stdout; a failure shows its errors rather than only the exit code.
    const checked = await sh(process.execPath, [
      packagePath('node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.json',
    ]).catch((err: Error & { stdout?: string }) => ({ stdout: err.stdout || err.message }));
    expect(checked.stdout).toBe('');
  }, 180_000);
});
