/**
 * `npm run build && node dist/benchmarks/addstall.js`: what one large `addTasks` costs the event loop (issue 16
 * item 6). For each store (memory, SQLite strict, SQLite relaxed) it adds N no-op tasks (core.noop, default
 * 200 000) in one call while a 1 ms interval records the longest gap between its ticks (and `monitorEventLoopDelay`
 * its max), and reports the time until the call answered (strict: the ids come once the whole batch is committed),
 * the time until the store has it all (the group committer idle), and the ticks seen during the call. Execution is
 * not started, so only intake, queueing and the commit are measured. Prints a table and writes JSON to
 * benchmarks/results/addstall-<timestamp>.json.
 *
 * Each store runs --rounds times (default 3) and the round with the shortest longest gap is reported (a loaded
 * machine only ever adds to it; every round is in the JSON), next to the longest gap of the same interval over one
 * idle second before the round: what the machine alone costs.
 *
 * Flags: --tasks N (default 200000), --rounds N (default 3), --only TEXT (only the stores whose name contains TEXT).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import type { EngineOptions } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import { fullGc, log, round, writeResults } from './support.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

const TASKS = flag('tasks', 200_000);
const ROUNDS = flag('rounds', 3);
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i >= 0 ? (process.argv[i + 1] ?? '') : '';
})();

const CONFIGS: { name: string; options: EngineOptions }[] = [
  { name: 'memory', options: { store: 'memory' } },
  { name: 'sqlite strict', options: { store: 'sqlite', durability: 'strict' } },
  { name: 'sqlite relaxed', options: { store: 'sqlite', durability: 'relaxed' } },
];

interface Row {
  store: string;
  tasks: number;
  /** Longest gap between two ticks of a 1 ms interval during the call, ms. */
  maxGapMs: number;
  /** `monitorEventLoopDelay` max during the call (10 ms resolution), ms. */
  loopMaxMs: number;
  /** Interval ticks seen during the call. */
  ticks: number;
  /** Until `addTasks` answered, ms. */
  ackMs: number;
  /** Until the store had the whole batch (`engine.flush()` answered), ms. */
  storedMs: number;
  /** The longest gap of the same interval over one idle second just before: what the machine alone costs. */
  idleGapMs: number;
}

/** The longest gap between ticks of a 1 ms interval over `ms` of doing nothing. */
async function idleGap(ms: number): Promise<number> {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, ms));
  clearInterval(timer);
  return max;
}

async function measure(name: string, options: EngineOptions, dir: string): Promise<Row> {
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, `${name.replace(/[^a-z]+/g, '-')}.db`);
  const engine = createOrchestrationEngine({
    threads: 1,
    agingMs: 0,
    workflowDirs: [],
    ...options,
    ...(options.store === 'sqlite' ? { dbPath } : {}),
  });
  try {
    await engine.tasks.addTask({ module: 'core', action: 'noop' }); // warm up (writer thread, statements)
    const inputs = Array.from({ length: TASKS }, (_, i) => ({ id: `t-${i}`, module: 'core', action: 'noop' }));
    await fullGc();
    const idleGapMs = await idleGap(1000);
    let last = performance.now();
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 1);
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const t0 = performance.now();
    last = t0;
    const ids = await engine.tasks.addTasks(inputs);
    const ackMs = performance.now() - t0;
    const ticksAtAck = ticks;
    await engine.flush();
    const storedMs = performance.now() - t0;
    clearInterval(timer);
    h.disable();
    maxGap = Math.max(maxGap, performance.now() - last);
    if (ids.length !== TASKS) throw new Error(`${name}: ${ids.length} ids for ${TASKS} tasks`);
    return {
      store: name,
      tasks: TASKS,
      maxGapMs: round(maxGap),
      loopMaxMs: round(h.max / 1e6),
      ticks: ticksAtAck,
      ackMs: round(ackMs),
      storedMs: round(storedMs),
      idleGapMs: round(idleGapMs),
    };
  } finally {
    await engine.shutdown();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-addstall-'));
  const rows: Row[] = [];
  const rounds: Row[] = [];
  try {
    for (const c of CONFIGS.filter((x) => x.name.includes(ONLY))) {
      let best: Row | null = null;
      for (let r = 0; r < ROUNDS; r++) {
        const row = await measure(`${c.name}`, c.options, join(dir, String(r)));
        rounds.push(row);
        if (!best || row.maxGapMs < best.maxGapMs) best = row;
      }
      if (best) rows.push(best);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  log(
    `addTasks of ${TASKS} no-op tasks in one call, best of ${ROUNDS} rounds (node ${process.version}, ${cpus().length} cpus, load ${loadavg()[0]?.toFixed(2)})`,
  );
  log('store            max gap ms  loop max ms   ticks   ack ms  stored ms  idle gap ms');
  for (const r of rows) {
    log(
      `${r.store.padEnd(16)} ${String(r.maxGapMs).padStart(10)} ${String(r.loopMaxMs).padStart(12)} ${String(r.ticks).padStart(7)} ${String(r.ackMs).padStart(8)} ${String(r.storedMs).padStart(10)} ${String(r.idleGapMs).padStart(12)}`,
    );
  }
  for (const f of writeResults('addstall', {
    node: process.version,
    cpus: cpus().length,
    load: loadavg(),
    tasks: TASKS,
    rows,
    rounds,
  }))
    log(`wrote ${f}`);
}

await main();
