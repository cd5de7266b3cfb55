/**
 * Artifacts: files a step produces (`ctx.artifacts.put(path, name)`) that reach the steps depending on it wherever
 * they run. A produced file is stored once per run under its content hash (the artifact store: a local folder, or
 * the JetStream Object Store when remote workers are on); its {@link ArtifactRef} is kept with the step's result,
 * and a dependent step finds it at {@link artifactPath} inside its own working folder before its action starts.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';

/** Where a step's upstream artifacts are put, relative to its working folder. */
export const ARTIFACTS_FOLDER = '.codomyrmex/artifacts';

/** An artifact name: `svg`, `report.md`, `charts/a.svg` (letters, digits, `_ . - /`; no `..`, no leading `/`). */
export const ARTIFACT_NAME_RE = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,199}$/;

export const artifactRefSchema = z
  .object({
    name: z.string().regex(ARTIFACT_NAME_RE),
    /** The file's base name where it was produced (its extension names the local copy). */
    file: z.string().min(1).max(255),
    size: z.number().int().nonnegative(),
    /** Hex SHA-256 of the content: the object's key inside its run. */
    digest: z.string().regex(/^[0-9a-f]{64}$/),
    /** The run (or task) it is stored under: a re-run that reuses a step keeps reading the first run's copy. */
    scope: z.string().min(1).max(200),
  })
  .strict();

/** One stored artifact. */
export type ArtifactRef = z.infer<typeof artifactRefSchema>;

/** The artifacts of a task's upstream steps: step name → artifact name → ref. */
export type UpstreamArtifacts = Record<string, Record<string, ArtifactRef>>;

export const upstreamArtifactsSchema = z.record(z.record(artifactRefSchema));

/** A file an action registered with `ctx.artifacts.put`, before it is stored: its name and absolute path. */
export interface ProducedFile {
  name: string;
  path: string;
}

/** The extension of a base name (`.svg`), or ''. */
function extension(file: string): string {
  const dot = file.lastIndexOf('.');
  return dot > 0 ? file.slice(dot) : '';
}

/**
 * Where artifact `ref` of step `step` of run `scope` is put inside a consuming step's working folder (a relative,
 * `/`-separated path): `.codomyrmex/artifacts/<run>/<step>/<name>`, with the produced file's extension added when
 * the name has none (`svg` → `svg.svg`).
 */
export function artifactPath(scope: string, step: string, ref: Pick<ArtifactRef, 'name' | 'file'>): string {
  const ext = extension(ref.name.slice(ref.name.lastIndexOf('/') + 1)) === '' ? extension(ref.file) : '';
  return `${ARTIFACTS_FOLDER}/${safeSegment(scope)}/${safeSegment(step)}/${ref.name}${ext}`;
}

/** A run id or step name as one path segment (anything outside `[A-Za-z0-9_.-]` becomes `_`; never `.` or `..`). */
export function safeSegment(s: string): string {
  const out = s.replace(/[^A-Za-z0-9_.-]/g, '_');
  return out === '.' || out === '..' || out === '' ? `_${out}` : out;
}

/** The artifact scope of a task: its workflow run (`metadata.runId`), or the task itself outside a run. */
export function artifactScope(taskId: string, metadata: Readonly<Record<string, unknown>> | undefined): string {
  const run = metadata?.['runId'];
  return typeof run === 'string' && run.length > 0 ? run : taskId;
}

/**
 * The pseudo-step a run's uploaded inputs are listed under (`run artifacts`, `ctx.upstream`): its files are put at
 * `.codomyrmex/artifacts/<run>/_input/<param>/...` in the folder of every step that reads the parameter.
 */
export const INPUT_STEP = '$input';

/**
 * Files uploaded from a client as a run's inputs (`workflow run --upload`): parameter → its files. A file parameter
 * has one ref named as the parameter; a folder's refs are named `<param>/<path inside the folder>`.
 */
export type RunInputs = Record<string, ArtifactRef[]>;

export const runInputsSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,99}$/, 'must be a parameter name'),
  z.array(artifactRefSchema).max(100_000),
);

/**
 * The value each uploaded parameter takes in the run: the path, relative to a step's working folder, where its
 * file or folder is put before the step starts.
 */
export function inputParams(runId: string, inputs: RunInputs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [param, refs] of Object.entries(inputs)) {
    const single = refs.length === 1 && refs[0]?.name === param ? refs[0] : undefined;
    out[param] = single
      ? artifactPath(runId, INPUT_STEP, single)
      : `${ARTIFACTS_FOLDER}/${safeSegment(runId)}/${safeSegment(INPUT_STEP)}/${param}`;
  }
  return out;
}

/**
 * A run's parameters with its uploaded ones pointing where their files are put in each step's folder; throws a
 * `ValidationError` naming the field when the inputs cannot be used by run `runId`.
 */
export function withInputs(
  params: Record<string, unknown> | undefined,
  runId: string | undefined,
  inputs: RunInputs,
): Record<string, unknown> {
  const issues = checkRunInputs(runId, inputs);
  if (issues.length || runId === undefined) throw new ValidationError(issues);
  return { ...(params ?? {}), ...inputParams(runId, inputs) };
}

/** What is wrong with a run's inputs (each issue names its field); empty when they can be used by run `runId`. */
export function checkRunInputs(runId: string | undefined, inputs: RunInputs): string[] {
  if (runId === undefined)
    return ['runId: required with inputs (they were uploaded under the run id; use the same one)'];
  const issues: string[] = [];
  for (const [param, refs] of Object.entries(inputs)) {
    for (const ref of refs) {
      if (ref.scope !== runId)
        issues.push(
          `inputs.${param}: ${ref.name} was uploaded for run ${ref.scope}, not ${runId}; upload it again for this run`,
        );
      else if (ref.name !== param && !ref.name.startsWith(`${param}/`))
        issues.push(`inputs.${param}: ${ref.name} is not named "${param}" or "${param}/<path>"`);
      if (issues.length >= 10) return issues;
    }
  }
  return issues;
}

/** Bytes of one artifact a single `engine.read_artifact` answers at most (base64 keeps it under NATS's 1 MB). */
export const ARTIFACT_CHUNK_MAX = 512 * 1024;

/** Bytes of one artifact from an offset, as a chunk of a download or an upload carries them. */
export interface ArtifactPiece {
  runId: string;
  name: string;
  /** The file's base name (`ai-analysis.svg`; its extension names a step's copy). */
  file: string;
  /** The whole artifact's size and SHA-256 (a download is checked against them, an upload must match them). */
  size: number;
  digest: string;
  offset: number;
  /** The bytes from `offset`, base64 (at most 512 KiB decoded). */
  data: string;
}

/** A piece of one artifact of a run's step, as `engine.read_artifact` answers it: read on from `offset` until `eof`. */
export interface ArtifactChunk extends ArtifactPiece {
  step: string;
  eof: boolean;
}

/** One artifact of a run, as `run artifacts` and the console list it. */
export interface RunArtifact extends ArtifactRef {
  step: string;
}

/**
 * One chunk of an uploaded file, as `engine.write_artifact` takes it: `runId` is the run it is an input of (an id
 * the client chose, of a run not started yet), `name` is `<param>/<path in the folder>` (or `<param>` for one file).
 */
export type ArtifactWrite = ArtifactPiece;

/** What a chunk answered: how many bytes of the file the engine has, and the ref once the file is stored. */
export interface ArtifactWritten {
  received: number;
  ref: ArtifactRef | null;
}
