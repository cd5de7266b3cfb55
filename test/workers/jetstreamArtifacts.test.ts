/**
 * The artifact store in NATS's JetStream Object Store, on a real nats-server: a download reads an object chunk after
 * chunk from one stream (and from any offset when asked out of order), and retention removes a run's objects once
 * the store no longer has the run, keeping those of a stored run and of a scope written too recently.
 */
import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { sweepArtifacts } from '../../src/actors/engine/artifacts.js';
import { JetStreamArtifactStore } from '../../src/workers/jetstreamArtifacts.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';

let server: NatsServer;
let nc: NatsConnection;
let dir: string;
let store: JetStreamArtifactStore;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  dir = await mkdtemp(join(tmpdir(), 'codomyrmex-js-artifacts-'));
  store = await JetStreamArtifactStore.open(jetstream(nc), `jsa${process.pid}`);
});
afterAll(async () => {
  await store?.close();
  await nc?.close();
  await server?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function put(scope: string, bytes: Buffer): Promise<string> {
  const digest = createHash('sha256').update(bytes).digest('hex');
  const file = join(dir, digest);
  await writeFile(file, bytes);
  await store.put(scope, digest, file);
  return digest;
}

describe('JetStream artifact store', () => {
  it('reads an object chunk after chunk, and from any offset out of order, the same bytes as stored', async () => {
    const bytes = randomBytes(700_000);
    const digest = await put('run-read', bytes);
    const chunk = 100_000;
    const parts: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += chunk)
      parts.push((await store.read('run-read', digest, offset, chunk)) as Buffer);
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    // Out of order: back to an earlier offset, then past the cursor.
    expect((await store.read('run-read', digest, 5, 10))?.equals(bytes.subarray(5, 15))).toBe(true);
    expect((await store.read('run-read', digest, 650_000, 100_000))?.equals(bytes.subarray(650_000))).toBe(true);
    expect(await store.read('run-read', 'f'.repeat(64), 0, 10)).toBeNull();
  });

  it("retention removes the objects of runs the store no longer has, keeping a stored run's and a fresh scope's", async () => {
    await put('run-gone', Buffer.from('gone'));
    await put('run-kept', Buffer.from('kept'));
    const stored = new Set(['run-kept', 'run-read']);
    // Which runs the engine's store still has (only that is what a sweep asks of it).
    const runs: Parameters<typeof sweepArtifacts>[0] = {
      persistent: true,
      getRecord: <T>(_kind: string, id: string) =>
        stored.has(id)
          ? { id, parent: null, status: 'succeeded', data: null as T, createdAt: 0, updatedAt: 0 }
          : undefined,
      getTaskStatus: () => undefined,
    };
    // Written just now: a rest period of a minute keeps every scope.
    expect(await sweepArtifacts(runs, store, Date.now(), 60_000)).toEqual({ removed: [], kept: 3 });
    const swept = await sweepArtifacts(runs, store, Date.now() + 120_000, 60_000);
    expect(swept).toEqual({ removed: ['run-gone'], kept: 2 });
    expect(await store.listScope('run-gone')).toEqual([]);
    expect((await store.listScope('run-kept')).length).toBe(1);
  });
});
