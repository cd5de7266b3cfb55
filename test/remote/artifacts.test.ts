/**
 * Artifacts across machines on a real nats-server: a daemon with no local threads and two `codomyrmex worker`
 * processes, each in its own folder (no shared disk). A step placed on one worker produces a file; the step after it,
 * placed on the other, finds this run's copy in its own folder (through the JetStream Object Store), and a run whose
 * producer registered nothing fails the consumer naming the artifact and the step instead of reading an older file.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from '../support/daemon.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { JetStreamArtifactStore } from '../../src/workers/jetstreamArtifacts.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';
import type { Scene } from '../support/remote.js';
import { joined, scene, serving } from '../support/remote.js';

let server: NatsServer;
let s: Scene;

beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server.dispose();
});
afterEach(async () => {
  await s.dispose();
});

/** Two steps: `make` on the worker tagged `a`, `use` on the one tagged `b`, reading make's artifact `out`. */
const handOver = (content: string, skip = false) => ({
  name: 'hand-over',
  steps: [
    { name: 'make', module: 'probe', action: 'produce', parameters: { file: 'made.txt', content, skip }, placement: { tags: ['a'] } },
    { name: 'use', module: 'probe', action: 'consume', parameters: { file: '{{make.artifacts.out}}' }, dependencies: ['make'], placement: { tags: ['b'] } },
  ],
});

describe('artifacts between remote workers', { timeout: 90_000 }, () => {
  it("a step on one worker reads the artifact of its upstream step made on the other, this run's copy each time; a producer that registers nothing fails its consumer", async () => {
    s = await scene(server.url);
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
    expect(first.steps['make']).toMatchObject({ worker: 'wa', artifacts: [{ name: 'out', file: 'made.txt', size: 9, scope: first.runId }] });
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
    const big = await bus.request('workflow.execute_complex', { definition: { name: 'big', steps: [{ name: 'make', module: 'probe', action: 'produce', parameters: { file: 'big.txt', content: 'abcdefghij', repeat: 130_000 }, placement: { tags: ['a'] } }] } });
    expect(big.steps['make']?.artifacts?.[0]?.size).toBe(1_300_000);
    const out = join(s.root, 'downloads');
    const nats = ['--nats', server.url, '--subject-prefix', s.prefix];
    const listed = await cli(s.root, ['run', 'artifacts', first.runId, ...nats, '--json']);
    expect(JSON.parse(listed.stdout)).toMatchObject({ artifacts: [{ step: 'make', name: 'out', file: 'made.txt', size: 9 }], downloaded: [] });
    expect((await cli(s.root, ['run', 'artifacts', first.runId, ...nats, '--get', 'make/out', '--out', out])).code).toBe(0);
    expect(await readFile(join(out, 'make', 'made.txt'), 'utf8')).toBe('first run');
    expect((await cli(s.root, ['run', 'artifacts', big.runId, ...nats, '--out', out])).code).toBe(0);
    expect(await readFile(join(out, 'make', 'big.txt'), 'utf8')).toBe('abcdefghij'.repeat(130_000));

    // The Object Store holds each run's artifact once, under its run.
    const nc = await connect({ servers: server.url });
    try {
      const store = await JetStreamArtifactStore.open(jetstream(nc), s.prefix);
      expect(await store.listScope(first.runId)).toEqual([{ name: expect.stringMatching(new RegExp(`^${first.runId}/[0-9a-f]{64}$`)) as string, size: 9 }]);
      expect(await store.listScope(third.runId)).toEqual([]);
    } finally {
      await nc.close();
    }
  });
});
