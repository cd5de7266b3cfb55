/**
 * CLI cold start: how long `codomyrmex` takes from `node <bin> ...` to its exit, for commands that need no engine
 * (`--help`, `--version`, `task --help`) and one that opens an embedded engine (`workflow list`), next to `node -e 0`
 * (the floor: starting Node itself). Each round runs every command once per CLI, interleaved, so a noisy machine
 * hits all of them alike; the table gives min / median / max wall time over the rounds and the median above Node's.
 * One more run per command counts the modules it loaded (ESM and CommonJS) and those under node_modules.
 *
 * Run: `npm run bench:cli`. Env: BENCH_RUNS (10), BENCH_CLI_BEFORE (another build's CLI entry, e.g.
 * /work/wt/clibase/dist/src/edges/cli/main.js, measured beside this one as `before`). Writes
 * benchmarks/results/cliStart-<timestamp>.json and cliStart-latest.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packagePath } from '../src/config/options.js';
import { envInt, log, median, round, spread, writeResults } from './support.js';

const RUNS = envInt('BENCH_RUNS', 10);
const BEFORE = process.env['BENCH_CLI_BEFORE'] || undefined;
const CLIS: { name: string; bin: string }[] = [
  ...(BEFORE ? [{ name: 'before', bin: BEFORE }] : []),
  { name: BEFORE ? 'after' : 'cli', bin: packagePath('dist', 'src', 'edges', 'cli', 'main.js') },
];
const COMMANDS: string[][] = [['--help'], ['--version'], ['task', '--help'], ['workflow', 'list']];

/** Lists the modules a process loads (to MODLOG); built from test/fixtures/moduleLog/preload.ts. */
const MODULE_LOG = packagePath('dist', 'test', 'fixtures', 'moduleLog', 'preload.js');

/** Runs `node ...args` in `cwd`; its wall time in ms, and fails loudly on a non-zero exit. */
function timed(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

/** The modules `node bin ...args` loads: all of them, and those under node_modules. */
function modules(bin: string, args: string[], cwd: string, dir: string): { total: number; dependencies: number } {
  const file = join(dir, 'modules.log');
  writeFileSync(file, '');
  timed(['--import', pathToFileURL(MODULE_LOG).href, bin, ...args], cwd, {
    ...process.env,
    MODLOG: file,
  });
  const loaded = new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean));
  return { total: loaded.size, dependencies: [...loaded].filter((p) => p.includes('/node_modules/')).length };
}

const dir = mkdtempSync(join(os.tmpdir(), 'codomyrmex-clistart-'));
// `workflow list` opens an engine on ./.codomyrmex/state.db: a folder of its own, created by a first run per CLI.
const cwds = new Map(CLIS.map((c) => [c.name, mkdtempSync(join(dir, `${c.name}-`))]));
const cwdOf = (name: string): string => cwds.get(name) ?? dir;
try {
  const load = os.loadavg().map((l) => round(l, 2));
  for (const c of CLIS) timed([c.bin, 'workflow', 'list'], cwdOf(c.name));
  const node: number[] = [];
  const times = new Map<string, number[]>();
  const key = (cli: string, cmd: string[]): string => `${cli} ${cmd.join(' ')}`;
  for (let i = 0; i < RUNS; i++) {
    node.push(timed(['-e', '0'], dir));
    for (const cmd of COMMANDS)
      for (const c of CLIS) {
        const k = key(c.name, cmd);
        times.set(k, [...(times.get(k) ?? []), timed([c.bin, ...cmd], cwdOf(c.name))]);
      }
  }
  const nodeMedian = median(node);
  const rows = COMMANDS.flatMap((cmd) =>
    CLIS.map((c) => {
      const ms = times.get(key(c.name, cmd)) ?? [];
      return {
        command: `codomyrmex ${cmd.join(' ')}`,
        cli: c.name,
        ms: spread(ms, 1),
        overNodeMs: round(median(ms) - nodeMedian, 1),
        modules: modules(c.bin, cmd, cwdOf(c.name), dir),
      };
    }),
  );
  const report = {
    benchmark: 'cliStart',
    node: process.version,
    runs: RUNS,
    loadAverage: { start: load, end: os.loadavg().map((l) => round(l, 2)) },
    clis: CLIS,
    nodeOnlyMs: spread(node, 1),
    results: rows,
    timestamp: new Date().toISOString(),
  };
  log(`CLI cold start, ${RUNS} interleaved runs each, load average ${load.join(' ')}`);
  log(`node -e 0: ${report.nodeOnlyMs.min} / ${report.nodeOnlyMs.median} / ${report.nodeOnlyMs.max} ms\n`);
  console.table(
    rows.map((r) => ({
      command: r.command,
      cli: r.cli,
      'min / median / max ms': `${r.ms.min} / ${r.ms.median} / ${r.ms.max}`,
      'median - node ms': r.overNodeMs,
      modules: r.modules.total,
      'of node_modules': r.modules.dependencies,
    })),
  );
  log(`\nwrote ${writeResults('cliStart', report).join(', ')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
