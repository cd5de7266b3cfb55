/**
 * What the benchmarks share: settings from the environment, gc, statistics, the bare Piscina pool they compare
 * against (built with the engine's own Piscina configuration), and writing results.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Piscina } from 'piscina';
import { packagePath } from '../src/config/options.js';
import { piscinaConfig } from '../src/workers/pool.js';
import type { WorkerReply, WorkerRequest } from '../src/workers/protocol.js';

export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}: must be an integer >= ${min} (got "${raw}")`);
  return n;
}

type Gc = () => void;

/** `global.gc` without `--expose-gc` on the command line: set the flag at run time and fetch `gc` from a new context. */
function loadGc(): Gc | null {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return existing as Gc;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Gc) : null;
  } catch {
    return null;
  }
}

export const gc = loadGc();
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function fullGc(): Promise<void> {
  if (!gc) return;
  for (let i = 0; i < 3; i++) {
    gc();
    await tick();
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

export const round = (x: number, digits = 0): number => Number(x.toFixed(digits));
export const mb = (bytes: number): number => round(bytes / 2 ** 20, 1);

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

export type BarePool = Piscina<WorkerRequest, WorkerReply>;

/** A Piscina pool configured exactly like the engine's `WorkerPool` (its own `piscinaConfig`). */
export function createBarePool(threads: number, concurrentTasksPerWorker: number): BarePool {
  return new Piscina<WorkerRequest, WorkerReply>(piscinaConfig({ threads, concurrentTasksPerWorker, moduleDirs: [] }));
}

/** Writes a report as `benchmarks/results/<name>-<timestamp>.json` and `<name>-latest.json`; returns the paths. */
export function writeResults(name: string, report: unknown): string[] {
  const dir = packagePath('benchmarks', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const files = [join(dir, `${name}-${stamp}.json`), join(dir, `${name}-latest.json`)];
  const text = `${JSON.stringify(report, null, 2)}\n`;
  for (const f of files) writeFileSync(f, text);
  return files.map((f) => relative(process.cwd(), f));
}

export function piscinaVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(packagePath('node_modules', 'piscina', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The machine a run measured, for its report: cores, CPU, memory, platform, Node, V8 and Piscina, and the 1/5/15-minute
 * load averages at its start and end (the end includes the run's own busy threads): other work skews every number.
 */
export function machineReport(threads: number, loadAtStart: readonly number[]) {
  return {
    cpus: os.cpus().length,
    availableParallelism: threads,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    totalMemMB: mb(os.totalmem()),
    platform: process.platform,
    arch: process.arch,
    node: process.version,
    v8: process.versions.v8,
    piscina: piscinaVersion(),
    loadAverage: { atStart: loadAtStart.map((x) => round(x, 2)), atEnd: os.loadavg().map((x) => round(x, 2)) },
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

/** Min, median and max of a few runs' values: how the benchmarks report a spread. */
export function spread(xs: readonly number[], digits = 2): { min: number; median: number; max: number } {
  return {
    min: round(Math.min(...xs), digits),
    median: round(median(xs), digits),
    max: round(Math.max(...xs), digits),
  };
}

/**
 * Brings a new pool's threads up without running any task through the scheduler (which would switch an engine to
 * executing and change what an addTasks path measures): rounds of probe round trips, enough to reach every thread.
 */
export async function warmThreads(probe: () => Promise<unknown>, capacity: number, threads: number): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({ length: Math.max(2 * capacity, 2 * threads) }, probe));
  }
  await sleep(20);
}

export const bareProbe = (pool: BarePool) => () => pool.run({ type: 'probe' });

let bareSeq = 0;
/** A `core.noop` run request as the engine would send it, for the bare pool. */
export function bareRequest(): WorkerRequest {
  return {
    type: 'run',
    seq: (bareSeq % 0x7ffffffe) + 1,
    taskId: `bare-${++bareSeq}`,
    module: 'core',
    action: 'noop',
    params: {},
    attempt: 1,
  };
}
