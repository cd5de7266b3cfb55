/**
 * Issue 16 item 10 and the CLI parts of item 14: one bad file in `.codomyrmex/workflows` is named (file, line) and
 * left out, and every command still works; bad option values exit 2; a missing file is a clear error.
 */
import { runCli } from '../support/cli.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrchestrationEngine } from '../../src/index.js';
import { recordEvents } from '../helpers.js';

const cli = (cwd: string, ...args: string[]) => runCli(cwd, args, { CODOMYRMEX_STORE: 'memory' });

const GOOD = 'name: good\nsteps:\n  - name: a\n    module: core\n    action: echo\n';
const BROKEN = 'name: broken\nsteps:\n  - name: a\n    module: [core\n';
const INVALID = 'name: invalid\nsteps:\n  - name: a\n    module: core\n    action: nope\n';
const BOMB = [
  'a0: &a0 [x, x, x, x, x, x, x, x, x]',
  ...Array.from(
    { length: 8 },
    (_, i) => `a${i + 1}: &a${i + 1} [${Array.from({ length: 9 }, () => `*a${i}`).join(', ')}]`,
  ),
  'name: bomb',
  'steps: []',
].join('\n');

let cwd: string;
let flows: string;
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-hostile-files-'));
  flows = join(cwd, '.codomyrmex', 'workflows');
  await mkdir(flows, { recursive: true });
  await writeFile(join(flows, 'a-broken.yaml'), BROKEN);
  await writeFile(join(flows, 'b-bomb.yaml'), BOMB);
  await writeFile(join(flows, 'c-good.yaml'), GOOD);
  await writeFile(join(flows, 'd-invalid.yaml'), INVALID);
});
afterAll(() => rm(cwd, { recursive: true, force: true }));

describe('bad definition files', () => {
  it('do not break the CLI: task run works, each bad file is named on stderr (with its line when known)', async () => {
    const r = await cli(cwd, '--threads', '1', 'task', 'run', 'core.echo', '-p', '{"value": 1}', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'completed', result: 1 });
    expect(r.stderr).toContain(`codomyrmex: skipped ${join(flows, 'a-broken.yaml')}:5: invalid YAML`);
    expect(r.stderr).toContain(
      `codomyrmex: skipped ${join(flows, 'b-bomb.yaml')}: its YAML aliases expand past 100 nodes`,
    );
    expect(r.stderr).toContain(
      `codomyrmex: skipped ${join(flows, 'd-invalid.yaml')}: workflow "invalid": step "a": unknown action "core.nope"`,
    );
    expect(r.stderr).not.toMatch(/ReferenceError|\n\s+at /);
  });

  it('leave the good files loaded and runnable', async () => {
    const list = await cli(cwd, '--threads', '1', 'workflow', 'list', '--json');
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((w) => w.name)).toContain('good');
    const ran = await cli(cwd, '--threads', '1', 'workflow', 'run', 'good', '--json');
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ status: 'succeeded' });
  });

  it('are published as definition_skipped by an engine with badDefinitionFiles: "skip"; the default still fails the start', async () => {
    const engine = createOrchestrationEngine({ threads: 1, workflowDirs: [flows], badDefinitionFiles: 'skip' });
    const events = recordEvents(engine);
    try {
      await engine.ready();
      expect(events.of('definition_skipped').map((e) => e.data.file)).toEqual([
        join(flows, 'a-broken.yaml'),
        join(flows, 'b-bomb.yaml'),
        join(flows, 'd-invalid.yaml'),
      ]);
      expect((await engine.workflows.listWorkflows()).map((w) => w.name)).toEqual(['good']);
    } finally {
      await engine.shutdown();
    }
    const strict = createOrchestrationEngine({ threads: 1, workflowDirs: [flows] });
    await expect(strict.ready()).rejects.toThrow(/a-broken\.yaml:5: invalid YAML/);
    await strict.shutdown();
  });
});

describe('CLI usage errors', () => {
  it('refuses --threads 0 and other bad option values with exit code 2', async () => {
    const zero = await cli(cwd, '--threads', '0', 'actions');
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--threads must be a whole number of at least 1 (got "0")');
    const timeout = await cli(cwd, '--threads', '1', 'task', 'run', 'core.echo', '--timeout', 'soon');
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('--timeout must be a positive number (got "soon")');
    const unknown = await cli(cwd, '--threads', '1', '--no-such-flag', 'actions');
    expect(unknown.code).toBe(2);
    const help = await cli(cwd, '--help');
    expect(help.code).toBe(0);
  });

  it('workflow validate of a missing file prints a clear error, not an ENOENT stack', async () => {
    const r = await cli(cwd, '--threads', '1', 'workflow', 'validate', join(cwd, 'missing.yaml'));
    expect(r.code).toBe(3); // not found (issue 14's exit codes)
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      `codomyrmex: ${join(cwd, 'missing.yaml')}: no such file; check the path`,
    );
    expect(r.stderr).not.toMatch(/ENOENT|\n\s+at /);
  });
});
