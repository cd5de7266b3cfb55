/**
 * Where artifacts are kept between the step that produces them and the steps that read them: an
 * {@link ArtifactStore} (a local folder for one host, the JetStream Object Store across hosts) and the
 * {@link ArtifactExchange} a runner calls around an attempt: before it, the upstream artifacts are fetched into the
 * working folder; after a success, the files the action registered are stored (once per run, by content hash) and
 * the reply carries their refs.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ActionError, NotFoundError } from '../errors.js';
import type { ArtifactRef, ProducedFile, UpstreamArtifacts } from '../model/artifacts.js';
import { artifactPath, safeSegment } from '../model/artifacts.js';
import type { WorkerReply } from './protocol.js';

/** Content by run: put once, read by digest, removed with its run. */
export interface ArtifactStore {
  /** `folder` (one host) or `jetstream` (the Object Store). */
  readonly kind: string;
  has(scope: string, digest: string): Promise<boolean>;
  /** Stores `file` as `digest` of `scope` (a no-op when it is there already). */
  put(scope: string, digest: string, file: string): Promise<void>;
  /** Writes `digest` of `scope` to `dest`; false when the store does not have it. */
  get(scope: string, digest: string, dest: string): Promise<boolean>;
  /** Removes a run's artifacts; resolves with how many objects went. */
  removeScope(scope: string): Promise<number>;
  /** Up to `length` bytes of `digest` of `scope` from `offset` (fewer at its end); null when the store does not have it. */
  read(scope: string, digest: string, offset: number, length: number): Promise<Buffer | null>;
  /** Every scope the store holds, with when it was last written (epoch ms): what retention looks at. */
  scopes(): Promise<{ scope: string; touchedAt: number }[]>;
  /** Ends what the store holds open (downloads under way). */
  close?(): Promise<void>;
}

/** Hex SHA-256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: hash.digest('hex'), size };
}

/** Artifacts in a folder of this host: `<root>/<run>/<digest>`. */
export class FolderArtifactStore implements ArtifactStore {
  readonly kind = 'folder';
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  #path(scope: string, digest: string): string {
    return join(this.root, safeSegment(scope), digest);
  }

  async has(scope: string, digest: string): Promise<boolean> {
    return stat(this.#path(scope, digest)).then(
      () => true,
      () => false,
    );
  }

  async put(scope: string, digest: string, file: string): Promise<void> {
    const target = this.#path(scope, digest);
    if (await this.has(scope, digest)) return;
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await copyFile(file, tmp);
    await rename(tmp, target);
  }

  async get(scope: string, digest: string, dest: string): Promise<boolean> {
    const source = this.#path(scope, digest);
    if (!(await this.has(scope, digest))) return false;
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(source, dest);
    return true;
  }

  async removeScope(scope: string): Promise<number> {
    const dir = join(this.root, safeSegment(scope));
    const there = await stat(dir).then(
      () => true,
      () => false,
    );
    await rm(dir, { recursive: true, force: true });
    return there ? 1 : 0;
  }

  async read(scope: string, digest: string, offset: number, length: number): Promise<Buffer | null> {
    const file = await open(this.#path(scope, digest), 'r').catch(() => null);
    if (!file) return null;
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await file.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  }

  async scopes(): Promise<{ scope: string; touchedAt: number }[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const out: { scope: string; touchedAt: number }[] = [];
    for (const scope of names) {
      const s = await stat(join(this.root, scope)).catch(() => null);
      if (s?.isDirectory()) out.push({ scope, touchedAt: s.mtimeMs });
    }
    return out;
  }
}

/** What an attempt needs for its artifacts: its run, its working folder and its upstream refs. */
export interface ArtifactRequest {
  artifactScope?: string | undefined;
  workingDir?: string | undefined;
  artifacts?: UpstreamArtifacts | undefined;
}

/** Fetches an attempt's upstream artifacts before it runs, and stores what it produced after it succeeds. */
export class ArtifactExchange {
  #store: ArtifactStore;
  /** The folder store is this engine's alone (memory store): removed at {@link close}. */
  readonly #ephemeral: boolean;
  readonly #first: ArtifactStore;

  constructor(store: ArtifactStore, ephemeral = false) {
    this.#store = store;
    this.#first = store;
    this.#ephemeral = ephemeral;
  }

  get store(): ArtifactStore {
    return this.#store;
  }

  /** Moves to another store from now on (the daemon, once it reaches the JetStream Object Store). */
  use(store: ArtifactStore): void {
    this.#store = store;
  }

  /** Removes the folder store of an engine without a durable store. */
  async close(): Promise<void> {
    await this.#store.close?.();
    if (this.#ephemeral && this.#first instanceof FolderArtifactStore)
      await rm(this.#first.root, { recursive: true, force: true });
  }

  /**
   * Puts every upstream artifact at its path in the attempt's working folder (a file already there with the same
   * digest stays). Throws a non-retryable error naming the artifact when the store no longer has it.
   */
  async fetch(req: ArtifactRequest): Promise<void> {
    const scope = req.artifactScope;
    if (!req.artifacts || scope === undefined) return;
    const root = req.workingDir ?? process.cwd();
    const jobs: Promise<void>[] = [];
    for (const [step, refs] of Object.entries(req.artifacts)) {
      for (const ref of Object.values(refs)) {
        const dest = join(root, artifactPath(scope, step, ref));
        jobs.push(
          (async () => {
            const there = await stat(dest).then(
              (s) => s.size === ref.size,
              () => false,
            );
            if (there && (await hashFile(dest)).digest === ref.digest) return;
            if (!(await this.#store.get(ref.scope, ref.digest, dest))) {
              throw new NotFoundError(
                `artifact "${ref.name}" of step "${step}" is not in the ${this.#store.kind} artifact store (run ${ref.scope}); it was removed (retention) or never stored`,
              );
            }
          })(),
        );
      }
    }
    await Promise.all(jobs);
  }

  /** Stores the files a successful attempt registered, and answers with their refs instead of their paths. */
  async keep(req: ArtifactRequest & { taskId: string }, reply: WorkerReply): Promise<WorkerReply> {
    if (reply.type !== 'ok' || !reply.produced) return reply;
    const scope = req.artifactScope ?? req.taskId;
    try {
      const refs = await Promise.all(reply.produced.map((p) => this.#keepOne(scope, p)));
      const { produced: _produced, ...rest } = reply;
      return { ...rest, artifacts: refs };
    } catch (err) {
      return {
        type: 'error',
        error: new ActionError(
          `could not store the artifacts of task ${req.taskId} in the ${this.#store.kind} artifact store: ${(err as Error).message}`,
        ).toJSON(),
      };
    }
  }

  async #keepOne(scope: string, p: ProducedFile): Promise<ArtifactRef> {
    const { digest, size } = await hashFile(p.path);
    await this.#store.put(scope, digest, p.path);
    return { name: p.name, file: basename(p.path), size, digest, scope };
  }
}
