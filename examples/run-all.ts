/**
 * `npm run examples`: runs every example of the seed README (this folder) as its own process, in order, in one
 * fresh temp folder with an embedded engine (its state in ./.codomyrmex there), and fails unless each one exits 0
 * by itself. Two are run twice, as a user re-running a script would: adding the same resource and finding the same
 * project again must work.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

export const EXAMPLES = [
  'quick-start-workflow',
  'orchestration-engine',
  'workflow-manager',
  'workflow-configuration',
  'performance-monitoring',
  'task-orchestrator',
  'quick-start-task',
  'project-manager',
  'quick-start-project',
  'resource-manager',
  'resource-configuration',
  'resource-configuration',
  'health-check',
  'metrics',
  'event-handlers',
  'complex-workflow',
  'mcp-tools',
  'project-manager',
];

const dir = await mkdtemp(join(tmpdir(), 'codomyrmex-examples-'));
await writeFile(
  join(dir, 'app.ts'),
  'export function greet(name: string): string {\n  // TODO: localise\n  return `hello ${name}`;\n}\n',
);
let failed = 0;
try {
  for (const name of EXAMPLES) {
    const started = Date.now();
    try {
      // A script that does not end by itself is a failure too: the timeout kills it.
      const { stdout } = await run(process.execPath, [join(here, `${name}.js`)], {
        cwd: dir,
        timeout: 120_000,
        env: { ...process.env, CODOMYRMEX_STORE: '' },
      });
      console.log(`ok   ${name} (${Date.now() - started} ms)\n${stdout.replace(/^/gm, '     ')}`);
    } catch (err) {
      failed += 1;
      const e = err as { code?: number | string; signal?: string; stdout?: string; stderr?: string };
      console.log(`FAIL ${name}: exit ${e.code ?? e.signal}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(
  failed === 0 ? `all ${EXAMPLES.length} example runs passed` : `${failed} of ${EXAMPLES.length} example runs failed`,
);
process.exitCode = failed === 0 ? 0 : 1;
