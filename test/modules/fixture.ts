import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Makes a fresh temp folder the working folder of this test process (file actions are confined to it). Worker
 * threads see the change too. Call `leave()` in afterAll: it restores the old folder and removes the temp one.
 */
export async function enterTempDir(prefix: string): Promise<{ dir: string; leave: () => Promise<void> }> {
  const before = process.cwd();
  const dir = await realpath(await mkdtemp(join(tmpdir(), `codomyrmex-${prefix}-`)));
  process.chdir(dir);
  return {
    dir,
    leave: async () => {
      process.chdir(before);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes files given as `{ 'relative/path': content }` under `root`. */
export async function writeTree(root: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}
