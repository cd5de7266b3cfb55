import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insideWorkingDir, isInside, writeFileInside } from '../../src/modules/paths.js';
import { enterTempDir } from './fixture.js';

describe('file-action confinement (paths)', () => {
  let dir: string;
  let outside: string;
  let leave: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, leave } = await enterTempDir('paths'));
    outside = await mkdtemp(join(tmpdir(), 'codomyrmex-outside-'));
    await mkdir(join(dir, '..foo'));
    await writeFile(join(dir, '..foo', 'a.txt'), 'inside');
    await symlink(outside, join(dir, 'linkdir'));
    await symlink(join(outside, 'nowhere.svg'), join(dir, 'dangling.svg'));
    await writeFile(join(outside, 'target.txt'), 'secret');
    await symlink(join(outside, 'target.txt'), join(dir, 'filelink.txt'));
    await mkdir(join(dir, 'real'));
    await symlink(join(dir, 'real'), join(dir, 'innerlink'));
  });
  afterAll(async () => {
    await leave();
    await rm(outside, { recursive: true, force: true });
  });

  it('treats a folder named "..foo" as inside, and "../x" or an absolute path elsewhere as outside', async () => {
    expect(isInside('/a/b', '/a/b/..foo/x')).toBe(true);
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a')).toBe(false);
    expect(insideWorkingDir('..foo/a.txt')).toBe(join(dir, '..foo', 'a.txt'));
    const w = await writeFileInside('..foo/new/b.txt', 'ok');
    expect(w.path).toBe(join(dir, '..foo', 'new', 'b.txt'));
    expect(() => insideWorkingDir('../')).toThrow(/outside the working folder/);
    expect(() => insideWorkingDir(outside)).toThrow(/outside the working folder/);
  });

  it('refuses writes through a symlinked folder to a file that does not exist yet, also deeper', async () => {
    await expect(writeFileInside('linkdir/escape.svg', 'x')).rejects.toThrow(/outside the working folder/);
    await expect(writeFileInside('linkdir/deeper/more/escape.svg', 'x')).rejects.toThrow(/outside the working folder/);
    await expect(readFile(join(outside, 'escape.svg'))).rejects.toThrow(/ENOENT/);
    await expect(readFile(join(outside, 'deeper'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a dangling symlink and a symlink to a file as the last step, leaving the targets untouched', async () => {
    await expect(writeFileInside('dangling.svg', 'x')).rejects.toThrow(/symlink/);
    await expect(readFile(join(outside, 'nowhere.svg'))).rejects.toThrow(/ENOENT/);
    await expect(writeFileInside('filelink.txt', 'overwritten')).rejects.toThrow(/symlink/);
    expect(await readFile(join(outside, 'target.txt'), 'utf8')).toBe('secret');
    expect(() => insideWorkingDir('filelink.txt')).toThrow(/outside the working folder/);
  });

  it('writes through a symlinked folder that stays inside, and reads what it wrote', async () => {
    const w = await writeFileInside('innerlink/ok.txt', 'fine');
    expect(w.path).toBe(join(dir, 'real', 'ok.txt'));
    expect(await readFile(join(dir, 'real', 'ok.txt'), 'utf8')).toBe('fine');
  });
});
