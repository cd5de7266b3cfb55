/**
 * Loads workflow definitions from YAML and JSON files. Syntax errors name the file and the line.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { NotFoundError, ValidationError } from '../errors.js';

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Parses one definition file (YAML or JSON) into a plain value, without validating it. */
export async function readDefinitionFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`${path}: no such file; check the path`);
    if (code === 'EISDIR') throw new ValidationError(`${path}: is a folder; give a YAML or JSON definition file`);
    throw new ValidationError(`${path}: cannot read (${code ?? (err as Error).message})`);
  }
  return parseDefinitionText(text, path);
}

/** YAML aliases a definition may expand (anchors reused with `*name` or merged with `<<`); more looks like a bomb. */
export const MAX_YAML_ALIASES = 100;

/** Parses definition text; `path` only names the source in errors and picks JSON for `.json`. */
export function parseDefinitionText(text: string, path: string): unknown {
  if (extname(path) === '.json') {
    try {
      return JSON.parse(text);
    } catch (err) {
      const m = /position (\d+)/.exec((err as Error).message);
      const line = m ? text.slice(0, Number(m[1])).split('\n').length : null;
      throw new ValidationError(`${path}${line ? `:${line}` : ''}: invalid JSON (${(err as Error).message})`);
    }
  }
  // `merge: true`: the `<<: *defaults` merge keys of YAML 1.1, which definition files use to share step fields.
  const doc = parseDocument(text, { prettyErrors: true, merge: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line;
    throw new ValidationError(`${path}${line ? `:${line}` : ''}: invalid YAML (${first.message.split('\n')[0]})`);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw new ValidationError(
        `${path}: its YAML aliases expand past ${MAX_YAML_ALIASES} nodes (limit maxAliasCount; an alias bomb?); write the repeated parts out or use fewer nested aliases`,
      );
    }
    throw new ValidationError(`${path}: invalid YAML (${(err as Error).message})`);
  }
}

/** Every definition file of the folders, sorted by name within each folder. A missing folder is skipped. */
export async function listDefinitionFiles(dirs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const dir of dirs) {
    const abs = resolve(dir);
    let names: string[];
    try {
      names = await readdir(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new ValidationError(`workflowDirs: cannot read "${abs}" (${(err as Error).message})`);
    }
    for (const n of names.sort()) if (EXTENSIONS.has(extname(n))) files.push(join(abs, n));
  }
  return files;
}

/**
 * Definitions in an order that creates every workflow before the ones that call it (`workflow:` steps), otherwise
 * as given. A call to a workflow not among them, or a cycle, leaves the order as it is (creation reports it).
 */
export function orderByCalls<T extends { definition: unknown }>(items: readonly T[]): T[] {
  const nameOf = (d: unknown): string | null => {
    const n = (d as { name?: unknown } | null)?.name;
    return typeof n === 'string' ? n : null;
  };
  const callsOf = (d: unknown): string[] => {
    const steps = (d as { steps?: unknown } | null)?.steps;
    return Array.isArray(steps)
      ? steps.flatMap((s) =>
          typeof (s as { workflow?: unknown } | null)?.workflow === 'string'
            ? [(s as { workflow: string }).workflow]
            : [],
        )
      : [];
  };
  const byName = new Map<string, T[]>();
  for (const it of items) {
    const n = nameOf(it.definition);
    if (n !== null) (byName.get(n) ?? byName.set(n, []).get(n))?.push(it);
  }
  const out: T[] = [];
  const placed = new Set<T>();
  const visiting = new Set<T>();
  const visit = (it: T): void => {
    if (placed.has(it) || visiting.has(it)) return;
    visiting.add(it);
    for (const callee of callsOf(it.definition)) for (const c of byName.get(callee) ?? []) visit(c);
    visiting.delete(it);
    placed.add(it);
    out.push(it);
  };
  for (const it of items) visit(it);
  return out;
}
