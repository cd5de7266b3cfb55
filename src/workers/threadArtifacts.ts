/**
 * `ctx.artifacts` inside a worker thread: `put` checks a file and records it for the attempt's reply (its runner
 * stores it once the attempt succeeds); `upstream` and `path` give the upstream steps' artifacts, which the runner
 * put in the working folder before the attempt started.
 */
import { statSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { NonRetryableError } from '../errors.js';
import type { ProducedFile, UpstreamArtifacts } from '../model/artifacts.js';
import { ARTIFACT_NAME_RE, artifactPath } from '../model/artifacts.js';
import type { ActionArtifacts } from '../modules/contract.js';
import { insideWorkingDir, workingDir } from '../modules/paths.js';

/** Artifacts one attempt may register. */
export const MAX_ARTIFACTS = 100;

const NO_UPSTREAM: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({});

/** The upstream artifacts' paths, step → name → path relative to the working folder. */
export function upstreamPaths(
  scope: string | undefined,
  artifacts: UpstreamArtifacts | undefined,
): Readonly<Record<string, Readonly<Record<string, string>>>> {
  if (!artifacts || scope === undefined) return NO_UPSTREAM;
  const out: Record<string, Record<string, string>> = Object.create(null) as Record<string, Record<string, string>>;
  for (const [step, refs] of Object.entries(artifacts)) {
    const paths: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [name, ref] of Object.entries(refs)) paths[name] = artifactPath(scope, step, ref);
    out[step] = paths;
  }
  return out;
}

/** The `ctx.artifacts` of one attempt (one small object; nothing else is allocated until `put` is called). */
export class AttemptArtifacts implements ActionArtifacts {
  readonly upstream: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** What `put` registered, null when nothing. */
  produced: ProducedFile[] | null = null;

  constructor(scope: string | undefined, artifacts: UpstreamArtifacts | undefined) {
    this.upstream = upstreamPaths(scope, artifacts);
  }

  put(path: string, name?: string): void {
    if (typeof path !== 'string' || path.length === 0)
      throw new NonRetryableError('artifacts.put: path must be a file path inside the working folder');
    const abs = insideWorkingDir(path, 'artifacts.put');
    if (!statSync(abs).isFile()) throw new NonRetryableError(`artifacts.put: "${path}" is not a regular file`);
    const given = name ?? relative(workingDir(), abs).split(sep).join('/');
    if (!ARTIFACT_NAME_RE.test(given))
      throw new NonRetryableError(
        `artifacts.put: name "${given}" must be letters, digits and _ . - / (no "..", at most 200), e.g. "svg" or "report.md"`,
      );
    const produced = (this.produced ??= []);
    if (produced.some((p) => p.name === given))
      throw new NonRetryableError(`artifacts.put: this attempt already registered an artifact named "${given}"`);
    if (produced.length >= MAX_ARTIFACTS)
      throw new NonRetryableError(`artifacts.put: at most ${MAX_ARTIFACTS} artifacts per attempt`);
    produced.push({ name: given, path: abs });
  }

  path(step: string, name: string): string {
    const of = this.upstream[step];
    const path = of?.[name];
    if (path !== undefined) return path;
    throw new NonRetryableError(
      `artifact "${name}" of step "${step}" was not produced in this run (${of ? `it produced: ${Object.keys(of).join(', ') || 'nothing'}` : `step "${step}" produced no artifacts, or is not upstream of this step`})`,
    );
  }
}
