/**
 * A run's artifacts as the engine serves them: read in chunks (`engine.read_artifact`, which `run artifacts`, the
 * console's download and any NATS client use), and removed from the artifact store once their run is gone from the
 * store (retention), by a sweep that runs every few minutes.
 */
import type { MessageBus } from '../../bus/bus.js';
import { NotFoundError, serializeError, ValidationError } from '../../errors.js';
import type { ArtifactChunk, ArtifactWrite, ArtifactWritten, RunArtifact } from '../../model/artifacts.js';
import { ARTIFACT_CHUNK_MAX, INPUT_STEP } from '../../model/artifacts.js';
import type { WorkflowRun } from '../../model/run.js';
import { RecentMap } from '../../model/recentMap.js';
import type { Store } from '../../store/store.js';
import type { ArtifactStore } from '../../workers/artifacts.js';
import { ArtifactUploads } from './uploads.js';

/** How often the artifacts of runs the store no longer has are removed, and how long a scope rests before that. */
const ARTIFACT_SWEEP_MS = 5 * 60_000;
export const ARTIFACT_MIN_AGE_MS = 10 * 60_000;

/** Runs `sweep` every few minutes (a failure is a `component_error`); the returned function stops it. */
export function startArtifactSweeps(sweep: () => Promise<unknown>, bus: MessageBus): () => void {
  const timer = setInterval(
    () =>
      void sweep().catch((err: unknown) =>
        bus.publish('component_error', {
          component: 'artifacts',
          operation: 'retention sweep',
          error: serializeError(err),
        }),
      ),
    ARTIFACT_SWEEP_MS,
  );
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Every artifact a run's steps stored, step by step (a forEach item's as `<index>/<name>` under its step), after
 * the files uploaded as its inputs (under the step `$input`).
 */
export function runArtifacts(run: Pick<WorkflowRun, 'steps' | 'inputs'>): RunArtifact[] {
  const out: RunArtifact[] = [];
  for (const refs of Object.values(run.inputs ?? {})) for (const a of refs) out.push({ ...a, step: INPUT_STEP });
  for (const [step, r] of Object.entries(run.steps)) {
    for (const a of r.artifacts ?? []) out.push({ ...a, step });
    // An item's artifacts are named `<index>/<name>`: every item may store a `svg`.
    for (const item of r.items ?? [])
      for (const a of item.artifacts ?? []) out.push({ ...a, name: `${item.index}/${a.name}`, step });
  }
  return out;
}

/** What `engine.read_artifact` asks. */
export interface ArtifactRead {
  runId: string;
  step: string;
  name: string;
  offset?: number | undefined;
  length?: number | undefined;
}

/** How many resolved refs {@link ArtifactReads} keeps: a download's later chunks do not read the run again. */
const REFS_KEPT = 256;

/**
 * Chunks of a run's artifacts, read from the engine's artifact store. Only what the run recorded can be read (the
 * ref names the object), so a caller never reaches another run's files or a path on the host. A ref, once
 * resolved, is kept (a recorded artifact never changes), so the chunks after the first do not read the run again.
 */
export class ArtifactReads {
  readonly #getRun: (runId: string) => Promise<WorkflowRun | null>;
  readonly #store: () => ArtifactStore;
  readonly #refs = new RecentMap<string, RunArtifact>(REFS_KEPT);

  constructor(getRun: (runId: string) => Promise<WorkflowRun | null>, store: () => ArtifactStore) {
    this.#getRun = getRun;
    this.#store = store;
  }

  /** One chunk of artifact `name` of step `step` of run `runId`. */
  async read(p: ArtifactRead): Promise<ArtifactChunk> {
    const ref = await this.#ref(p);
    const offset = p.offset ?? 0;
    if (offset > ref.size)
      throw new ValidationError(`offset: ${offset} is past the end of artifact "${p.name}" (${ref.size} bytes)`);
    const length = Math.min(p.length ?? ARTIFACT_CHUNK_MAX, ARTIFACT_CHUNK_MAX, ref.size - offset);
    const store = this.#store();
    const data = length === 0 ? Buffer.alloc(0) : await store.read(ref.scope, ref.digest, offset, length);
    if (data === null) {
      this.#refs.delete(key(p));
      throw new NotFoundError(
        `artifact "${p.name}" of step "${p.step}" (run ${p.runId}) is no longer in the ${store.kind} artifact store: it was removed with its run's retention, or never stored`,
      );
    }
    return {
      runId: p.runId,
      step: p.step,
      name: ref.name,
      file: ref.file,
      size: ref.size,
      digest: ref.digest,
      offset,
      data: data.toString('base64'),
      eof: offset + data.length >= ref.size,
    };
  }

  async #ref(p: ArtifactRead): Promise<RunArtifact> {
    const k = key(p);
    const kept = this.#refs.get(k);
    if (kept) return kept;
    const run = await this.#getRun(p.runId);
    if (!run) throw new NotFoundError(`no run "${p.runId}"; see "codomyrmex workflow runs"`);
    if (!(p.step in run.steps) && !(p.step === INPUT_STEP && run.inputs))
      throw new NotFoundError(
        `run ${p.runId} has no step "${p.step}" (its steps: ${Object.keys(run.steps).join(', ') || 'none'})`,
      );
    const all = runArtifacts(run).filter((a) => a.step === p.step);
    const ref = all.find((a) => a.name === p.name);
    if (!ref)
      throw new NotFoundError(
        `step "${p.step}" of run ${p.runId} has no artifact "${p.name}" (it has: ${all.map((a) => a.name).join(', ') || 'none'})`,
      );
    this.#refs.set(k, ref);
    return ref;
  }
}

function key(p: ArtifactRead): string {
  return `${p.runId}\u0000${p.step}\u0000${p.name}`;
}

/** What one retention sweep did. */
export interface ArtifactSweep {
  /** Scopes (runs, or tasks outside a run) whose artifacts were removed. */
  removed: string[];
  /** Scopes kept: their run or task is still in the store, or they were written within `minAgeMs`. */
  kept: number;
}

/** Scopes looked up between two turns of the event loop. */
const SWEEP_BATCH = 100;

/**
 * Removes the artifacts of every scope whose run (or task) the store no longer has, once the scope has not been
 * written for `minAgeMs` (a run's first artifact may be stored before its run reaches the store). A store that
 * keeps nothing (memory) keeps the artifacts for the engine's life instead.
 */
export async function sweepArtifacts(
  store: Pick<Store, 'persistent' | 'getRecord' | 'getTaskStatus'>,
  artifacts: ArtifactStore,
  now: number,
  minAgeMs: number,
): Promise<ArtifactSweep> {
  const out: ArtifactSweep = { removed: [], kept: 0 };
  if (!store.persistent) return out;
  let looked = 0;
  for (const { scope, touchedAt } of await artifacts.scopes()) {
    // The store's lookups are synchronous: give the loop a turn now and then on a store of many runs.
    if (++looked % SWEEP_BATCH === 0) await new Promise<void>((r) => setImmediate(r));
    const gone =
      now - touchedAt >= minAgeMs &&
      store.getRecord('workflow_runs', scope) === undefined &&
      store.getTaskStatus(scope) === undefined;
    if (!gone) {
      out.kept++;
      continue;
    }
    await artifacts.removeScope(scope);
    out.removed.push(scope);
  }
  return out;
}

/** The engine's artifact commands (`engine.read_artifact`, `engine.write_artifact`) and what they hold open. */
export interface ArtifactCommands {
  read(p: ArtifactRead): Promise<ArtifactChunk>;
  write(p: ArtifactWrite): Promise<ArtifactWritten>;
  /** Drops the uploads under way. */
  close(): Promise<void>;
}

/** The artifact commands of engine `engineId`, over the runs `getRun` finds and the artifact store `store()` is now. */
export function artifactCommands(
  engineId: string,
  getRun: (runId: string) => Promise<WorkflowRun | null>,
  store: () => ArtifactStore,
): ArtifactCommands {
  const reads = new ArtifactReads(getRun, store);
  const uploads = new ArtifactUploads(engineId, store, async (runId) => (await getRun(runId)) !== null);
  return { read: (p) => reads.read(p), write: (p) => uploads.write(p), close: () => uploads.close() };
}
