/**
 * What `createProject` checks before anything is written: the options, the target folder, the template and its
 * workflows, the config overrides; and the plan of what scaffolding will write (manifest included).
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { ValidationError } from '../../errors.js';
import type { Project } from '../../model/project.js';
import { formatZodIssues } from '../../model/validate.js';
import { applyOverrides } from '../../projects/config.js';
import { checkProjectName, NO_CONTROL_CHARS } from '../../projects/names.js';
import type { ScaffoldPlan } from '../../projects/scaffold.js';
import { planScaffold } from '../../projects/scaffold.js';
import type { ProjectTemplate } from '../../projects/template.js';

/** Where the manifest lives inside a project folder. */
export const MANIFEST = '.codomyrmex/project.json';

export const DEFAULT_TEMPLATE = 'ai_analysis';

const optionsSchema = z
  .object({
    name: z.unknown(),
    templateName: z.string().min(1).optional(),
    description: z.string().max(10_000).optional(),
    path: z.string().min(1).max(4096).regex(NO_CONTROL_CHARS, 'must not hold control characters').optional(),
    config: z.record(z.unknown()).optional(),
    author: z.string().max(200).optional(),
    tags: z
      .array(
        z
          .string()
          .min(1)
          .max(100)
          .regex(/^[\w.:-]+$/, 'a tag holds letters, digits, _, ., : and -'),
      )
      .max(100)
      .optional(),
    force: z.boolean().optional(),
  })
  .strict();

export type CheckedOptions = Omit<z.infer<typeof optionsSchema>, 'name'> & { name: string; templateName: string };

/** Checks createProject's options (snake_case `template_name` accepted); throws naming every bad field. */
export function checkCreateOptions(input: unknown): CheckedOptions {
  const raw = typeof input === 'object' && input !== null ? { ...(input as Record<string, unknown>) } : input;
  if (raw && typeof raw === 'object' && 'template_name' in raw) {
    const r = raw as Record<string, unknown>;
    r['templateName'] ??= r['template_name'];
    delete r['template_name'];
  }
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'createProject'));
  checkProjectName(parsed.data.name);
  return { ...parsed.data, name: parsed.data.name, templateName: parsed.data.templateName ?? DEFAULT_TEMPLATE };
}

/** Refuses a target that is a file, or a folder with something in it (unless `force`). */
export async function checkTarget(path: string, force: boolean): Promise<void> {
  const st = await stat(path).catch(() => null);
  if (!st) return;
  if (!st.isDirectory()) throw new ValidationError(`path: ${path} exists and is a file; pick another path`);
  const entries = await readdir(path);
  if (entries.length && !force) {
    throw new ValidationError(
      `path: the folder ${path} exists and is not empty (${entries.length} entries); pick another name or path, or pass force: true to scaffold into it`,
    );
  }
}

/** `path` with symbolic links resolved, as far as it exists (the rest is appended as written). */
async function realPathSoFar(path: string): Promise<string> {
  const real = await realpath(path).catch(() => null);
  if (real !== null) return real;
  const parent = dirname(path);
  return parent === path ? path : join(await realPathSoFar(parent), basename(path));
}

const within = (path: string, root: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
};

/**
 * Refuses a project folder outside `projectsDir` and the allowed roots (symbolic links followed, so a link inside the
 * root cannot lead out of it), saying how to allow it.
 */
export async function checkProjectPath(
  path: string,
  projectsDir: string,
  allowedRoots: readonly string[],
): Promise<void> {
  const real = await realPathSoFar(resolve(path));
  const roots = [projectsDir, ...allowedRoots].map((r) => resolve(r));
  for (const root of roots) if (within(real, await realPathSoFar(root))) return;
  throw new ValidationError(
    `path: ${path} is outside the projects folder ${roots[0] ?? projectsDir}${roots.length > 1 ? ` and the allowed roots ${roots.slice(1).join(', ')}` : ''}; ` +
      `put the project under it, or allow that folder: engine option allowedProjectRoots: ['${dirname(resolve(path))}'], ` +
      `CLI (and daemon, mcp) --allow-path ${dirname(resolve(path))}, or env CODOMYRMEX_ALLOWED_PROJECT_ROOTS`,
  );
}

/** The project record and the scaffolding plan, once everything has been checked. */
export async function prepareProject(
  o: CheckedOptions,
  template: ProjectTemplate,
  projectsDir: string,
  now: number,
): Promise<{ project: Project; plan: ScaffoldPlan }> {
  const path = resolve(o.path ?? join(projectsDir, o.name));
  const config = applyOverrides(template.defaultConfig, o.config ?? {}, 'config: ');
  const project: Project = {
    name: o.name,
    description: o.description ?? template.description,
    template: template.name,
    templateVersion: template.version,
    path,
    status: 'active',
    config,
    defaultConfig: template.defaultConfig,
    workflows: [...template.workflows],
    requiredModules: [...template.requiredModules],
    optionalModules: [...template.optionalModules],
    author: o.author ?? template.author,
    tags: [...new Set(o.tags ?? [])],
    files: [],
    milestones: [],
    runs: {},
    activeRuns: {},
    createdAt: now,
    updatedAt: now,
    archivedAt: null,
    archivePath: null,
  };
  const plan = await planScaffold(template, {
    name: project.name,
    description: project.description,
    author: project.author,
    template: template.name,
    version: template.version,
    createdAt: new Date(now).toISOString(),
    config,
  });
  project.files = [...plan.dirs, ...plan.files.map((f) => f.path), MANIFEST].sort();
  plan.files.push({ path: MANIFEST, content: manifestText(project) });
  return { project, plan };
}

/** The manifest's text: the project as stored, dates also as ISO strings for people reading the file. */
export function manifestText(project: Project): Buffer {
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
  const doc = {
    manifestVersion: 1,
    ...project,
    created: iso(project.createdAt),
    updated: iso(project.updatedAt),
    archived: iso(project.archivedAt),
  };
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
}
