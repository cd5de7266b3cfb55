/**
 * Inputs uploaded from a client before their run starts (`workflow run --upload` over NATS): each file arrives as
 * chunks of `engine.write_artifact`, is written to a temporary file in order, checked against the SHA-256 the client
 * announced, and stored in the engine's artifact store under the run's id (content-addressed, once per run). The run
 * then names the refs in its `inputs`, and every step that reads the parameter finds the files in its own folder.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceUnavailableError, ValidationError } from '../../errors.js';
import type { ArtifactRef, ArtifactWrite, ArtifactWritten } from '../../model/artifacts.js';
import { safeSegment } from '../../model/artifacts.js';
import type { ArtifactStore } from '../../workers/artifacts.js';

/** The largest file one upload may hold, and how many uploads may be under way at once. */
export const UPLOAD_FILE_MAX = 1024 * 1024 * 1024;
const UPLOADS_OPEN_MAX = 64;
/** An upload that received nothing for this long is dropped (its client went away). */
const UPLOAD_IDLE_MS = 5 * 60_000;

interface Upload {
  path: string;
  received: number;
  hash: ReturnType<typeof createHash>;
  timer: NodeJS.Timeout;
  /** Chunks of one upload are written one after another. */
  busy: boolean;
}

/** The uploads under way on one engine; files wait in a folder of the OS's temp space until they are whole. */
export class ArtifactUploads {
  readonly #folder: string;
  readonly #store: () => ArtifactStore;
  readonly #runExists: (runId: string) => Promise<boolean>;
  readonly #open = new Map<string, Upload>();

  constructor(engineId: string, store: () => ArtifactStore, runExists: (runId: string) => Promise<boolean>) {
    this.#folder = join(tmpdir(), `codomyrmex-uploads-${safeSegment(engineId)}`);
    this.#store = store;
    this.#runExists = runExists;
  }

  /** Takes one chunk; answers with the stored ref once the last byte arrived and the digest matched. */
  async write(w: ArtifactWrite): Promise<ArtifactWritten> {
    if (w.size > UPLOAD_FILE_MAX)
      throw new ValidationError(
        `size: ${w.size} bytes is over the ${UPLOAD_FILE_MAX}-byte limit of one uploaded file; upload a smaller file, or put the input where the workers can read it`,
      );
    const key = `${w.runId}/${w.digest}`;
    const data = Buffer.from(w.data, 'base64');
    let up = this.#open.get(key);
    if (!up) {
      if (w.offset !== 0)
        throw new ValidationError(
          `offset: no upload of ${w.name} (${w.digest.slice(0, 12)}) is under way for run ${w.runId}; start again from offset 0`,
        );
      if (await this.#runExists(w.runId))
        throw new ValidationError(
          `runId: run ${w.runId} exists already; inputs are uploaded before their run starts, under a new run id`,
        );
      const store = this.#store();
      // Content-addressed: a file this run stored already (the same content under two names) is not sent twice.
      if (await store.has(w.runId, w.digest)) return { received: w.size, ref: this.#ref(w) };
      if (this.#open.size >= UPLOADS_OPEN_MAX)
        throw new ResourceUnavailableError(
          `${UPLOADS_OPEN_MAX} uploads are under way on this engine; wait for one to end and try again`,
        );
      await mkdir(this.#folder, { recursive: true });
      up = {
        path: join(this.#folder, `${safeSegment(w.runId)}-${w.digest}.part`),
        received: 0,
        hash: createHash('sha256'),
        timer: this.#idle(key),
        busy: false,
      };
      await rm(up.path, { force: true });
      this.#open.set(key, up);
    }
    if (up.busy)
      throw new ValidationError(
        `offset: a chunk of ${w.name} is being written already; send the chunks of one file one after another`,
      );
    if (w.offset !== up.received)
      throw new ValidationError(
        `offset: expected ${up.received} for ${w.name} (the bytes received so far), got ${w.offset}; send the chunks in order`,
      );
    if (up.received + data.length > w.size) {
      await this.#drop(key);
      throw new ValidationError(
        `data: ${w.name} is longer than its announced size of ${w.size} bytes; the upload was dropped, start again from offset 0`,
      );
    }
    up.busy = true;
    try {
      const fh = await open(up.path, 'a');
      try {
        await fh.write(data);
      } finally {
        await fh.close();
      }
      up.hash.update(data);
      up.received += data.length;
      up.timer.refresh();
    } catch (err) {
      await this.#drop(key);
      throw err;
    } finally {
      up.busy = false;
    }
    if (up.received < w.size) return { received: up.received, ref: null };
    this.#open.delete(key);
    clearTimeout(up.timer);
    try {
      const digest = up.hash.digest('hex');
      if (digest !== w.digest)
        throw new ValidationError(
          `digest: ${w.name} arrived with SHA-256 ${digest}, not the announced ${w.digest}; the upload was dropped, start again from offset 0`,
        );
      await this.#store().put(w.runId, w.digest, up.path);
      return { received: up.received, ref: this.#ref(w) };
    } finally {
      await rm(up.path, { force: true });
    }
  }

  /** Drops every upload under way and their files. */
  async close(): Promise<void> {
    for (const up of this.#open.values()) clearTimeout(up.timer);
    this.#open.clear();
    await rm(this.#folder, { recursive: true, force: true });
  }

  #ref(w: ArtifactWrite): ArtifactRef {
    return { name: w.name, file: w.file, size: w.size, digest: w.digest, scope: w.runId };
  }

  #idle(key: string): NodeJS.Timeout {
    const timer = setTimeout(() => void this.#drop(key), UPLOAD_IDLE_MS);
    timer.unref();
    return timer;
  }

  async #drop(key: string): Promise<void> {
    const up = this.#open.get(key);
    if (!up) return;
    this.#open.delete(key);
    clearTimeout(up.timer);
    await rm(up.path, { force: true });
  }
}
