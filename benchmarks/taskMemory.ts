/**
 * What queued tasks cost in memory: RSS and heap after `queued` no-op tasks are added with `addTasks` and never
 * started, measured after a full GC on a fresh engine (run it first: later phases raise the heap's high-water mark).
 */
import { createOrchestrationEngine } from '../src/index.js';
import { fullGc, gc, log, mb, round, tick, warmThreads } from './support.js';

export interface MemoryResult {
  tasks: number;
  gcAvailable: boolean;
  rssDeltaMB: number;
  heapUsedDeltaMB: number;
  externalDeltaMB: number;
  heapBytesPerTask: number;
  rssBytesPerTask: number;
  addMs: number;
  /** Shutting the engine down cancels every queued task. */
  shutdownMs: number;
}

/** RSS and heap held by `queued` tasks added with `addTasks` and never started (they sit in the ready queue). */
export async function queuedMemory(threads: number, queued: number, batch: number): Promise<MemoryResult> {
  const engine = createOrchestrationEngine({ threads, concurrentTasksPerWorker: 1, workflowDirs: [] });
  let shutdownMs = 0;
  try {
    await engine.ready();
    await warmThreads(() => engine.pool.probe(), threads, threads);
    await fullGc();
    const before = process.memoryUsage();
    const t0 = performance.now();
    for (let added = 0; added < queued; added += batch) {
      await engine.tasks.addTasks(
        Array.from({ length: Math.min(batch, queued - added) }, () => ({
          module: 'core',
          action: 'noop',
          parameters: {},
        })),
      );
    }
    const addMs = performance.now() - t0;
    await tick(); // let the scheduler's batched store write happen: it is part of what a queued task costs
    await fullGc();
    const after = process.memoryUsage();
    const stats = await engine.tasks.listTasks({ status: 'ready', limit: queued + 1 });
    if (stats.length !== queued) throw new Error(`memory probe: ${stats.length} of ${queued} tasks in status "ready"`);
    const t1 = performance.now();
    await engine.shutdown();
    shutdownMs = performance.now() - t1;
    const heap = after.heapUsed - before.heapUsed;
    const rss = after.rss - before.rss;
    return {
      tasks: queued,
      gcAvailable: gc !== null,
      rssDeltaMB: mb(rss),
      heapUsedDeltaMB: mb(heap),
      externalDeltaMB: mb(after.external - before.external),
      heapBytesPerTask: Math.round(heap / queued),
      rssBytesPerTask: Math.round(rss / queued),
      addMs: round(addMs),
      shutdownMs: round(shutdownMs),
    };
  } finally {
    await engine.shutdown();
  }
}

export function printQueuedMemory(mem: MemoryResult): void {
  log(
    `Memory: ${mem.tasks.toLocaleString('en-US')} tasks queued with addTasks, not started (${mem.gcAvailable ? 'after gc' : 'gc unavailable'})`,
  );
  console.table([
    {
      'RSS Δ MB': mem.rssDeltaMB,
      'heapUsed Δ MB': mem.heapUsedDeltaMB,
      'external Δ MB': mem.externalDeltaMB,
      'heap B/task': mem.heapBytesPerTask,
      'add ms': mem.addMs,
      'shutdown ms': mem.shutdownMs,
    },
  ]);
}
