import { constants } from 'node:fs';
import { lstat, open, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { NonRetryableError } from '../errors.js';
import { defineAction, defineModule } from './contract.js';
import {
  displayPath,
  insideWorkingDir,
  isInside,
  openForWrite,
  resolveForWrite,
  workingDir,
  writeFileInside,
} from './paths.js';

const MiB = 2 ** 20;

/** Reads a file inside the working folder, refusing a symlink swapped in at the last step (O_NOFOLLOW). */
async function readInside(path: string, field: string, maxBytes: number): Promise<{ abs: string; data: Buffer }> {
  const abs = insideWorkingDir(path, field);
  let fh;
  try {
    fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new NonRetryableError(`${field}: cannot read "${path}" (${code === 'EACCES' ? 'permission denied' : code})`, {
      cause,
    });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NonRetryableError(`${field}: "${path}" is not a file`);
    if (st.size > maxBytes)
      throw new NonRetryableError(`${field}: "${path}" is ${st.size} bytes, over maxBytes ${maxBytes}`);
    return { abs, data: await fh.readFile() };
  } finally {
    await fh.close();
  }
}

/**
 * The entry to remove: its folder resolved (inside the working folder), the entry itself not followed (removing a
 * symlink removes the link, never its target). Never the working folder itself.
 */
async function entryToRemove(path: string): Promise<string> {
  const root = workingDir();
  const given = resolve(root, path);
  if (given === root)
    throw new NonRetryableError(
      `path: "${path}" is the working folder itself; fs.remove only removes what is inside it`,
    );
  const abs = join(insideWorkingDir(dirname(given), 'path'), basename(given));
  if (!isInside(root, abs) || abs === root)
    throw new NonRetryableError(`path: "${path}" is outside the working folder ${root}; fs.remove stays inside it`);
  return Promise.resolve(abs);
}

interface Entry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  bytes: number;
}

/** Files inside the working folder: read, write, list, copy, remove. Symlinks leading out are refused. */
export default defineModule({
  name: 'fs',
  description: 'File operations confined to the working folder',
  actions: {
    read: defineAction({
      description: 'Reads the file at `path` (inside the working folder) as UTF-8 text or base64.',
      output: '{ path, bytes, encoding, content }',
      params: z
        .object({
          path: z.string().min(1),
          encoding: z.enum(['utf8', 'base64']).default('utf8'),
          maxBytes: z
            .number()
            .int()
            .min(1)
            .max(256 * MiB)
            .default(4 * MiB),
        })
        .strict(),
      run: async ({ path, encoding, maxBytes }) => {
        const { abs, data } = await readInside(path, 'path', maxBytes);
        if (encoding === 'utf8' && data.subarray(0, 8192).includes(0))
          throw new NonRetryableError(`path: "${path}" is binary; read it with encoding "base64"`);
        return { path: displayPath(abs), bytes: data.length, encoding, content: data.toString(encoding) };
      },
    }),
    write: defineAction({
      description:
        'Writes `content` to `path` inside the working folder (folders created; symlinks refused). `overwrite: false` refuses an existing file.',
      output: '{ path, bytes, written: [path] }',
      params: z
        .object({
          path: z.string().min(1),
          content: z.string().max(256 * MiB),
          encoding: z.enum(['utf8', 'base64']).default('utf8'),
          overwrite: z.boolean().default(true),
        })
        .strict(),
      run: async ({ path, content, encoding, overwrite }) => {
        const data = Buffer.from(content, encoding);
        if (overwrite) {
          const w = await writeFileInside(path, data, 'path');
          return { path: displayPath(w.path), bytes: w.bytes, written: [displayPath(w.path)] };
        }
        const { handle, path: abs } = await openForWrite(path, 'path', 'exclusive');
        try {
          await handle.writeFile(data);
        } finally {
          await handle.close();
        }
        return { path: displayPath(abs), bytes: data.length, written: [displayPath(abs)] };
      },
    }),
    list: defineAction({
      description:
        'Lists the folder at `path` (inside the working folder); `recursive` walks below it. Symlinks are listed, never followed.',
      output: '{ path, entries: [{ path, type: file|dir|symlink|other, bytes }], truncated }',
      params: z
        .object({
          path: z.string().min(1).default('.'),
          recursive: z.boolean().default(false),
          maxEntries: z.number().int().min(1).max(1_000_000).default(10_000),
        })
        .strict(),
      run: async ({ path, recursive, maxEntries }, ctx) => {
        const root = insideWorkingDir(path, 'path');
        const entries: Entry[] = [];
        let truncated = false;
        const walk = async (dir: string): Promise<void> => {
          const items = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
          for (const d of items) {
            if (entries.length >= maxEntries || ctx.signal.aborted) {
              truncated = true;
              return;
            }
            const abs = join(dir, d.name);
            const type = d.isSymbolicLink() ? 'symlink' : d.isDirectory() ? 'dir' : d.isFile() ? 'file' : 'other';
            const bytes = type === 'file' ? (await lstat(abs)).size : 0;
            entries.push({ path: relative(root, abs), type, bytes });
            if (recursive && type === 'dir') await walk(abs);
          }
        };
        if (!(await lstat(root)).isDirectory()) throw new NonRetryableError(`path: "${path}" is not a folder`);
        await walk(root);
        return { path: displayPath(root), entries, truncated };
      },
    }),
    copy: defineAction({
      description:
        'Copies the file or folder `from` to `to`, both inside the working folder. Symlinks inside a copied folder are skipped (and listed).',
      output: '{ from, to, files, bytes, skipped: [path], written: [to] (the file, or the folder copied into) }',
      params: z
        .object({
          from: z.string().min(1),
          to: z.string().min(1),
          overwrite: z.boolean().default(false),
          maxBytes: z
            .number()
            .int()
            .min(1)
            .max(4096 * MiB)
            .default(512 * MiB),
        })
        .strict(),
      run: async ({ from, to, overwrite, maxBytes }, ctx) => {
        const src = insideWorkingDir(from, 'from');
        const root = workingDir();
        const dest = resolveForWrite(to, 'to').target;
        // The copy declares its target (the file, or the folder its files went to), not each file it wrote.
        const out = {
          from: displayPath(src),
          to,
          files: 0,
          bytes: 0,
          skipped: [] as string[],
          written: [displayPath(dest)],
        };
        const copyFile = async (abs: string, target: string): Promise<void> => {
          const { data } = await readInside(relative(root, abs), 'from', maxBytes - out.bytes);
          if (overwrite) await writeFileInside(target, data, 'to');
          else {
            const { handle } = await openForWrite(target, 'to', 'exclusive');
            try {
              await handle.writeFile(data);
            } finally {
              await handle.close();
            }
          }
          out.files++;
          out.bytes += data.length;
        };
        const st = await lstat(src);
        if (!st.isFile() && isInside(src, dest))
          throw new NonRetryableError(`to: "${to}" is inside "${from}"; a folder cannot be copied into itself`);
        if (st.isFile()) {
          await copyFile(src, dest);
          return out;
        }
        const walk = async (dir: string, target: string): Promise<void> => {
          for (const d of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            if (ctx.signal.aborted) throw new NonRetryableError('copy cancelled');
            const abs = join(dir, d.name);
            if (d.isSymbolicLink() || (!d.isFile() && !d.isDirectory())) out.skipped.push(relative(root, abs));
            else if (d.isDirectory()) await walk(abs, join(target, d.name));
            else await copyFile(abs, join(target, d.name));
          }
        };
        await walk(src, dest);
        return out;
      },
    }),
    remove: defineAction({
      description:
        'Removes the file, symlink (the link, not its target) or folder (with `recursive`) at `path` inside the working folder. `force`: no error when it is missing.',
      output: '{ path, removed: boolean, type }',
      params: z
        .object({ path: z.string().min(1), recursive: z.boolean().default(false), force: z.boolean().default(false) })
        .strict(),
      run: async ({ path, recursive, force }) => {
        const abs = await entryToRemove(path);
        let st;
        try {
          st = await lstat(abs);
        } catch (cause) {
          if ((cause as NodeJS.ErrnoException).code === 'ENOENT' && force)
            return { path: displayPath(abs), removed: false, type: null };
          throw new NonRetryableError(`path: "${path}" does not exist`, { cause });
        }
        const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file';
        if (type === 'dir' && !recursive)
          throw new NonRetryableError(
            `path: "${path}" is a folder; pass recursive: true to remove it and its contents`,
          );
        await rm(abs, { recursive: type === 'dir', force: false });
        return { path: displayPath(abs), removed: true, type };
      },
    }),
  },
});
