/**
 * One measured run of the tracing benchmark (tracingCost.ts), in a process of its own: an engine that once traced
 * may leave process-wide state behind (a context manager, async hooks), so every run starts clean. Reads its
 * subject from the environment, warms up on a throwaway engine, runs `BENCH_TRACING_N` no-op `executeTask` calls
 * (1,000 in flight) on a fresh one, and prints `{"tasksPerSec": ..., "cpuUsPerTask": ...}` as its last line: CPU time per task of every thread of the process (`process.cpuUsage()`, the export's
 * included up to `shutdown()`) and of the engine's thread alone (Linux).
 *
 * Env: BENCH_TRACING_ENTRY (the engine's `dist/src/index.js` to load: another checkout's build for the "before"
 * subjects; default this one's), BENCH_TRACING_MODE (`off`, `sampled`, `unsampled`), BENCH_TRACING_N,
 * BENCH_TRACING_THREADS, BENCH_TRACING_ENDPOINT (the OTLP receiver).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { OrchestrationEngine, EngineOptions } from '../src/index.js';

const BATCH = 1000;
const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set (tracingRun.ts is started by tracingCost.ts)`);
  return v;
};

const entry = process.env['BENCH_TRACING_ENTRY']
  ? pathToFileURL(process.env['BENCH_TRACING_ENTRY']).href
  : new URL('../src/index.js', import.meta.url).href;
const { createOrchestrationEngine } = (await import(entry)) as {
  createOrchestrationEngine: (o: EngineOptions) => OrchestrationEngine;
};
const mode = env('BENCH_TRACING_MODE');
const n = Number(env('BENCH_TRACING_N'));
const threads = Number(env('BENCH_TRACING_THREADS'));
const endpoint = env('BENCH_TRACING_ENDPOINT');

function engine(): OrchestrationEngine {
  const base = { threads, concurrentTasksPerWorker: 16, workflowDirs: [] };
  if (mode === 'off') return createOrchestrationEngine({ ...base, tracing: { enabled: false } });
  return createOrchestrationEngine({ ...base, tracing: { endpoint, sampleRatio: mode === 'sampled' ? 1 : 0 } });
}

/**
 * CPU time of this process's main thread (the engine's), in µs, from `/proc/self/task/<pid>/stat` (Linux; clock
 * ticks of 10 ms, fine over a run of seconds); null elsewhere. Node 20 has no per-thread `cpuUsage`.
 */
function mainThreadCpuUs(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return null;
  }
}

async function run(
  count: number,
): Promise<{ tasksPerSec: number; cpuUsPerTask: number; mainCpuUsPerTask: number | null }> {
  const e = engine();
  let cpu0: NodeJS.CpuUsage | null = null;
  let main0: number | null = null;
  let tasksPerSec = 0;
  try {
    await e.ready();
    await Promise.all(Array.from({ length: threads * 32 }, () => e.pool.probe()));
    let ok = 0;
    cpu0 = process.cpuUsage();
    main0 = mainThreadCpuUs();
    const t0 = performance.now();
    for (let done = 0; done < count; done += BATCH) {
      const results = await Promise.all(
        Array.from({ length: Math.min(BATCH, count - done) }, () =>
          e.tasks.executeTask({ module: 'core', action: 'noop', parameters: {} }),
        ),
      );
      for (const r of results) if (r.success) ok++;
    }
    const ms = performance.now() - t0;
    if (ok !== count) throw new Error(`${mode}: ${ok} of ${count} tasks completed`);
    tasksPerSec = (count / ms) * 1000;
  } finally {
    await e.shutdown();
  }
  const cpu = process.cpuUsage(cpu0 ?? undefined);
  const main1 = mainThreadCpuUs();
  const mainCpuUsPerTask = main0 !== null && main1 !== null ? (main1 - main0) / count : null;
  return { tasksPerSec, cpuUsPerTask: (cpu.user + cpu.system) / count, mainCpuUsPerTask };
}

// A throwaway run warms the JIT (and loads the SDK) before the measured one.
await run(Math.min(n, 5000));
console.log(JSON.stringify(await run(n)));
