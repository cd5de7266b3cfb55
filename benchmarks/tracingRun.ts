/**
 * One measured run of the tracing benchmark (tracingCost.ts), in a process of its own: an engine that once traced
 * may leave process-wide state behind (a context manager, async hooks), so every run starts clean. Reads its
 * subject from the environment, warms up on a throwaway engine, runs `BENCH_TRACING_N` no-op `executeTask` calls
 * (1,000 in flight) on a fresh one, and prints `{"tasksPerSec": ...}` as its last line.
 *
 * Env: BENCH_TRACING_ENTRY (the engine's `dist/src/index.js` to load: another checkout's build for the "before"
 * subjects; default this one's), BENCH_TRACING_MODE (`off`, `sampled`, `unsampled`), BENCH_TRACING_N,
 * BENCH_TRACING_THREADS, BENCH_TRACING_ENDPOINT (the OTLP receiver).
 */
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

async function run(count: number): Promise<number> {
  const e = engine();
  try {
    await e.ready();
    await Promise.all(Array.from({ length: threads * 32 }, () => e.pool.probe()));
    let ok = 0;
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
    return (count / ms) * 1000;
  } finally {
    await e.shutdown();
  }
}

// A throwaway run warms the JIT (and loads the SDK) before the measured one.
await run(Math.min(n, 5000));
console.log(JSON.stringify({ tasksPerSec: await run(n) }));
