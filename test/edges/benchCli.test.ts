/** `codomyrmex bench`: both paths run every task and report the numbers a CI job tracks (no timing asserted). */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import type { BenchReport } from '../../src/edges/cli/bench.js';

const run = promisify(execFile);
const CLI = packagePath('dist', 'src', 'edges', 'cli', 'main.js');

describe('codomyrmex bench', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-bench-cli-'));
  });
  afterAll(() => rm(cwd, { recursive: true, force: true }));

  it('runs N tasks through the orchestrator and a bare pool, with latency and queue-wait percentiles, keeping no state', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        CLI,
        '--threads',
        '1',
        'bench',
        'core.echo',
        '--tasks',
        '40',
        '--concurrency',
        '4',
        '--param',
        'value=1',
        '--store',
        'sqlite',
        '--json',
      ],
      { cwd },
    );
    const r = JSON.parse(stdout) as BenchReport;
    expect(r).toMatchObject({ action: 'core.echo', tasks: 40, concurrency: 4, threads: 1, store: 'sqlite' });
    expect(r.results.map((x) => [x.path, x.tasks, x.failed])).toEqual([
      ['orchestrator', 40, 0],
      ['bare pool', 40, 0],
    ]);
    const [o] = r.results;
    expect(o?.latencyMs.p50).toBeLessThanOrEqual(o?.latencyMs.p99 ?? -1);
    expect(o?.queueWaitMs).toEqual({
      p50: expect.any(Number) as number,
      p95: expect.any(Number) as number,
      p99: expect.any(Number) as number,
    });
    expect(await readdir(cwd)).toEqual([]); // the throwaway database is gone
  }, 60_000);

  it('refuses an action without a module', async () => {
    const err = (await run(process.execPath, [CLI, 'bench', 'noop', '--json'], { cwd }).catch((e: unknown) => e)) as {
      code: number;
      stdout: string;
    };
    expect(err.code).toBe(2);
    expect(JSON.parse(err.stdout)).toMatchObject({
      error: { message: expect.stringMatching(/module\.action/) as string },
    });
  });
});
