/**
 * Confinement of file actions (DESIGN §10): every path an action reads or writes stays inside the working folder.
 * Reads resolve every symlink before the check; writes resolve the deepest part of the path that exists, refuse a
 * symlink anywhere below it, and open the file with `O_NOFOLLOW`, so a symlink planted at the last step is refused
 * too.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { constants, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { NonRetryableError } from '../errors.js';

/** The working folder of the action running in this async context (a project's folder), set by the worker. */
export const workingDirContext = new AsyncLocalStorage<string>();

/**
 * The working folder, symlinks resolved (the root every file action is confined to): the task's `workingDir` when
 * it has one, else the process's cwd.
 */
export function workingDir(): string {
  return realpathSync(workingDirContext.getStore() ?? process.cwd());
}

/** Whether `abs` (a real path) is `root` or below it. A folder named `..foo` is inside. */
export function isInside(root: string, abs: string): boolean {
  const rel = relative(root, abs);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function outside(path: string, field: string, root: string, why = ''): NonRetryableError {
  return new NonRetryableError(
    `${field}: "${path}" is outside the working folder ${root}${why}; file actions stay inside it`,
  );
}

/**
 * Resolves a path to read (it must exist) and refuses one outside the working folder, symlinks followed first.
 * Returns the real path.
 */
export function insideWorkingDir(path: string, field = 'path'): string {
  const root = workingDir();
  const abs = resolve(root, path);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      // A dangling symlink or a path that is not there: say which, after checking where it would lead.
      resolveForWrite(path, field);
      throw new NonRetryableError(`${field}: "${path}" does not exist (in ${root})`, { cause });
    }
    throw new NonRetryableError(`${field}: cannot resolve "${path}" (${code ?? (cause as Error).message})`, { cause });
  }
  if (!isInside(root, real)) throw outside(path, field, root, real !== abs ? ` (it leads to ${real})` : '');
  return real;
}

/**
 * Resolves a path to write. The deepest existing ancestor is resolved (symlinks followed) and must be inside the
 * working folder; every component below it must not exist yet, except the last, which may be a regular file (to
 * overwrite) but never a symlink. Returns the absolute target and the components still to create.
 */
export function resolveForWrite(
  path: string,
  field = 'output',
): { target: string; existing: string; missing: string[] } {
  const root = workingDir();
  const abs = resolve(root, path);
  const missing: string[] = [];
  let cur = abs;
  let existing: string;
  for (;;) {
    try {
      existing = realpathSync(cur);
      break;
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new NonRetryableError(`${field}: cannot resolve "${path}" (${(cause as NodeJS.ErrnoException).code})`, {
          cause,
        });
      // realpath failed: the entry is missing, or it is a symlink leading nowhere (which is refused).
      let isLink = false;
      try {
        isLink = lstatSync(cur).isSymbolicLink();
      } catch {
        /* missing: fine */
      }
      if (isLink)
        throw new NonRetryableError(
          `${field}: "${path}" goes through the dangling symlink ${relative(root, cur) || cur}; file actions do not write through symlinks`,
        );
      const parent = dirname(cur);
      if (parent === cur) throw outside(path, field, root);
      missing.unshift(basename(cur));
      cur = parent;
    }
  }
  if (!isInside(root, existing))
    throw outside(path, field, root, existing !== cur ? ` (through a symlink to ${existing})` : '');
  if (missing.length === 0) {
    // The whole path exists: its last component must not be a symlink (realpath followed it).
    if (lstatSync(abs).isSymbolicLink())
      throw new NonRetryableError(`${field}: "${path}" is a symlink; file actions do not write through symlinks`);
    return { target: existing, existing: dirname(existing), missing: [] };
  }
  return { target: join(existing, ...missing), existing, missing };
}

/**
 * Opens a file for writing inside the working folder (see {@link resolveForWrite}), creating missing folders one
 * by one and refusing a symlink at the last step (`O_NOFOLLOW`). The caller closes the handle.
 */
export async function openForWrite(
  path: string,
  field = 'output',
  flags: 'truncate' | 'exclusive' = 'truncate',
): Promise<{ handle: FileHandle; path: string }> {
  const { target, existing, missing } = resolveForWrite(path, field);
  let dir = existing;
  for (const part of missing.slice(0, -1)) {
    dir = join(dir, part);
    try {
      mkdirSync(dir);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new NonRetryableError(
          `${field}: cannot create folder ${dir} (${(cause as NodeJS.ErrnoException).code})`,
          { cause },
        );
      // Created meanwhile: accept only a real folder, never a symlink.
      if (!lstatSync(dir).isDirectory())
        throw new NonRetryableError(`${field}: ${dir} appeared as a non-folder (a symlink?) while writing "${path}"`);
    }
  }
  const mode =
    constants.O_WRONLY |
    constants.O_CREAT |
    constants.O_NOFOLLOW |
    (flags === 'exclusive' ? constants.O_EXCL : constants.O_TRUNC);
  try {
    const handle = await open(target, mode, 0o644);
    return { handle, path: target };
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ELOOP')
      throw new NonRetryableError(`${field}: "${path}" is a symlink; file actions do not write through symlinks`, {
        cause,
      });
    if (code === 'EEXIST') throw new NonRetryableError(`${field}: "${path}" already exists`, { cause });
    if (code === 'EISDIR') throw new NonRetryableError(`${field}: "${path}" is a folder, not a file`, { cause });
    throw new NonRetryableError(`${field}: cannot write "${path}" (${code ?? (cause as Error).message})`, { cause });
  }
}

/** Writes a whole file inside the working folder, symlink-safe. Returns the absolute path and the bytes written. */
export async function writeFileInside(
  path: string,
  data: string | Uint8Array,
  field = 'output',
): Promise<{ path: string; bytes: number }> {
  const { handle, path: abs } = await openForWrite(path, field);
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
  return { path: abs, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength };
}

/** A path as shown to users: relative to the working folder when inside it. */
export function displayPath(abs: string): string {
  const root = workingDir();
  return isInside(root, abs) ? relative(root, abs) || '.' : abs;
}
