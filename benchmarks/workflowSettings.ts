/**
 * The workflow benchmark's settings (read from the environment: BENCH_CHAIN, BENCH_FAN, BENCH_CPTW, ...; see
 * benchmarks/workflows.ts), its targets, and the integer format its tables use.
 */
import os from 'node:os';
import { envInt } from './support.js';

function envList<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  const items = raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const x of items)
    if (!(allowed as readonly string[]).includes(x))
      throw new Error(`${name}: "${x}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}

function envIntList(name: string, fallback: readonly number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  return raw.split(',').map((x) => {
    const n = Number(x.trim());
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: "${x}" must be an integer >= 1`);
    return n;
  });
}

type Case = 'chain' | 'fan' | 'layered' | 'validate' | 'foreach' | 'waiting';
const ALL_CASES: readonly Case[] = ['chain', 'fan', 'layered', 'validate', 'foreach', 'waiting'];
/** bare: Piscina alone; tasks: the same DAG as orchestrator tasks (no workflow layer); workflow: the workflow run. */
export type Path = 'bare' | 'tasks' | 'workflow';
export const ALL_PATHS: readonly Path[] = ['bare', 'tasks', 'workflow'];

export const THREADS = os.availableParallelism();
export const CHAIN = envInt('BENCH_CHAIN', 1000);
export const FAN = envInt('BENCH_FAN', 10_000, 3);
export const LAYERS = envInt('BENCH_LAYERS', 100, 2);
export const WIDTH = envInt('BENCH_WIDTH', 100, 3);
export const VALIDATE = envInt('BENCH_VALIDATE', 10_000, 2);
export const REPEATS = envInt('BENCH_REPEATS', 3);
export const SEED = envInt('BENCH_SEED', 1, 0);
export const CONCURRENCY_SETTINGS = envIntList('BENCH_CPTW', [1, 16]);
export const CASES = new Set(envList('BENCH_CASES', ALL_CASES, ALL_CASES));
/** Which paths cases 1-3 time; one alone is for profiling (the ratios and their targets then drop out). */
export const PATHS = new Set(envList('BENCH_PATHS', ALL_PATHS, ALL_PATHS));
export const STRICT = process.env['BENCH_STRICT'] === '1';
/** The chain is sequential: one task in flight whatever the setting, so it runs with one task per worker. */
export const CHAIN_CPTW = 1;
/** Steps of the throwaway runs that warm the main thread's JIT before anything is timed. */
export const WARMUP_STEPS = Math.min(FAN, 2000);

/** Issue 30's targets: a chain step under 0.08 ms, a 10k fan-out/fan-in at most 0.9× bare Piscina's time. */
export const TARGETS = {
  chainMsPerStepMax: 0.08,
  fanRatioMax: 0.9,
  validateMsMax: 200,
} as const;

/** Integers with thousands separators, as the tables print them. */
export const fmtInt = (x: number): string => Math.round(x).toLocaleString('en-US');
