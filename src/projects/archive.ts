/** Archives of project folders: a gzipped tarball written with the `tar` package, and its listing. */
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { create, list } from 'tar';

/**
 * Writes `folder` as `<file>` (a `.tar.gz`), its entries under the folder's own name. Written to a temporary name
 * and renamed, so a failure leaves no partial archive.
 */
export async function writeTarball(folder: string, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.partial-${process.pid}`;
  try {
    await create({ gzip: true, file: partial, cwd: dirname(folder), portable: true }, [basename(folder)]);
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

/** The paths inside a tarball, in order. */
export async function listTarball(file: string): Promise<string[]> {
  const paths: string[] = [];
  await list({ file, onReadEntry: (entry) => paths.push(entry.path) });
  return paths;
}
