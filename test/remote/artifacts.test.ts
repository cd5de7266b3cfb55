/**
 * Artifacts across machines on a real nats-server: a daemon with no local threads and two `codomyrmex worker`
 * processes, each in its own folder (no shared disk). A step placed on one worker produces a file; the step after it,
 * placed on the other, finds this run's copy in its own folder (through the JetStream Object Store), and a run whose
 * producer registered nothing fails the consumer naming the artifact and the step instead of reading an older file.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from '../support/daemon.js';
import { describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { JetStreamArtifactStore } from '../../src/workers/jetstreamArtifacts.js';
import type { Scene } from '../support/remote.js';
import { joined, serving, useRemoteScene } from '../support/remote.js';

const remote = useRemoteScene();
let s: Scene;

/** Two steps: `make` on the worker tagged `a`, `use` on the one tagged `b`, reading make's artifact `out`. */
const handOver = (content: string, skip = false) => ({
  name: 'hand-over',
  steps: [
    {
      name: 'make',
      module: 'probe',
      action: 'produce',
      parameters: { file: 'made.txt', content, skip },
      placement: { tags: ['a'] },
    },
    {
      name: 'use',
      module: 'probe',
      action: 'consume',
      parameters: { file: '{{make.artifacts.out}}' },
      dependencies: ['make'],
      placement: { tags: ['b'] },
    },
  ],
});

describe('artifacts between remote workers', { timeout: 90_000 }, () => {
  it("a step on one worker reads the artifact of its upstream step made on the other, this run's copy each time; a producer that registers nothing fails its consumer", async () => {
    s = await remote.scene();
    const folderA = join(s.root, 'host-a');
    const folderB = join(s.root, 'host-b');
    await Promise.all([mkdir(folderA), mkdir(folderB)]);
    const d = s.daemon();
    await serving(d);
    s.worker('wa', ['--tags', 'a'], 1, true, folderA);
    s.worker('wb', ['--tags', 'b'], 1, true, folderB);
    await Promise.all([joined(d, 'wa'), joined(d, 'wb')]);
    const bus = await s.bus();

    const first = await bus.request('workflow.execute_complex', { definition: handOver('first run') });
    expect(first.status).toBe('succeeded');
    expect(first.steps['make']).toMatchObject({
      worker: 'wa',
      artifacts: [{ name: 'out', file: 'made.txt', size: 9, scope: first.runId }],
    });
    expect(first.steps['use']).toMatchObject({ worker: 'wb', result: { content: 'first run' } });
    const used = first.steps['use']?.result as { cwd: string; upstream: Record<string, Record<string, string>> };
    expect(used.cwd.endsWith('host-b')).toBe(true);
    const local = `.codomyrmex/artifacts/${first.runId}/make/out.txt`;
    expect(used.upstream).toEqual({ make: { out: local } });
    expect(await readFile(join(folderB, local), 'utf8')).toBe('first run');
    // Nothing of it was written to b's folder except through the store.
    await expect(readFile(join(folderB, 'made.txt'))).rejects.toThrow();

    const second = await bus.request('workflow.execute_complex', { definition: handOver('second, longer run') });
    expect(second.steps['use']).toMatchObject({ worker: 'wb', result: { content: 'second, longer run' } });

    // The producer writes its file but registers no artifact: the consumer fails naming both, reading no older copy.
    const third = await bus.request('workflow.execute_complex', { definition: handOver('never stored', true) });
    expect(third.status).toBe('failed');
    expect(third.steps['make']?.status).toBe('completed');
    expect(third.steps['use']?.status).toBe('failed');
    expect(third.steps['use']?.error?.message).toContain('artifact "out" of step "make" was not produced in this run');

    // Downloaded from the Object Store by the CLI, over NATS: a small one, and one of several 512 KiB chunks.
    const big = await bus.request('workflow.execute_complex', {
      definition: {
        name: 'big',
        steps: [
          {
            name: 'make',
            module: 'probe',
            action: 'produce',
            parameters: { file: 'big.txt', content: 'abcdefghij', repeat: 130_000 },
            placement: { tags: ['a'] },
          },
        ],
      },
    });
    expect(big.steps['make']?.artifacts?.[0]?.size).toBe(1_300_000);
    const out = join(s.root, 'downloads');
    const nats = ['--nats', s.url, '--subject-prefix', s.prefix];
    const listed = await cli(s.root, ['run', 'artifacts', first.runId, ...nats, '--json']);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      artifacts: [{ step: 'make', name: 'out', file: 'made.txt', size: 9 }],
      downloaded: [],
    });
    expect(
      (await cli(s.root, ['run', 'artifacts', first.runId, ...nats, '--get', 'make/out', '--out', out])).code,
    ).toBe(0);
    expect(await readFile(join(out, 'make', 'made.txt'), 'utf8')).toBe('first run');
    expect((await cli(s.root, ['run', 'artifacts', big.runId, ...nats, '--out', out])).code).toBe(0);
    expect(await readFile(join(out, 'make', 'big.txt'), 'utf8')).toBe('abcdefghij'.repeat(130_000));

    // The Object Store holds each run's artifact once, under its run.
    const nc = await connect({ servers: s.url });
    try {
      const store = await JetStreamArtifactStore.open(jetstream(nc), s.prefix);
      expect(await store.listScope(first.runId)).toEqual([
        { name: expect.stringMatching(new RegExp(`^${first.runId}/[0-9a-f]{64}$`)) as string, size: 9 },
      ]);
      expect(await store.listScope(third.runId)).toEqual([]);
    } finally {
      await nc.close();
    }
  });

  it('workflow run --upload sends a client folder to a daemon whose workers are elsewhere: ai-analysis charts on one worker, reports on the other, with its own chart', async () => {
    s = await remote.scene();
    const [folderA, folderB, client] = [join(s.root, 'host-a'), join(s.root, 'host-b'), join(s.root, 'client')];
    await Promise.all([mkdir(folderA), mkdir(folderB), mkdir(join(client, 'proj', 'lib'), { recursive: true })]);
    await writeFile(join(client, 'proj', 'main.js'), 'export function main(a) {\n  if (a) return 1;\n  return 2;\n}\n');
    await writeFile(join(client, 'proj', 'lib', 'util.py'), 'def util():\n    return 3\n');
    await writeFile(join(client, 'proj', 'lib', 'odd name.js'), 'const x = 1;\n');
    const d = s.daemon();
    await serving(d);
    s.worker('wa', ['--tags', 'a'], 1, false, folderA);
    s.worker('wb', ['--tags', 'b'], 1, false, folderB);
    await Promise.all([joined(d, 'wa'), joined(d, 'wb')]);
    const nats = ['--nats', s.url, '--subject-prefix', s.prefix];

    // The shipped ai-analysis, its analysis and chart placed on a, its report on b.
    const shipped = await readFile(join(__dirname, '..', '..', 'config', 'workflows', 'ai-analysis.yaml'), 'utf8');
    const placed = shipped
      .replace(/(name: (?:analyze_code|generate_insights|chart_analysis)\n)/g, '$1    placement: { tags: [a] }\n')
      .replace(/(name: write_report\n)/, '$1    placement: { tags: [b] }\n');
    await writeFile(join(client, 'split.yaml'), placed);
    expect((await cli(client, ['workflow', 'create', 'split-analysis', '--file', 'split.yaml', ...nats])).code).toBe(0);

    const ran = await cli(client, [
      'workflow',
      'run',
      'split-analysis',
      '--param',
      'path=proj',
      '--upload',
      ...nats,
      '--json',
    ]);
    expect(ran.code, ran.stderr).toBe(0);
    const run = JSON.parse(ran.stdout) as {
      runId: string;
      status: string;
      steps: Record<string, { worker?: string; result?: Record<string, unknown> }>;
    };
    expect(run.status).toBe('succeeded');
    expect(run.steps['analyze_code']).toMatchObject({ worker: 'wa', result: { totals: { files: 3 } } });
    expect(run.steps['chart_analysis']?.worker).toBe('wa');
    expect(run.steps['write_report']?.worker).toBe('wb');
    // The report, written on b, embeds the chart a drew in this run (fetched into b's folder under this run's id).
    const md = await readFile(join(folderB, '.codomyrmex', 'reports', 'ai-analysis.md'), 'utf8');
    expect(md).toContain(`![chart](../artifacts/${run.runId}/chart_analysis/svg.svg)`);
    expect(
      (await readFile(join(folderB, `.codomyrmex/artifacts/${run.runId}/chart_analysis/svg.svg`), 'utf8')).startsWith(
        '<svg',
      ),
    ).toBe(true);
    // The inputs went to a through the Object Store, never to b (no step there reads the folder's files)...
    expect(
      await readFile(join(folderA, `.codomyrmex/artifacts/${run.runId}/_input/path/lib/odd_name.js`), 'utf8'),
    ).toBe('const x = 1;\n');
    // ...and are listed with the run's artifacts, under $input.
    const listed = JSON.parse((await cli(client, ['run', 'artifacts', run.runId, ...nats, '--json'])).stdout) as {
      artifacts: { step: string; name: string }[];
    };
    expect(listed.artifacts.filter((a) => a.step === '$input').map((a) => a.name)).toEqual([
      'path/lib/odd_name.js',
      'path/lib/util.py',
      'path/main.js',
    ]);

    // A parameter named for upload that is not a local path is refused before anything starts.
    const bad = await cli(client, [
      'workflow',
      'run',
      'split-analysis',
      '--param',
      'path=missing',
      '--upload',
      'path',
      ...nats,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--upload: parameter path: "missing" is not a file or folder on this machine');
  });
});
