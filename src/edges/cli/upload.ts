/**
 * `workflow run --upload`: the parameters that name a file or folder on this machine are sent to the engine as the
 * run's inputs before it starts, so the steps find them wherever they run (a daemon's remote workers have no
 * access to this disk). Each file goes up in chunks of `engine.write_artifact`, content-addressed under the run's id
 * (which the client chooses, so the upload and the run agree); the run's parameter then names where its copy is put
 * in each step's folder.
 */
import { randomUUID } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { ValidationError } from '../../errors.js';
import type { ArtifactRef, ArtifactWrite, ArtifactWritten, RunInputs } from '../../model/artifacts.js';
import { ARTIFACT_CHUNK_MAX, ARTIFACT_NAME_RE } from '../../model/artifacts.js';
import { hashFile } from '../../workers/artifacts.js';

/** The most files (their refs travel in the run request, under NATS's 1 MB), and bytes, one run's uploads may hold. */
export const UPLOAD_FILES_MAX = 2_000;
export const UPLOAD_BYTES_MAX = 2 * 1024 * 1024 * 1024;
/** Files sent at once. */
const PARALLEL = 4;

/** What can take an uploaded file: an embedded engine or a daemon's client. */
export interface InputSink {
  writeArtifact(w: ArtifactWrite): Promise<ArtifactWritten>;
}

/** A run's uploaded inputs, with what was skipped or renamed on the way. */
export interface Uploaded {
  runId: string;
  inputs: RunInputs;
  files: number;
  bytes: number;
  /** Notes for the user: symbolic links skipped, names made safe. */
  notes: string[];
}

interface LocalFile {
  name: string;
  path: string;
  size: number;
}

/**
 * Which parameters to upload: the named ones (each must name an existing path), or with `true` every parameter
 * whose value is a string naming an existing file or folder.
 */
export async function uploadTargets(
  params: Record<string, unknown>,
  which: true | string[],
  cwd: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const names = which === true ? Object.keys(params) : which;
  for (const param of names) {
    const value = params[param];
    if (which !== true && value === undefined)
      throw new ValidationError(`--upload: no parameter "${param}" was given; pass it with --param ${param}=PATH`);
    if (typeof value !== 'string' || value.length === 0) {
      if (which !== true)
        throw new ValidationError(`--upload: parameter "${param}" is not a path (got ${JSON.stringify(value)})`);
      continue;
    }
    const path = resolve(cwd, value);
    const there = await lstat(path).catch(() => null);
    if (!there || !(there.isFile() || there.isDirectory())) {
      if (which !== true)
        throw new ValidationError(`--upload: parameter ${param}: "${value}" is not a file or folder on this machine`);
      continue;
    }
    if (!/^[A-Za-z_][A-Za-z0-9_-]{0,99}$/.test(param))
      throw new ValidationError(
        `--upload: parameter "${param}" cannot be uploaded: its name must be letters, digits, _ or - (it names the input's folder)`,
      );
    out[param] = path;
  }
  return out;
}

/** One path segment as an artifact name allows it (`my file.ts` -> `my_file.ts`). */
function safeName(segment: string): string {
  return segment.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** The files under `root` (or `root` itself), named `<param>/<path>`, bounded by the upload limits. */
async function listFiles(
  param: string,
  root: string,
  stat: Stats,
  notes: string[],
  budget: { files: number; bytes: number },
): Promise<LocalFile[]> {
  const take = (name: string, path: string, size: number): LocalFile => {
    if (++budget.files > UPLOAD_FILES_MAX)
      throw new ValidationError(
        `--upload: more than ${UPLOAD_FILES_MAX} files to upload (at ${path}); name a smaller folder, or put the input where the workers can read it`,
      );
    budget.bytes += size;
    if (budget.bytes > UPLOAD_BYTES_MAX)
      throw new ValidationError(
        `--upload: more than ${UPLOAD_BYTES_MAX} bytes to upload (at ${path}); name a smaller folder, or put the input where the workers can read it`,
      );
    if (!ARTIFACT_NAME_RE.test(name))
      throw new ValidationError(
        `--upload: "${path}" cannot be uploaded: its path inside "${param}" is too long (at most 200 characters)`,
      );
    return { name, path, size };
  };
  if (stat.isFile()) return [take(param, root, stat.size)];
  const out: LocalFile[] = [];
  const seen = new Set<string>();
  let links = 0;
  let renamed = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isSymbolicLink()) {
        links++;
        continue;
      }
      if (e.isDirectory()) await walk(path);
      else if (e.isFile()) {
        const rel = relative(root, path).split(sep);
        const name = [param, ...rel.map(safeName)].join('/');
        if (rel.some((s) => safeName(s) !== s)) renamed++;
        if (seen.has(name))
          throw new ValidationError(
            `--upload: two files of "${param}" become ${name} once their names are made safe; rename one`,
          );
        seen.add(name);
        out.push(take(name, path, (await lstat(path)).size));
      }
    }
  };
  await walk(root);
  if (links) notes.push(`${param}: ${links} symbolic link(s) not uploaded`);
  if (renamed)
    notes.push(
      `${param}: ${renamed} file name(s) with characters outside [A-Za-z0-9_.-] uploaded with those characters as _`,
    );
  return out;
}

/** Sends one file in chunks; resolves with its ref. */
async function sendFile(sink: InputSink, runId: string, f: LocalFile): Promise<ArtifactRef> {
  const { digest, size } = await hashFile(f.path);
  const file = basename(f.name);
  const fh = await open(f.path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(ARTIFACT_CHUNK_MAX, Math.max(size, 1)));
    let offset = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      const reply = await sink.writeArtifact({
        runId,
        name: f.name,
        file,
        size,
        digest,
        offset,
        data: buf.subarray(0, bytesRead).toString('base64'),
      });
      if (reply.ref) return reply.ref;
      if (bytesRead === 0 || reply.received <= offset)
        throw new ValidationError(
          `--upload: ${f.path} changed while it was uploaded (the engine has ${reply.received} of ${size} bytes); try again`,
        );
      offset = reply.received;
    }
  } finally {
    await fh.close();
  }
}

/** Uploads the files of `targets` (parameter -> absolute path) for a new run; answers the run id and its inputs. */
export async function uploadInputs(sink: InputSink, targets: Record<string, string>): Promise<Uploaded> {
  const runId = randomUUID();
  const notes: string[] = [];
  const budget = { files: 0, bytes: 0 };
  const jobs: { param: string; file: LocalFile }[] = [];
  for (const [param, path] of Object.entries(targets)) {
    for (const file of await listFiles(param, path, await lstat(path), notes, budget)) jobs.push({ param, file });
  }
  const inputs: RunInputs = Object.fromEntries(Object.keys(targets).map((p) => [p, [] as ArtifactRef[]]));
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++] as { param: string; file: LocalFile };
      (inputs[job.param] as ArtifactRef[]).push(await sendFile(sink, runId, job.file));
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  for (const refs of Object.values(inputs)) refs.sort((a, b) => a.name.localeCompare(b.name));
  return { runId, inputs, files: budget.files, bytes: budget.bytes, notes };
}
