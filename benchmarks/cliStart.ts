/**
 * CLI cold start: how long `codomyrmex` takes from `node <bin> ...` to its exit, for commands that need no engine
 * (`--help`, `--version`, `task --help`) and one that opens an embedded engine (`workflow list`), next to `node -e 0`
 * (the floor: starting Node itself). Each round runs every command once per CLI, interleaved, so a noisy machine
 * hits all of them alike. The table gives min / median / max wall time over the rounds, and the median CPU time of
 * the process (all its threads, read at exit by a one-line preload every run has, `node -e 0` too): on a loaded
 * machine the CPU time is the steadier of the two. One more run per command counts the modules it loaded (ESM and
 * CommonJS) and those under node_modules.
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

/** Prints the process's CPU time (user + system, every thread) on stderr as it exits. */
const CPU_PRELOAD = `process.on('exit', () => {
  const u = process.cpuUsage();
  process.stderr.write('\\ncli-start-cpu-ms ' + (u.user + u.system) / 1000 + '\\n');
});
`;

interface Timing {
  wallMs: number;
  cpuMs: number;
}

/** Runs `node ...args` in `cwd` with the CPU preload; its wall and CPU time, and fails loudly on a non-zero exit. */
function timed(args: string[], cwd: string, preload: string, env: NodeJS.ProcessEnv = process.env): Timing {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', preload, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const wallMs = performance.now() - t0;
  const stderr = r.stderr.toString();
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${stderr}`);
  const cpu = /cli-start-cpu-ms ([\d.]+)/.exec(stderr)?.[1];
  if (cpu === undefined) throw new Error(`node ${args.join(' ')}: no CPU time on stderr: ${stderr}`);
  return { wallMs, cpuMs: Number(cpu) };
}

/** The modules `node bin ...args` loads: all of them, and those under node_modules. */
function modules(
  bin: string,
  args: string[],
  cwd: string,
  dir: string,
  cpuPreload: string,
): { total: number; dependencies: number } {
  const file = join(dir, 'modules.log');
  writeFileSync(file, '');
  timed(['--import', pathToFileURL(MODULE_LOG).href, bin, ...args], cwd, cpuPreload, { ...process.env, MODLOG: file });
  const loaded = new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean));
  return { total: loaded.size, dependencies: [...loaded].filter((p) => p.includes('/node_modules/')).length };
}

const dir = mkdtempSync(join(os.tmpdir(), 'codomyrmex-clistart-'));
const preload = join(dir, 'cpu.mjs');
writeFileSync(preload, CPU_PRELOAD);
const cpuPreload = pathToFileURL(preload).href;
// `workflow list` opens an engine on ./.codomyrmex/state.db: a folder of its own, created by a first run per CLI.
const cwds = new Map(CLIS.map((c) => [c.name, mkdtempSync(join(dir, `${c.name}-`))]));
const cwdOf = (name: string): string => cwds.get(name) ?? dir;
try {
  const load = os.loadavg().map((l) => round(l, 2));
  for (const c of CLIS) timed([c.bin, 'workflow', 'list'], cwdOf(c.name), cpuPreload);
  const node: Timing[] = [];
  const times = new Map<string, Timing[]>();
  const key = (cli: string, cmd: string[]): string => `${cli} ${cmd.join(' ')}`;
  for (let i = 0; i < RUNS; i++) {
    node.push(timed(['-e', '0'], dir, cpuPreload));
    for (const cmd of COMMANDS)
      for (const c of CLIS) {
        const k = key(c.name, cmd);
        times.set(k, [...(times.get(k) ?? []), timed([c.bin, ...cmd], cwdOf(c.name), cpuPreload)]);
      }
  }
  const nodeWall = median(node.map((t) => t.wallMs));
  const nodeCpu = median(node.map((t) => t.cpuMs));
  const rows = COMMANDS.flatMap((cmd) =>
    CLIS.map((c) => {
      const runs = times.get(key(c.name, cmd)) ?? [];
      const wall = runs.map((t) => t.wallMs);
      const cpu = runs.map((t) => t.cpuMs);
      return {
        command: `codomyrmex ${cmd.join(' ')}`,
        cli: c.name,
        wallMs: spread(wall, 1),
        cpuMs: spread(cpu, 1),
        overNode: { wallMs: round(median(wall) - nodeWall, 1), cpuMs: round(median(cpu) - nodeCpu, 1) },
        modules: modules(c.bin, cmd, cwdOf(c.name), dir, cpuPreload),
      };
    }),
  );
  const report = {
    benchmark: 'cliStart',
    node: process.version,
    runs: RUNS,
    loadAverage: { start: load, end: os.loadavg().map((l) => round(l, 2)) },
    clis: CLIS,
    nodeOnly: {
      wallMs: spread(
        node.map((t) => t.wallMs),
        1,
      ),
      cpuMs: spread(
        node.map((t) => t.cpuMs),
        1,
      ),
    },
    results: rows,
    timestamp: new Date().toISOString(),
  };
  const { wallMs, cpuMs } = report.nodeOnly;
  log(`CLI cold start, ${RUNS} interleaved runs each, load average ${load.join(' ')}`);
  log(`node -e 0: wall ${wallMs.min} / ${wallMs.median} / ${wallMs.max} ms, CPU median ${cpuMs.median} ms\n`);
  console.table(
    rows.map((r) => ({
      command: r.command,
      cli: r.cli,
      'wall min / median / max ms': `${r.wallMs.min} / ${r.wallMs.median} / ${r.wallMs.max}`,
      'CPU median ms': r.cpuMs.median,
      'over node -e 0: wall / CPU ms': `${r.overNode.wallMs} / ${r.overNode.cpuMs}`,
      modules: r.modules.total,
      'of node_modules': r.modules.dependencies,
    })),
  );
  log(`\nwrote ${writeResults('cliStart', report).join(', ')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
