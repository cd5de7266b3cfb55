/**
 * Artifacts in NATS's JetStream Object Store, shared by the daemon and every `codomyrmex worker`: one bucket per
 * subject prefix (`<PREFIX>_ARTIFACTS`), one object per run and content hash (`<run>/<sha256>`), chunked by nats.js.
 * No shared disk is assumed: what one worker stored, another fetches.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { Objm, StorageType } from '@nats-io/obj';
import type { ArtifactStore } from './artifacts.js';

/** The artifact bucket of a subject prefix (bucket names allow letters, digits, `_` and `-`). */
export function artifactBucketName(prefix: string): string {
  return `${prefix.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase()}_ARTIFACTS`;
}

/** Artifacts in one Object Store bucket. */
export class JetStreamArtifactStore implements ArtifactStore {
  readonly kind = 'jetstream';
  readonly bucket: string;
  readonly #os: ObjectStore;

  private constructor(bucket: string, os: ObjectStore) {
    this.bucket = bucket;
    this.#os = os;
  }

  /** Opens the prefix's bucket, creating it (file storage) when it is not there. */
  static async open(js: JetStreamClient, prefix: string): Promise<JetStreamArtifactStore> {
    const bucket = artifactBucketName(prefix);
    const objm = new Objm(js);
    let os: ObjectStore;
    try {
      os = await objm.open(bucket);
    } catch {
      os = await objm.create(bucket, { storage: StorageType.File });
    }
    return new JetStreamArtifactStore(bucket, os);
  }

  static objectName(scope: string, digest: string): string {
    return `${scope}/${digest}`;
  }

  async has(scope: string, digest: string): Promise<boolean> {
    const info = await this.#os.info(JetStreamArtifactStore.objectName(scope, digest));
    return info !== null && !info.deleted;
  }

  async put(scope: string, digest: string, file: string): Promise<void> {
    if (await this.has(scope, digest)) return;
    const stream = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
    await this.#os.put({ name: JetStreamArtifactStore.objectName(scope, digest) }, stream);
  }

  async get(scope: string, digest: string, dest: string): Promise<boolean> {
    const result = await this.#os.get(JetStreamArtifactStore.objectName(scope, digest));
    if (!result) return false;
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
    try {
      await pipeline(Readable.fromWeb(result.data), createWriteStream(tmp));
      const err = await result.error;
      if (err) throw err;
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return true;
  }

  async removeScope(scope: string): Promise<number> {
    const prefix = `${scope}/`;
    let n = 0;
    for (const info of await this.#os.list()) {
      if (info.deleted || !info.name.startsWith(prefix)) continue;
      await this.#os.delete(info.name);
      n++;
    }
    return n;
  }

  async read(scope: string, digest: string, offset: number, length: number): Promise<Buffer | null> {
    const result = await this.#os.get(JetStreamArtifactStore.objectName(scope, digest));
    if (!result) return null;
    // The Object Store streams an object from its start: the chunks before `offset` are read and dropped.
    const reader = result.data.getReader();
    const parts: Uint8Array[] = [];
    let at = 0;
    let got = 0;
    try {
      while (got < length) {
        const { done, value } = await reader.read();
        if (done) break;
        const end = at + value.length;
        if (end > offset) {
          const from = Math.max(0, offset - at);
          const part = value.subarray(from, Math.min(value.length, from + (length - got)));
          parts.push(part);
          got += part.length;
        }
        at = end;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    return Buffer.concat(parts);
  }

  async scopes(): Promise<{ scope: string; touchedAt: number }[]> {
    const latest = new Map<string, number>();
    for (const info of await this.#os.list()) {
      if (info.deleted) continue;
      const slash = info.name.lastIndexOf('/');
      if (slash <= 0) continue;
      const scope = info.name.slice(0, slash);
      const at = Date.parse(info.mtime);
      latest.set(scope, Math.max(latest.get(scope) ?? 0, Number.isFinite(at) ? at : 0));
    }
    return [...latest].map(([scope, touchedAt]) => ({ scope, touchedAt }));
  }

  /** Every object of a scope with its size (the CLI's listing reads refs from the run instead; this is for tests). */
  async listScope(scope: string): Promise<{ name: string; size: number }[]> {
    const prefix = `${scope}/`;
    return (await this.#os.list()).filter((i) => !i.deleted && i.name.startsWith(prefix)).map((i) => ({ name: i.name, size: i.size }));
  }
}
