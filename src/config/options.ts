import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { formatZodIssues } from '../model/validate.js';

/** Options of an engine. All optional; each line says its default. */
export interface EngineOptions {
  /** Worker threads in the pool (default: `os.availableParallelism()`). Env: `CODOMYRMEX_THREADS`. */
  threads?: number;
  /** Tasks one worker thread runs at once (default 1). Raise it for I/O-bound actions. */
  concurrentTasksPerWorker?: number;
  /** Tasks running at once across the pool (default: threads × concurrentTasksPerWorker). */
  maxConcurrency?: number;
  /** Folders to load user action modules from (default none). Env: `CODOMYRMEX_MODULE_DIRS` (`:`-separated). */
  moduleDirs?: string[];
  /** A waiting task climbs one priority level per this many ms (default 10 000; 0 turns aging off). */
  agingMs?: number;
  /** Grace between a cooperative abort and terminating the thread, for actions with a channel (default 250). */
  abortGraceMs?: number;
  /** Finished tasks kept in memory (default 10 000); older ones are read from the store. */
  retainFinishedTasks?: number;
  /** How long `shutdown()` lets running tasks finish before cancelling them (default 30 000). */
  shutdownGraceMs?: number;
  /** `memory` (default for now; SQLite arrives with durability). */
  store?: 'memory';
  /** Folders of workflow definition files (YAML/JSON) loaded at start (default: the package's `config/workflows`). Env: `CODOMYRMEX_WORKFLOW_DIRS`. */
  workflowDirs?: string[];
  /** Finished workflow runs kept for `getRun` (default 1000). */
  retainRuns?: number;
}

/** Every option filled in and checked. Nothing after `compileOptions` reads raw options or env. */
export interface CompiledOptions {
  threads: number;
  concurrentTasksPerWorker: number;
  maxConcurrency: number;
  moduleDirs: string[];
  agingMs: number;
  abortGraceMs: number;
  retainFinishedTasks: number;
  shutdownGraceMs: number;
  store: 'memory';
  workflowDirs: string[];
  retainRuns: number;
}

const schema = z
  .object({
    threads: z.number().int().min(1).max(1024).optional(),
    concurrentTasksPerWorker: z.number().int().min(1).max(1024).optional(),
    maxConcurrency: z.number().int().min(1).optional(),
    moduleDirs: z.array(z.string().min(1)).optional(),
    agingMs: z.number().int().min(0).optional(),
    abortGraceMs: z.number().int().min(0).optional(),
    retainFinishedTasks: z.number().int().min(0).optional(),
    shutdownGraceMs: z.number().int().min(0).optional(),
    store: z.literal('memory').optional(),
    workflowDirs: z.array(z.string().min(1)).optional(),
    retainRuns: z.number().int().min(0).optional(),
  })
  .strict();

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ValidationError(`${name}: must be an integer (got "${raw}")`);
  return n;
}

/** Merges options over the environment over defaults, and validates the result, naming any bad option. */
export function compileOptions(options: EngineOptions = {}, env: NodeJS.ProcessEnv = process.env): CompiledOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'options'));
  const o = parsed.data;
  const threads = o.threads ?? envNumber(env, 'CODOMYRMEX_THREADS') ?? availableParallelism();
  if (threads < 1) throw new ValidationError(`CODOMYRMEX_THREADS: must be at least 1 (got ${threads})`);
  const concurrentTasksPerWorker = o.concurrentTasksPerWorker ?? 1;
  const envDirs = env['CODOMYRMEX_MODULE_DIRS'];
  const envWorkflowDirs = env['CODOMYRMEX_WORKFLOW_DIRS'];
  return {
    threads,
    concurrentTasksPerWorker,
    maxConcurrency: o.maxConcurrency ?? threads * concurrentTasksPerWorker,
    moduleDirs: o.moduleDirs ?? (envDirs ? envDirs.split(':').filter(Boolean) : []),
    agingMs: o.agingMs ?? 10_000,
    abortGraceMs: o.abortGraceMs ?? 250,
    retainFinishedTasks: o.retainFinishedTasks ?? 10_000,
    shutdownGraceMs: o.shutdownGraceMs ?? 30_000,
    store: o.store ?? 'memory',
    workflowDirs: o.workflowDirs ?? (envWorkflowDirs ? envWorkflowDirs.split(':').filter(Boolean) : [packagePath('config', 'workflows')]),
    retainRuns: o.retainRuns ?? 1000,
  };
}

/** A path inside the installed package (found by walking up to its package.json, from src/ or dist/src/). */
export function packagePath(...parts: string[]): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return join(dir, ...parts);
}
