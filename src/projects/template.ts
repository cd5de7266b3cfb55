/**
 * Project templates in the seed's JSON format (`directory_structure`, `template_files`, `workflows`,
 * `required_modules`, `optional_modules`, `default_config`, `documentation_config`, `version`, `author`), loaded from
 * template folders. A folder holds either `<name>.json` with its starter files in `<name>/` (the original's layout)
 * or `<name>/template.json` beside its starter files. `template_files` maps a source pattern (relative to the
 * template's folder; `*` and `**` allowed) to the project folder it is copied into.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../errors.js';
import { didYouMean, formatZodIssues } from '../model/validate.js';
import { relativePathProblem } from './names.js';

const docLinks = z
  .object({ enabled: z.boolean().optional(), parent_link: z.boolean().optional(), child_links: z.boolean().optional() })
  .strict();

const templateSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_][\w.-]*$/, 'must hold only letters, digits, _, . and -')
      .max(100),
    type: z.string().optional(),
    description: z.string().default(''),
    version: z
      .union([z.string().min(1), z.number()])
      .transform(String)
      .default('1.0'),
    directory_structure: z.array(z.string().min(1)).default([]),
    template_files: z.record(z.string()).default({}),
    workflows: z.array(z.string().min(1)).default([]),
    required_modules: z.array(z.string().min(1)).default([]),
    optional_modules: z.array(z.string().min(1)).default([]),
    default_config: z.record(z.unknown()).default({}),
    documentation_config: z
      .object({
        nested_docs: z.array(z.string().min(1)).default([]),
        doc_links: docLinks.optional(),
        doc_templates: z.record(z.string()).optional(),
        doc_variables: z.record(z.unknown()).optional(),
      })
      .strict()
      .optional(),
    template_generators: z.record(z.unknown()).optional(),
    doc_links: docLinks.optional(),
    author: z.string().default(''),
    created_at: z.string().optional(),
  })
  .strict();

/** A template, checked and normalised. */
export interface ProjectTemplate {
  name: string;
  type: string;
  description: string;
  version: string;
  directoryStructure: string[];
  /** Source pattern (relative to `dir`) → destination folder (relative to the project). */
  templateFiles: Record<string, string>;
  workflows: string[];
  requiredModules: string[];
  optionalModules: string[];
  defaultConfig: Record<string, unknown>;
  documentation: {
    nestedDocs: string[];
    links: { enabled: boolean; parentLink: boolean; childLinks: boolean };
    /** `README`: the text of each folder's README (placeholders allowed). */
    templates: Record<string, string>;
    variables: Record<string, unknown>;
  } | null;
  author: string;
  /** The JSON file it was read from. */
  file: string;
  /** The folder its `template_files` patterns are relative to. */
  dir: string;
}

/** A template as `listTemplates()` shows it; `errors` is non-empty for a file that does not load. */
export interface TemplateSummary {
  name: string;
  description: string;
  version: string;
  workflows: string[];
  file: string;
  errors: string[];
}

/** Parses one template file's text; throws a `ValidationError` naming the file and every bad field. */
export function parseTemplate(text: string, file: string, dir: string): ProjectTemplate {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = templateSchema.safeParse(raw);
  if (!parsed.success) {
    const known = Object.keys(templateSchema.shape);
    const issues = formatZodIssues(parsed.error, file).map((msg) => {
      const key = /unknown field\(s\) "([^"]+)"/.exec(msg)?.[1];
      const hint = key ? didYouMean(key, known) : undefined;
      return hint ? `${msg} (did you mean "${hint}"?)` : msg;
    });
    throw new ValidationError(issues);
  }
  const t = parsed.data;
  const problems: string[] = [];
  t.directory_structure.forEach((d, i) => {
    const p = relativePathProblem(d);
    if (p) problems.push(`${file}: directory_structure[${i}]: "${d}" ${p}`);
  });
  for (const [src, dest] of Object.entries(t.template_files)) {
    const ps = relativePathProblem(src);
    if (ps) problems.push(`${file}: template_files: source "${src}" ${ps}`);
    const pd = dest === '' || dest === '.' || dest === './' ? null : relativePathProblem(dest);
    if (pd) problems.push(`${file}: template_files["${src}"]: destination "${dest}" ${pd}`);
  }
  const docs = t.documentation_config;
  docs?.nested_docs.forEach((d, i) => {
    const p = relativePathProblem(d);
    if (p) problems.push(`${file}: documentation_config.nested_docs[${i}]: "${d}" ${p}`);
  });
  if (problems.length) throw new ValidationError(problems);
  const links = docs?.doc_links ?? t.doc_links ?? {};
  return {
    name: t.name,
    type: t.type ?? t.name,
    description: t.description,
    version: t.version,
    directoryStructure: t.directory_structure,
    templateFiles: t.template_files,
    workflows: t.workflows,
    requiredModules: t.required_modules,
    optionalModules: t.optional_modules,
    defaultConfig: t.default_config,
    documentation: docs
      ? {
          nestedDocs: docs.nested_docs,
          links: {
            enabled: links.enabled ?? true,
            parentLink: links.parent_link ?? true,
            childLinks: links.child_links ?? true,
          },
          templates: docs.doc_templates ?? {},
          variables: docs.doc_variables ?? {},
        }
      : null,
    author: t.author,
    file,
    dir,
  };
}

/** Every template of the folders (a later folder's template wins a name), and the files that did not load. */
export interface TemplateCatalog {
  templates: Map<string, ProjectTemplate>;
  /** Template name (or file name when it did not parse far enough) → its problems. */
  invalid: Map<string, { file: string; errors: string[] }>;
}

async function candidates(dir: string): Promise<{ file: string; dir: string; name: string }[]> {
  const abs = resolve(dir);
  let entries;
  try {
    entries = await readdir(abs, { withFileTypes: true });
  } catch (cause) {
    throw new ValidationError(`templateDirs: cannot read template folder "${abs}" (${(cause as Error).message})`, {
      cause,
    });
  }
  const out: { file: string; dir: string; name: string }[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isFile() && extname(e.name) === '.json') {
      const name = basename(e.name, '.json');
      out.push({ file: join(abs, e.name), dir: join(abs, name), name });
    } else if (e.isDirectory()) {
      const file = join(abs, e.name, 'template.json');
      const st = await stat(file).catch(() => null);
      if (st?.isFile()) out.push({ file, dir: join(abs, e.name), name: e.name });
    }
  }
  return out;
}

/** Reads every template of `dirs`; a file that does not load is listed in `invalid`, not thrown. */
export async function loadTemplates(dirs: readonly string[]): Promise<TemplateCatalog> {
  const catalog: TemplateCatalog = { templates: new Map(), invalid: new Map() };
  for (const dir of dirs) {
    for (const c of await candidates(dir)) {
      try {
        const t = parseTemplate(await readFile(c.file, 'utf8'), c.file, c.dir);
        catalog.templates.set(t.name, t);
        catalog.invalid.delete(t.name);
      } catch (err) {
        const errors = err instanceof ValidationError ? err.issues : [`${c.file}: ${(err as Error).message}`];
        catalog.invalid.set(c.name, { file: c.file, errors });
        catalog.templates.delete(c.name);
      }
    }
  }
  return catalog;
}

export function summarize(catalog: TemplateCatalog): TemplateSummary[] {
  const ok = [...catalog.templates.values()].map((t) => ({
    name: t.name,
    description: t.description,
    version: t.version,
    workflows: t.workflows,
    file: t.file,
    errors: [],
  }));
  const bad = [...catalog.invalid].map(([name, v]) => ({
    name,
    description: '',
    version: '',
    workflows: [],
    file: v.file,
    errors: v.errors,
  }));
  return [...ok, ...bad].sort((a, b) => a.name.localeCompare(b.name));
}

/** The template named, or a `NotFoundError` listing the known ones (with a did-you-mean), or its file's problems. */
export function requireTemplate(catalog: TemplateCatalog, name: string, field = 'templateName'): ProjectTemplate {
  const t = catalog.templates.get(name);
  if (t) return t;
  const bad = catalog.invalid.get(name);
  if (bad) throw new ValidationError(bad.errors.map((e) => `${field}: template "${name}" does not load: ${e}`));
  const known = [...catalog.templates.keys()].sort();
  const hint = didYouMean(name, known);
  throw new NotFoundError(
    `${field}: no template named "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; known templates: ${known.join(', ') || '(none)'}`,
  );
}
