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
  readonly #cursors = new Cursors();

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
    const key = JetStreamArtifactStore.objectName(scope, digest);
    // A download reads chunk after chunk: the cursor left where the previous chunk ended goes on from there, so a
    // whole object is streamed once (the Object Store can only stream an object from its start).
    let cursor = this.#cursors.take(key, offset);
    if (!cursor) {
      const result = await this.#os.get(key);
      if (!result) return null;
      cursor = new ObjectCursor(result.data.getReader());
    }
    try {
      const data = await cursor.read(offset, length);
      if (cursor.done) await cursor.close();
      else this.#cursors.put(key, cursor);
      return data;
    } catch (err) {
      await cursor.close();
      throw err;
    }
  }

  /** Ends the open download cursors (an engine's shutdown). */
  async close(): Promise<void> {
    await this.#cursors.clear();
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
    return (await this.#os.list())
      .filter((i) => !i.deleted && i.name.startsWith(prefix))
      .map((i) => ({ name: i.name, size: i.size }));
  }
}

/** How many downloads may each keep an object's stream open, and for how long one may rest between chunks. */
const CURSORS_MAX = 16;
const CURSOR_IDLE_MS = 30_000;

/** An object being streamed: where the next byte is, and what of the last piece was not handed out yet. */
class ObjectCursor {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #at = 0;
  #left: Uint8Array | null = null;
  done = false;

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader;
  }

  /** The offset of the next byte it hands out. */
  get position(): number {
    return this.#at;
  }

  /** Up to `length` bytes from `offset` (at or after its position: the bytes between are skipped). */
  async read(offset: number, length: number): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    let got = 0;
    while (got < length) {
      let piece = this.#left;
      this.#left = null;
      if (!piece) {
        const { done, value } = await this.#reader.read();
        if (done) {
          this.done = true;
          break;
        }
        piece = value;
      }
      const end = this.#at + piece.length;
      if (end <= offset) {
        this.#at = end;
        continue;
      }
      const from = Math.max(0, offset - this.#at);
      const take = Math.min(piece.length - from, length - got);
      parts.push(piece.subarray(from, from + take));
      got += take;
      this.#at += from + take;
      if (from + take < piece.length) this.#left = piece.subarray(from + take);
    }
    return Buffer.concat(parts);
  }

  async close(): Promise<void> {
    this.done = true;
    await this.#reader.cancel().catch(() => undefined);
  }
}

/** Open cursors by object, at most {@link CURSORS_MAX}, each closed after {@link CURSOR_IDLE_MS} without a read. */
class Cursors {
  readonly #open = new Map<string, { cursor: ObjectCursor; timer: NodeJS.Timeout }>();

  /** The cursor of `key` standing at `offset`, taken out (a concurrent read of the same object starts its own). */
  take(key: string, offset: number): ObjectCursor | null {
    const entry = this.#open.get(key);
    if (!entry || entry.cursor.position !== offset) return null;
    this.#open.delete(key);
    clearTimeout(entry.timer);
    return entry.cursor;
  }

  put(key: string, cursor: ObjectCursor): void {
    const old = this.#open.get(key);
    if (old) this.#drop(key, old);
    if (this.#open.size >= CURSORS_MAX) {
      const [oldest, entry] = this.#open.entries().next().value as [
        string,
        { cursor: ObjectCursor; timer: NodeJS.Timeout },
      ];
      this.#drop(oldest, entry);
    }
    const timer = setTimeout(() => {
      const e = this.#open.get(key);
      if (e?.cursor === cursor) this.#drop(key, e);
    }, CURSOR_IDLE_MS);
    timer.unref();
    this.#open.set(key, { cursor, timer });
  }

  async clear(): Promise<void> {
    const all = [...this.#open];
    this.#open.clear();
    for (const [, e] of all) clearTimeout(e.timer);
    await Promise.all(all.map(([, e]) => e.cursor.close()));
  }

  #drop(key: string, entry: { cursor: ObjectCursor; timer: NodeJS.Timeout }): void {
    this.#open.delete(key);
    clearTimeout(entry.timer);
    void entry.cursor.close();
  }
}
