/**
 * Scaffolding: a template becomes a plan (folders, and files with their rendered content) without touching the
 * disk, so every problem of the template shows before anything is written; the plan is then written, and a failure
 * half-way removes what was made (and restores files it overwrote under `force`).
 *
 * Placeholders in starter files and README templates: `{{project.name}}`, `{{project.description}}`,
 * `{{project.author}}`, `{{project.template}}`, `{{project.version}}`, `{{project.created_at}}`,
 * `{{project.config.a.b}}` and `{{doc.x}}` (the template's `documentation_config.doc_variables`). Any other
 * `{{...}}` is left as it is (a workflow file or a web page may have its own).
 */
import { mkdir, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, posix, relative, sep } from 'node:path';
import { CodomyrmexError, ErrorCode, ValidationError } from '../errors.js';
import type { ProjectTemplate } from './template.js';

export interface ScaffoldVars {
  name: string;
  description: string;
  author: string;
  template: string;
  version: string;
  createdAt: string;
  config: Record<string, unknown>;
}

export interface PlannedFile {
  /** Relative to the project folder, `/`-separated. */
  path: string;
  content: Buffer;
}

export interface ScaffoldPlan {
  /** Folders to make, relative, each ending in `/`. */
  dirs: string[];
  files: PlannedFile[];
}

const PLACEHOLDER = /\{\{\s*((?:project|doc)\.[\w.-]+)\s*\}\}/g;

function lookup(vars: ScaffoldVars, doc: Record<string, unknown>, expr: string): unknown {
  const [root, ...path] = expr.split('.');
  let value: unknown;
  if (root === 'doc') value = doc;
  else {
    const head = path.shift();
    const flat: Record<string, unknown> = {
      name: vars.name,
      description: vars.description,
      author: vars.author,
      template: vars.template,
      version: vars.version,
      created_at: vars.createdAt,
    };
    if (head === 'config') value = vars.config;
    else return head !== undefined && path.length === 0 && Object.hasOwn(flat, head) ? flat[head] : undefined;
  }
  for (const p of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, p)) return undefined;
    value = (value as Record<string, unknown>)[p];
  }
  return value;
}

/** Renders the placeholders of one text; throws naming `where` and the placeholder that has no value. */
export function render(text: string, vars: ScaffoldVars, doc: Record<string, unknown>, where: string): string {
  return text.replace(PLACEHOLDER, (whole, expr: string) => {
    const v = lookup(vars, doc, expr);
    if (v === undefined)
      throw new ValidationError(
        `${where}: {{${expr}}} has no value; known: project.name, project.description, project.author, project.template, project.version, project.created_at, project.config.<key>, doc.<variable>`,
      );
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}

const toPosix = (p: string): string => p.split(sep).join('/');
const dirOf = (p: string): string => (p.endsWith('/') ? p : `${p}/`);

function patternRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      re += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

async function walk(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(root, full)));
    else if (e.isFile()) out.push(toPosix(relative(root, full)));
  }
  return out;
}

function readme(vars: ScaffoldVars, template: ProjectTemplate, dir: string, nested: string[]): string {
  const links = template.documentation?.links ?? { enabled: true, parentLink: true, childLinks: true };
  const children = nested.filter((d) => d !== dir && d.startsWith(dir) && !d.slice(dir.length, -1).includes('/'));
  const lines: string[] = [];
  if (dir === '') {
    lines.push(
      `# ${vars.name}`,
      '',
      vars.description || template.description,
      '',
      `Made from the \`${template.name}\` template (version ${template.version}) on ${vars.createdAt.slice(0, 10)}.`,
    );
    if (template.workflows.length) {
      lines.push(
        '',
        '## Workflows',
        '',
        ...template.workflows.map((w) => `- \`${w}\`: \`engine.executeProjectWorkflow("${vars.name}", "${w}")\``),
      );
    }
    if (template.directoryStructure.length)
      lines.push(
        '',
        '## Layout',
        '',
        ...template.directoryStructure.filter((d) => !d.startsWith('.')).map((d) => `- \`${dirOf(d)}\``),
      );
  } else {
    lines.push(`# ${dir.slice(0, -1)}`, '', `Part of the ${vars.name} project.`);
    if (links.enabled && links.parentLink) {
      const up = dir.split('/').length - 1;
      lines.push('', `Up: [${vars.name}](${'../'.repeat(up)}README.md)`);
    }
  }
  if (links.enabled && links.childLinks && children.length)
    lines.push(
      '',
      '## Contents',
      '',
      ...children.map((c) => `- [${c.slice(dir.length, -1)}](${c.slice(dir.length)}README.md)`),
    );
  return `${lines.join('\n')}\n`;
}

/**
 * The folders and files a template makes for a project, rendered, without writing anything. Throws a
 * `ValidationError` naming the template file for a pattern that matches nothing or a placeholder with no value.
 */
export async function planScaffold(template: ProjectTemplate, vars: ScaffoldVars): Promise<ScaffoldPlan> {
  const doc = template.documentation?.variables ?? {};
  const dirs = new Set<string>(['.codomyrmex/']);
  for (const d of template.directoryStructure) dirs.add(dirOf(posix.normalize(toPosix(d))));
  const files = new Map<string, Buffer>();
  const patterns = Object.entries(template.templateFiles);
  const sources = patterns.length ? await walk(template.dir).catch(() => []) : [];
  for (const [pattern, dest] of patterns) {
    const re = patternRegex(pattern);
    const matched = sources.filter((f) => re.test(f) && f !== 'template.json');
    if (matched.length === 0)
      throw new ValidationError(`${template.file}: template_files: "${pattern}" matches no file in ${template.dir}`);
    const segments = pattern.split('/');
    const wild = segments.findIndex((s) => /[*?]/.test(s));
    const prefix = wild < 0 ? segments.slice(0, -1).join('/') : segments.slice(0, wild).join('/');
    for (const src of matched) {
      const rel = prefix ? src.slice(prefix.length + 1) : src;
      const target = posix.normalize(posix.join(toPosix(dest), rel));
      const raw = await readFile(join(template.dir, src));
      // Text is rendered; a file with NUL bytes is binary and copied as it is.
      const content = raw.includes(0)
        ? raw
        : Buffer.from(render(raw.toString('utf8'), vars, doc, `${template.file}: template_files: ${src}`));
      files.set(target, content);
    }
  }
  const nested = template.documentation
    ? template.documentation.nestedDocs.map((d) => dirOf(posix.normalize(toPosix(d))))
    : [];
  const custom = template.documentation?.templates['README'];
  for (const dir of ['', ...nested]) {
    const path = `${dir}README.md`;
    if (files.has(path)) continue;
    const text =
      custom !== undefined
        ? render(
            custom,
            vars,
            { ...doc, dir: dir || '.' },
            `${template.file}: documentation_config.doc_templates.README`,
          )
        : readme(vars, template, dir, nested);
    files.set(path, Buffer.from(text));
    if (dir) dirs.add(dir);
  }
  for (const f of files.keys()) {
    const d = posix.dirname(f);
    if (d !== '.') dirs.add(dirOf(d));
  }
  return { dirs: [...dirs].sort(), files: [...files].map(([path, content]) => ({ path, content })) };
}

/** Test hooks: called before each folder or file is made, so a test can fail one half-way. */
export interface ScaffoldHooks {
  beforeWrite?: (relativePath: string) => void | Promise<void>;
}

/** What `writeScaffold` made, for a later rollback (a manifest write that fails after it). */
export interface ScaffoldUndo {
  rollback(): Promise<void>;
}

/**
 * Writes a plan under `root`. On any failure, everything it made is removed (files it overwrote are restored)
 * before the error is thrown.
 */
export async function writeScaffold(
  root: string,
  plan: ScaffoldPlan,
  hooks: ScaffoldHooks = {},
): Promise<ScaffoldUndo> {
  const madeDirs: string[] = [];
  const madeFiles: string[] = [];
  const overwritten = new Map<string, Buffer>();
  const rollback = async (): Promise<void> => {
    for (const f of madeFiles.reverse()) {
      const old = overwritten.get(f);
      if (old) await writeFile(f, old).catch(() => undefined);
      else await rm(f, { force: true }).catch(() => undefined);
    }
    for (const d of madeDirs.reverse())
      await rmdir(d).catch(() => rm(d, { recursive: true, force: true }).catch(() => undefined));
  };
  const ensureDir = async (abs: string): Promise<void> => {
    const missing: string[] = [];
    for (let d = abs; ; d = dirname(d)) {
      const st = await stat(d).catch(() => null);
      if (st) {
        if (!st.isDirectory()) throw new Error(`${d} exists and is not a folder`);
        break;
      }
      missing.unshift(d);
      if (dirname(d) === d) break;
    }
    for (const d of missing) {
      await mkdir(d);
      madeDirs.push(d);
    }
  };
  let current = '.';
  try {
    await ensureDir(root);
    for (const d of plan.dirs) {
      current = d;
      await hooks.beforeWrite?.(d);
      await ensureDir(join(root, d));
    }
    for (const f of plan.files) {
      current = f.path;
      await hooks.beforeWrite?.(f.path);
      const abs = join(root, f.path);
      await ensureDir(dirname(abs));
      const old = await readFile(abs).catch(() => null);
      if (old) overwritten.set(abs, old);
      madeFiles.push(abs);
      await writeFile(abs, f.content);
    }
  } catch (err) {
    await rollback();
    const message = err instanceof Error ? err.message : String(err);
    throw new CodomyrmexError(
      `scaffolding ${root} failed at "${current}": ${message}; what it had made was removed`,
      ErrorCode.INTERNAL,
      { cause: err },
    );
  }
  return { rollback };
}

/** Which of `expected` (relative; folders end in `/`) exist under `root`. */
export async function presentFiles(
  root: string,
  expected: readonly string[],
): Promise<{ present: string[]; missing: string[] }> {
  const present: string[] = [];
  const missing: string[] = [];
  for (const p of expected) {
    const st = await stat(join(root, p)).catch(() => null);
    if (st && (p.endsWith('/') ? st.isDirectory() : st.isFile())) present.push(p);
    else missing.push(p);
  }
  return { present, missing };
}
