/**
 * A full disk and a read-only folder, for real: the fixture runs in a private mount namespace (`unshare -m`, so
 * nothing leaks to this machine's mounts) on a 1 MiB tmpfs. Skipped where mount namespaces are not allowed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('../../dist/test/fixtures/diskFault.js', import.meta.url));
const canMount =
  spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt'], { stdio: 'ignore' }).status === 0;

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

describe.skipIf(!canMount)('disk faults on a real filesystem', () => {
  it('fails a write that does not fit with a clear error, takes it back, refuses work until the disk frees up; refuses a read-only folder at open', () => {
    const dir = dirs.make('diskfault');
    const script = [
      'set -e',
      `mount -t tmpfs -o size=1m tmpfs "${dir}"`,
      `"${process.execPath}" "${FIXTURE}" full "${dir}"`,
      `mount -o remount,ro "${dir}"`,
      `"${process.execPath}" "${FIXTURE}" readonly "${dir}"`,
    ].join('\n');
    const run = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const [full, ro] = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const dbPath = join(dir, 'state.db');

    expect(full?.['before']).toBe('completed');
    expect(full?.['big']).toMatchObject({ name: 'StoreError', code: 'STORE_WRITE_FAILED' });
    expect((full?.['big'] as { message: string }).message).toContain(
      `could not write to the database ${dbPath}: database or disk is full (SQLITE_FULL)`,
    );
    // Memory did not run ahead of the disk: the task that could not be written is gone and never ran.
    expect(full?.['bigInMemory']).toBeNull();
    expect(full?.['startedIds']).toEqual(['before']);
    expect(full?.['meanwhile']).toMatchObject({ code: 'STORE_WRITE_FAILED' });
    expect((full?.['meanwhile'] as { message: string }).message).toMatch(/nothing was added$/);
    expect(full?.['faultEvents']).toEqual(['store_failed', 'store_recovered']);
    expect(full?.['after']).toBe('completed');

    expect(ro?.['open']).toMatchObject({ name: 'StoreError', code: 'STORE_UNAVAILABLE' });
    expect((ro?.['open'] as { message: string }).message).toContain(
      `the folder of the database ${dir} is on a read-only file system`,
    );
  });
});
