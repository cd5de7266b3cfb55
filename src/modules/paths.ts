import { AsyncLocalStorage } from 'node:async_hooks';
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { NonRetryableError } from '../errors.js';

/** The working folder of the action running in this async context (a project's folder), set by the worker. */
export const workingDirContext = new AsyncLocalStorage<string>();

/** The folder file actions resolve against: the task's `workingDir` when it has one, else the process's cwd. */
export function workingDir(): string {
  return workingDirContext.getStore() ?? process.cwd();
}

/**
 * Resolves a path given to a file action and refuses one outside the working folder (DESIGN §10: file actions stay
 * inside the project or working folder). Symlinks are followed before the check.
 */
export function insideWorkingDir(path: string, field = 'path'): string {
  const root = realpathSync(workingDir());
  const abs = resolve(root, path);
  let real = abs;
  try {
    real = realpathSync(abs);
  } catch {
    /* not there yet (an output file): check the path as written */
  }
  const rel = relative(root, real);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new NonRetryableError(`${field}: "${path}" is outside the working folder ${root}; file actions stay inside it`);
  }
  return real;
}
