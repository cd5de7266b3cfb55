/**
 * Loads workflow definitions from YAML and JSON files. Syntax errors name the file and the line.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ValidationError } from '../errors.js';

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Parses one definition file (YAML or JSON) into a plain value, without validating it. */
export async function readDefinitionFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  return parseDefinitionText(text, path);
}

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
  const doc = parseDocument(text, { prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line;
    throw new ValidationError(`${path}${line ? `:${line}` : ''}: invalid YAML (${first.message.split('\n')[0]})`);
  }
  return doc.toJS();
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
