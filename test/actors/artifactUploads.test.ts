/**
 * Inputs uploaded before their run starts (`engine.write_artifact`, what `workflow run --upload` sends): chunks are
 * taken in order and checked against the announced size and SHA-256, nothing half-written is ever stored, and the
 * run that names them in `inputs` finds them in each reading step's folder. A real engine, a real artifact folder.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import type { ArtifactWrite } from '../../src/model/artifacts.js';
import { uploadInputs, uploadTargets } from '../../src/edges/cli/upload.js';
import { PROBE_DIR } from '../support/remote.js';
import { testEngine } from '../helpers.js';

let dir: string;
let e: OrchestrationEngine;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codomyrmex-uploads-'));
  e = testEngine({ moduleDirs: [PROBE_DIR] });
});
afterEach(async () => {
  await e.shutdown({ graceMs: 0 });
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const chunk = (
  runId: string,
  body: Buffer,
  offset: number,
  end: number,
  over: Partial<ArtifactWrite> = {},
): ArtifactWrite => ({
  runId,
  name: 'doc',
  file: 'doc.txt',
  size: body.length,
  digest: sha(body),
  offset,
  data: body.subarray(offset, end).toString('base64'),
  ...over,
});

describe('uploaded inputs', () => {
  it('stores a file sent in order, answers its ref on the last chunk, and the run reading the parameter gets it', async () => {
    const runId = randomUUID();
    const body = Buffer.from('hello from the client\n');
    expect(await e.writeArtifact(chunk(runId, body, 0, 10))).toEqual({ received: 10, ref: null });
    const last = await e.writeArtifact(chunk(runId, body, 10, body.length));
    expect(last.ref).toEqual({ name: 'doc', file: 'doc.txt', size: body.length, digest: sha(body), scope: runId });
    // The same content again is not sent twice: the first chunk answers the ref.
    expect((await e.writeArtifact(chunk(runId, body, 0, 4, { name: 'copy' }))).ref).toMatchObject({
      name: 'copy',
      digest: sha(body),
    });

    await e.workflows.createWorkflow('read-doc', [
      { name: 'read', module: 'fs', action: 'read', parameters: { path: '{{params.doc}}' } },
    ]);
    const started = await e.workflows.startWorkflow(
      'read-doc',
      {},
      { runId, workingDir: dir, inputs: { doc: [last.ref!] } },
    );
    const run = await e.workflows.waitForRun(started);
    expect(run.status).toBe('succeeded');
    expect(run.steps['read']?.result).toMatchObject({ content: 'hello from the client\n', bytes: body.length });
    expect((await e.workflows.getRun(runId))?.params['doc']).toBe(`.codomyrmex/artifacts/${runId}/_input/doc.txt`);
    // Readable back like any artifact, under $input.
    expect(Buffer.from((await e.readArtifact(runId, '$input', 'doc')).data, 'base64').toString()).toBe(
      'hello from the client\n',
    );
  });

  it('refuses chunks out of order, past the announced size, with another digest, or for a run that exists, and stores none of them', async () => {
    const runId = randomUUID();
    const body = Buffer.from('0123456789');
    await expect(e.writeArtifact(chunk(runId, body, 5, 10))).rejects.toThrow('offset: no upload of doc');
    await e.writeArtifact(chunk(runId, body, 0, 5));
    await expect(e.writeArtifact(chunk(runId, body, 7, 10))).rejects.toThrow('offset: expected 5 for doc');
    // Longer than announced: dropped, to be started again.
    await expect(e.writeArtifact(chunk(runId, body, 5, 10, { size: 8 }))).rejects.toThrow(
      'longer than its announced size of 8 bytes',
    );
    await expect(e.writeArtifact(chunk(runId, body, 5, 10))).rejects.toThrow('offset: no upload of doc');
    // Another digest: the whole file arrives, is refused, and is not stored.
    const wrong = chunk(runId, body, 0, 10, { digest: 'f'.repeat(64) });
    await expect(e.writeArtifact(wrong)).rejects.toThrow(
      `digest: doc arrived with SHA-256 ${sha(body)}, not the announced ${'f'.repeat(64)}`,
    );
    await e.workflows.createWorkflow('read-doc', [
      { name: 'read', module: 'fs', action: 'read', parameters: { path: '{{params.doc}}' } },
    ]);
    const ref = { name: 'doc', file: 'doc.txt', size: 10, digest: 'f'.repeat(64), scope: runId };
    const run = await e.workflows.waitForRun(
      await e.workflows.startWorkflow('read-doc', {}, { runId, workingDir: dir, inputs: { doc: [ref] } }),
    );
    expect(run.steps['read']?.error?.message).toContain(
      `artifact "doc" of step "$input" is not in the folder artifact store (run ${runId})`,
    );
    // The run exists now: no more uploads under its id.
    await expect(e.writeArtifact(chunk(runId, body, 0, 10))).rejects.toThrow(`runId: run ${runId} exists already`);
  });

  it('refuses inputs of another run or without a run id, naming the field', async () => {
    await e.workflows.createWorkflow('read-doc', [
      { name: 'read', module: 'probe', action: 'consume', parameters: { file: '{{params.doc}}' } },
    ]);
    const ref = { name: 'doc', file: 'doc.txt', size: 1, digest: 'a'.repeat(64), scope: 'other-run' };
    await expect(e.workflows.startWorkflow('read-doc', {}, { runId: 'mine', inputs: { doc: [ref] } })).rejects.toThrow(
      'inputs.doc: doc was uploaded for run other-run, not mine',
    );
    await expect(e.workflows.startWorkflow('read-doc', {}, { inputs: { doc: [ref] } })).rejects.toThrow(
      'runId: required with inputs',
    );
  });

  it('uploads a folder as <param>/<path>, skipping links and making odd names safe; an unnamed non-path parameter is left alone', async () => {
    const proj = join(dir, 'proj');
    await mkdir(join(proj, 'deep', 'er'), { recursive: true });
    await writeFile(join(proj, 'a.txt'), 'a');
    await writeFile(join(proj, 'deep', 'er', 'b c.txt'), 'bc');
    const targets = await uploadTargets({ path: 'proj', mode: 'fast', n: 3 }, true, dir);
    expect(targets).toEqual({ path: proj });
    const up = await uploadInputs(e, targets);
    expect(up.inputs['path']?.map((r) => [r.name, r.size, r.scope])).toEqual([
      ['path/a.txt', 1, up.runId],
      ['path/deep/er/b_c.txt', 2, up.runId],
    ]);
    expect(up.notes).toEqual([
      'path: 1 file name(s) with characters outside [A-Za-z0-9_.-] uploaded with those characters as _',
    ]);
    await expect(uploadTargets({ mode: 'fast' }, ['mode'], dir)).rejects.toThrow(
      '--upload: parameter mode: "fast" is not a file or folder on this machine',
    );
    await expect(uploadTargets({}, ['path'], dir)).rejects.toThrow('--upload: no parameter "path" was given');
  });
});
