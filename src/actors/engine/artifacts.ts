/**
 * A run's artifacts as the engine serves them: read in chunks (`engine.read_artifact`, which `run artifacts`, the
 * console's download and any NATS client use), and removed from the artifact store once their run is gone from the
 * store (retention), by a sweep that runs every few minutes.
 */
import type { MessageBus } from '../../bus/bus.js';
import { NotFoundError, serializeError, ValidationError } from '../../errors.js';
import type { ArtifactChunk, RunArtifact } from '../../model/artifacts.js';
import { ARTIFACT_CHUNK_MAX } from '../../model/artifacts.js';
import type { WorkflowRun } from '../../model/workflow.js';
import type { Store } from '../../store/store.js';
import type { ArtifactStore } from '../../workers/artifacts.js';

/** How often the artifacts of runs the store no longer has are removed, and how long a scope rests before that. */
const ARTIFACT_SWEEP_MS = 5 * 60_000;
export const ARTIFACT_MIN_AGE_MS = 10 * 60_000;

/** Runs `sweep` every few minutes (a failure is a `component_error`); the returned function stops it. */
export function startArtifactSweeps(sweep: () => Promise<unknown>, bus: MessageBus): () => void {
  const timer = setInterval(() => void sweep().catch((err: unknown) => bus.publish('component_error', { component: 'artifacts', operation: 'retention sweep', error: serializeError(err) })), ARTIFACT_SWEEP_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Every artifact a run's steps stored, step by step (a forEach item's as `<index>/<name>` under its step). */
export function runArtifacts(run: Pick<WorkflowRun, 'steps'>): RunArtifact[] {
  const out: RunArtifact[] = [];
  for (const [step, r] of Object.entries(run.steps)) {
    for (const a of r.artifacts ?? []) out.push({ ...a, step });
    // An item's artifacts are named `<index>/<name>`: every item may store a `svg`.
    for (const item of r.items ?? []) for (const a of item.artifacts ?? []) out.push({ ...a, name: `${item.index}/${a.name}`, step });
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

/**
 * One chunk of artifact `name` of step `step` of run `runId`, read from `store`. Only what the run recorded can be
 * read (the ref names the object), so a caller never reaches another run's files or a path on the host.
 */
export async function readArtifactChunk(getRun: (runId: string) => Promise<WorkflowRun | null>, store: ArtifactStore, p: ArtifactRead): Promise<ArtifactChunk> {
  const run = await getRun(p.runId);
  if (!run) throw new NotFoundError(`no run "${p.runId}"; see "codomyrmex workflow runs"`);
  if (!(p.step in run.steps)) throw new NotFoundError(`run ${p.runId} has no step "${p.step}" (its steps: ${Object.keys(run.steps).join(', ') || 'none'})`);
  const all = runArtifacts(run).filter((a) => a.step === p.step);
  const ref = all.find((a) => a.name === p.name);
  if (!ref) throw new NotFoundError(`step "${p.step}" of run ${p.runId} has no artifact "${p.name}" (it has: ${all.map((a) => a.name).join(', ') || 'none'})`);
  const offset = p.offset ?? 0;
  if (offset > ref.size) throw new ValidationError(`offset: ${offset} is past the end of artifact "${p.name}" (${ref.size} bytes)`);
  const length = Math.min(p.length ?? ARTIFACT_CHUNK_MAX, ARTIFACT_CHUNK_MAX, ref.size - offset);
  const data = length === 0 ? Buffer.alloc(0) : await store.read(ref.scope, ref.digest, offset, length);
  if (data === null) throw new NotFoundError(`artifact "${p.name}" of step "${p.step}" (run ${p.runId}) is no longer in the ${store.kind} artifact store: it was removed with its run's retention, or never stored`);
  return { runId: p.runId, step: p.step, name: ref.name, file: ref.file, size: ref.size, digest: ref.digest, offset, data: data.toString('base64'), eof: offset + data.length >= ref.size };
}

/** What one retention sweep did. */
export interface ArtifactSweep {
  /** Scopes (runs, or tasks outside a run) whose artifacts were removed. */
  removed: string[];
  /** Scopes kept: their run or task is still in the store, or they were written within `minAgeMs`. */
  kept: number;
}

/**
 * Removes the artifacts of every scope whose run (or task) the store no longer has, once the scope has not been
 * written for `minAgeMs` (a run's first artifact may be stored before its run reaches the store). A store that
 * keeps nothing (memory) keeps the artifacts for the engine's life instead.
 */
export async function sweepArtifacts(store: Store, artifacts: ArtifactStore, now: number, minAgeMs: number): Promise<ArtifactSweep> {
  const out: ArtifactSweep = { removed: [], kept: 0 };
  if (!store.persistent) return out;
  for (const { scope, touchedAt } of await artifacts.scopes()) {
    const gone = now - touchedAt >= minAgeMs && store.getRecord('workflow_runs', scope) === undefined && store.getTaskStatus(scope) === undefined;
    if (!gone) {
      out.kept++;
      continue;
    }
    await artifacts.removeScope(scope);
    out.removed.push(scope);
  }
  return out;
}
