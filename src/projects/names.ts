/**
 * The checks on names and paths that come from outside (createProject's `name`, a template's folders and files):
 * no path traversal, no absolute paths, no control characters, no reserved names.
 */
import { ValidationError } from '../errors.js';

/** Names Windows refuses for a file or folder (whatever the extension), and codomyrmex's own folder names. */
const RESERVED = new Set([
  'con',
  'prn',
  'aux',
  'nul',
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((n) => [`com${n}`, `lpt${n}`]),
  '.codomyrmex',
  'archives',
  'node_modules',
]);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A whole string with no control character (U+0000–U+001F), for zod's `.regex` on free-text names and paths. */
// eslint-disable-next-line no-control-regex
export const NO_CONTROL_CHARS = /^[^\u0000-\u001f]+$/;

/** Why `name` cannot be a project name, or null when it can. */
export function projectNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'is required: give the project a name like "my_ai_project"';
  if (name.length > 100) return `is ${name.length} characters long; at most 100`;
  if (CONTROL.test(name)) return 'holds a control character; use letters, digits, _, . and -';
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name))
    return `"${name}" is an absolute path; give a plain name and, if you want another folder, the "path" option`;
  if (name === '.' || name === '..' || name.includes('..'))
    return `"${name}" holds ".." (path traversal); use letters, digits, _, . and -`;
  if (name.includes('/') || name.includes('\\'))
    return `"${name}" holds a path separator; give a plain name and, if you want another folder, the "path" option`;
  if (RESERVED.has(name.toLowerCase().replace(/\..*$/, '')) || RESERVED.has(name.toLowerCase()))
    return `"${name}" is a reserved name; pick another`;
  if (!/^[A-Za-z0-9][\w.-]*$/.test(name))
    return `"${name}" must start with a letter or digit and hold only letters, digits, _, . and -`;
  return null;
}

/** Throws a `ValidationError` naming `field` when `name` is not a usable project name. */
export function checkProjectName(name: unknown, field = 'name'): asserts name is string {
  const problem = projectNameProblem(name);
  if (problem) throw new ValidationError(`${field}: ${problem}`);
}

/** Why `path` cannot be a path inside a project (a template's folder or file), or null. */
export function relativePathProblem(path: string): string | null {
  if (CONTROL.test(path)) return 'holds a control character';
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path))
    return 'is absolute; paths in a template are relative to the project folder';
  if (path.split(/[\\/]/).includes('..'))
    return 'climbs out with ".."; paths in a template stay inside the project folder';
  return null;
}
