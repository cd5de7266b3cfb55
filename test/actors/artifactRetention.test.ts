/**
 * Artifacts follow their run's retention: once the store no longer has a run (its retention deleted it), the next
 * sweep removes the run's artifacts from the artifact store; a run still stored, a scope written within the rest
 * period, and anything of a memory store are kept. Real engines on one SQLite file, a real artifact folder.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { PROBE_DIR } from '../support/remote.js';
import { testEngine } from '../helpers.js';

let dir: string;
const engines: OrchestrationEngine[] = [];

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.shutdown({ graceMs: 0 })));
  if (dir) await rm(dir, { recursive: true, force: true });
});

const open = (options: Parameters<typeof testEngine>[0] = {}): OrchestrationEngine => {
  const e = testEngine({ store: 'sqlite', dataDir: dir, moduleDirs: [PROBE_DIR], ...options });
  engines.push(e);
  return e;
};

const files = {
  name: 'files',
  steps: [
    { name: 'make', module: 'probe', action: 'produce', parameters: { file: 'made.txt', content: 'kept for later' } },
  ],
};

describe('artifact retention', () => {
  it("removes the artifacts of a run the store deleted, once they rested; keeps a stored run's", async () => {
    dir = await mkdtemp(join(tmpdir(), 'codomyrmex-artifact-retention-'));
    const e = open();
    await e.workflows.createWorkflow(files.name, files.steps);
    const first = await e.workflows.waitForRun(await e.workflows.startWorkflow('files', {}, { workingDir: dir }));
    const second = await e.workflows.waitForRun(await e.workflows.startWorkflow('files', {}, { workingDir: dir }));
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    const chunk = await e.readArtifact(first.runId, 'make', 'out');
    expect(Buffer.from(chunk.data, 'base64').toString()).toBe('kept for later');
    expect(await readdir(join(dir, 'artifact-store'))).toEqual(expect.arrayContaining([first.runId, second.runId]));

    // As the store's retention does: the first run's record goes.
    e.store.commit({
      tasks: [],
      events: [],
      records: [{ kind: 'workflow_runs', id: first.runId, delete: true }],
      meta: {},
    });
    // Written just now: within the rest period nothing goes.
    expect(await e.sweepArtifacts(60_000)).toEqual({ removed: [], kept: 2 });
    expect(await e.sweepArtifacts(0)).toEqual({ removed: [first.runId], kept: 1 });
    expect(await readdir(join(dir, 'artifact-store'))).toEqual([second.runId]);
    await expect(e.readArtifact(first.runId, 'make', 'out')).rejects.toThrow(
      /is no longer in the folder artifact store: it was removed with its run's retention/,
    );
    expect(Buffer.from((await e.readArtifact(second.runId, 'make', 'out')).data, 'base64').toString()).toBe(
      'kept for later',
    );
  });

  it('reads an artifact in chunks from any offset, refusing an offset past its end', async () => {
    dir = await mkdtemp(join(tmpdir(), 'codomyrmex-artifact-chunks-'));
    const e = open();
    await e.workflows.createWorkflow('big', [
      {
        name: 'make',
        module: 'probe',
        action: 'produce',
        parameters: { file: 'big.txt', content: '0123456789', repeat: 60_000 },
      },
    ]);
    const run = await e.workflows.waitForRun(await e.workflows.startWorkflow('big', {}, { workingDir: dir }));
    const parts: Buffer[] = [];
    for (let offset = 0; ;) {
      const c = await e.readArtifact(run.runId, 'make', 'out', offset, 100_000);
      const data = Buffer.from(c.data, 'base64');
      expect(data.length).toBe(Math.min(100_000, 600_000 - offset));
      parts.push(data);
      offset += data.length;
      if (c.eof) break;
    }
    expect(Buffer.concat(parts).toString()).toBe('0123456789'.repeat(60_000));
    await expect(e.readArtifact(run.runId, 'make', 'out', 600_001)).rejects.toThrow(
      /offset: 600001 is past the end of artifact "out" \(600000 bytes\)/,
    );
    // Asked for more than a chunk: one chunk (512 KiB) comes.
    expect(Buffer.from((await e.readArtifact(run.runId, 'make', 'out', 0, 10_000_000)).data, 'base64').length).toBe(
      512 * 1024,
    );
    await expect(e.readArtifact(run.runId, 'nope', 'out')).rejects.toThrow(/has no step "nope" \(its steps: make\)/);
  });
});
