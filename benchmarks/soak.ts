/**
 * Soak: many no-op tasks in batches on a SQLite store with retention on (issue 16), to show that memory, the
 * database and throughput stay flat. Prints one row per `SOAK_EVERY` tasks (RSS, heap, database + WAL size,
 * tasks in the table, throughput of that stretch) and writes JSON to benchmarks/results/soak-<timestamp>.json.
 *
 *   npm run bench:soak                      # 1 000 000 tasks, rows per 100 000
 *   SOAK_TASKS=200000 SOAK_EVERY=20000 npm run bench:soak
 *
 * Other settings: SOAK_BATCH (tasks per addTasks call, default 5000), SOAK_THREADS (default 2),
 * SOAK_RETAIN (finished tasks kept, default 100 000), SOAK_DURABILITY (relaxed | strict, default relaxed).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createOrchestrationEngine } from '../src/index.js';
import { envInt, fullGc, log, mb, round, writeResults } from './support.js';

interface Row {
  tasks: number;
  rssMb: number;
  heapMb: number;
  dbMb: number;
  rowsInTable: number;
  tasksPerSec: number;
}

const total = envInt('SOAK_TASKS', 1_000_000);
const every = envInt('SOAK_EVERY', Math.min(100_000, total));
const batch = envInt('SOAK_BATCH', 5000);
const threads = envInt('SOAK_THREADS', 2);
const retain = envInt('SOAK_RETAIN', 100_000);
const durability = process.env['SOAK_DURABILITY'] === 'strict' ? 'strict' : 'relaxed';

const size = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-soak-'));
  const dbPath = join(dir, 'state.db');
  const engine = createOrchestrationEngine({
    store: 'sqlite',
    dbPath,
    durability,
    threads,
    concurrentTasksPerWorker: 16,
    workflowDirs: [],
    agingMs: 0,
    storeRetention: { tasks: retain, runs: 1000 },
    metrics: { enabled: false },
  });
  await engine.ready();
  const rows: Row[] = [];
  let done = 0;
  let stretchStart = performance.now();
  const t0 = stretchStart;
  try {
    while (done < total) {
      const n = Math.min(batch, total - done);
      await engine.tasks.addTasks(Array.from({ length: n }, () => ({ module: 'core', action: 'noop', maxRetries: 0 })));
      await engine.tasks.startExecution();
      done += n;
      if (done % every === 0 || done === total) {
        await engine.flush();
        const now = performance.now();
        await fullGc();
        const mem = process.memoryUsage();
        const reader = new Database(dbPath, { readonly: true });
        const inTable = reader.prepare('SELECT count(*) FROM tasks').pluck().get() as number;
        reader.close();
        const stretch = done % every === 0 ? every : done % every;
        rows.push({
          tasks: done,
          rssMb: mb(mem.rss),
          heapMb: mb(mem.heapUsed),
          dbMb: mb(size(dbPath) + size(`${dbPath}-wal`)),
          rowsInTable: inTable,
          tasksPerSec: round(stretch / ((now - stretchStart) / 1000)),
        });
        const r = rows[rows.length - 1];
        if (r)
          log(
            `${String(r.tasks).padStart(9)} tasks  rss ${String(r.rssMb).padStart(7)} MB  heap ${String(r.heapMb).padStart(6)} MB  db ${String(r.dbMb).padStart(7)} MB  rows ${String(r.rowsInTable).padStart(7)}  ${String(r.tasksPerSec).padStart(7)} tasks/s`,
          );
        stretchStart = performance.now();
      }
    }
  } finally {
    await engine.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
  const report = {
    benchmark: 'soak',
    node: process.version,
    total,
    every,
    batch,
    threads,
    retain,
    durability,
    seconds: round((performance.now() - t0) / 1000, 1),
    rows,
  };
  log('');
  log('tasks      rss MB  heap MB   db MB  rows in table  tasks/s');
  for (const r of rows)
    log(
      `${String(r.tasks).padEnd(9)} ${String(r.rssMb).padStart(7)} ${String(r.heapMb).padStart(8)} ${String(r.dbMb).padStart(7)} ${String(r.rowsInTable).padStart(14)} ${String(r.tasksPerSec).padStart(8)}`,
    );
  for (const f of writeResults('soak', report)) log(`wrote ${f}`);
}

await main();
