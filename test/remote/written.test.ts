/**
 * The files a step declared it wrote cross to the run with its result when the step runs on a remote worker (a
 * `codomyrmex worker` in its own folder, on a real nats-server): the CLI following the run over NATS lists them, and
 * not the folder another step's result names; a bad declaration made on the worker fails its step there, naming the
 * field.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWritten } from '../../src/edges/mcp/summary.js';
import type { WorkflowResult } from '../../src/model/workflow.js';
import { cli } from '../support/daemon.js';
import { joined, serving, useRemoteScene } from '../support/remote.js';

const remote = useRemoteScene();

const definition = {
  name: 'remote-written',
  steps: [
    { name: 'write', module: 'fs', action: 'write', parameters: { path: 'out/a.md', content: '# a\n' } },
    { name: 'read', module: 'core', action: 'echo', parameters: { path: 'src/app', output: 'src/app/index.ts' } },
    { name: 'bad', module: 'core', action: 'echo', parameters: { written: [42] } },
  ],
};

describe('written files from a remote worker', { timeout: 90_000 }, () => {
  it('reach the run and the CLI over NATS; a bad declaration fails its step on the worker, naming the field', async () => {
    const s = await remote.scene();
    const host = join(s.root, 'host-a');
    await mkdir(host);
    const d = s.daemon();
    await serving(d);
    s.worker('wa', [], 1, false, host);
    await joined(d, 'wa');
    await writeFile(join(s.root, 'w.json'), JSON.stringify(definition));
    const nats = ['--nats', s.url, '--subject-prefix', s.prefix];

    const json = await cli(s.root, ['exec', 'w.json', '--json', ...nats]);
    expect(json.code, json.stderr).toBe(1);
    const result = JSON.parse(json.stdout) as WorkflowResult;
    expect(result.steps['write']).toMatchObject({
      worker: 'wa',
      status: 'completed',
      result: { written: ['out/a.md'] },
    });
    expect(await readFile(join(host, 'out', 'a.md'), 'utf8')).toBe('# a\n');
    expect(result.steps['bad']).toMatchObject({ worker: 'wa', status: 'failed', error: { code: 'NON_RETRYABLE' } });
    expect(result.steps['bad']?.error?.message).toMatch(
      /core\.echo returned a value it cannot: result\.written\[0\]: must be a path/,
    );
    expect(runWritten(result).files).toEqual(['out/a.md']);

    const human = await cli(s.root, ['exec', 'w.json', ...nats]);
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe('reports and files written: out/a.md');
  });
});
