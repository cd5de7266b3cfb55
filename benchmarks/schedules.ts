/**
 * Schedules and triggers benchmark.
 *  1. schedules: BENCH_SCHEDULES (default 1000) schedules `every: 1s` on one engine with the SQLite store (strict
 *     durability, as the daemon), each running a one-step `core.noop` workflow, `overlap: allow`; for
 *     BENCH_SECONDS (10) it records every `schedule_fired`'s lag (run start minus slot time) and reports p50/p95/p99/
 *     max and the slots fired against those due. Target: lag p99 under 100 ms. Also: the lag at which the event was
 *     seen (its arrival minus slot time, the same measure whatever `lagMs` means in the build), and the latency of
 *     one `core.noop` task every BENCH_PROBE_MS (50) while the schedules fire (the task path must not starve).
 *  2. trigger: one core-NATS trigger on a real nats-server; a publisher sends BENCH_RATE (5000) JSON messages a
 *     second for BENCH_TRIGGER_SECONDS (5); reports runs started per second and the engine's event-loop delay
 *     (p50/p99/max, `monitorEventLoopDelay`).
 * BENCH_ONLY=schedules or trigger runs one case. Run: `npm run bench:schedules`. Writes benchmarks/results/schedules-<timestamp>.json and schedules-latest.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect } from '@nats-io/transport-node';
import type { OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import { natsTriggerTransport } from '../src/edges/nats/triggers.js';
import { natsServerMissing, startNatsServer } from '../test/support/nats.js';
import { envInt, log, round, sleep, writeResults } from './support.js';

const SCHEDULES = envInt('BENCH_SCHEDULES', 1000);
const SECONDS = envInt('BENCH_SECONDS', 10);
const RATE = envInt('BENCH_RATE', 5000);
const TRIGGER_SECONDS = envInt('BENCH_TRIGGER_SECONDS', 5);
const PROBE_MS = envInt('BENCH_PROBE_MS', 50);
const ONLY = process.env['BENCH_ONLY'] ?? '';

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function engineOn(dir: string): Promise<OrchestrationEngine> {
  const engine = createOrchestrationEngine({
    store: 'sqlite',
    dbPath: join(dir, 'state.db'),
    workflowDirs: [],
    metrics: { enabled: false },
  });
  await engine.ready();
  await engine.getWorkflowManager().createWorkflow('tick', [{ name: 'a', module: 'core', action: 'noop' }]);
  return engine;
}

async function schedulesCase(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(os.tmpdir(), 'cdx-bench-sched-'));
  const engine = await engineOn(dir);
  try {
    // Created 500 at a time (one commit each): 10,000 one by one took minutes.
    for (let i = 0; i < SCHEDULES; i += 500) {
      const names = Array.from({ length: Math.min(500, SCHEDULES - i) }, (_, j) => `s${i + j}`);
      await Promise.all(
        names.map((name) =>
          engine.createSchedule({ name, workflow: 'tick', every: 1, overlap: 'allow', catchupWindowSeconds: 0 }),
        ),
      );
    }
    // Measure from the next whole second on, for SECONDS seconds.
    const start = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    const end = start + SECONDS * 1000;
    const lags: number[] = [];
    const seen: number[] = [];
    let outside = 0;
    const off = engine.registerEventHandler('schedule_fired', (_, d) => {
      if (d.scheduledFor >= start && d.scheduledFor < end) {
        lags.push(d.lagMs);
        seen.push(Date.now() - d.scheduledFor);
      } else outside++;
    });
    const probe = probeTasks(engine, start, end);
    await sleep(end - Date.now() + 2000);
    off();
    const tasks = await probe;
    lags.sort((a, b) => a - b);
    seen.sort((a, b) => a - b);
    const due = SCHEDULES * SECONDS;
    return {
      schedules: SCHEDULES,
      seconds: SECONDS,
      due,
      fired: lags.length,
      lagMs: {
        p50: round(pct(lags, 50), 1),
        p95: round(pct(lags, 95), 1),
        p99: round(pct(lags, 99), 1),
        max: round(lags[lags.length - 1] ?? NaN, 1),
      },
      seenLagMs: {
        p50: round(pct(seen, 50), 1),
        p99: round(pct(seen, 99), 1),
        max: round(seen[seen.length - 1] ?? NaN, 1),
      },
      taskLatencyMs: tasks,
      targetP99Ms: 100,
      met: pct(lags, 99) < 100 && lags.length === due,
      outsideWindow: outside,
    };
  } finally {
    await engine.shutdown({ graceMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One no-op task every PROBE_MS from `start` to `end`, each timed from submission to its answer. */
async function probeTasks(engine: OrchestrationEngine, start: number, end: number): Promise<Record<string, number>> {
  await sleep(start - Date.now());
  const times: Promise<number>[] = [];
  while (Date.now() < end) {
    const t0 = performance.now();
    times.push(
      engine.tasks
        .executeTask({ module: 'core', action: 'noop', parameters: {}, maxRetries: 0 })
        .then(() => performance.now() - t0),
    );
    await sleep(PROBE_MS);
  }
  const ms = (await Promise.all(times)).sort((a, b) => a - b);
  return {
    n: ms.length,
    p50: round(pct(ms, 50), 1),
    p99: round(pct(ms, 99), 1),
    max: round(ms[ms.length - 1] ?? NaN, 1),
  };
}

async function triggerCase(): Promise<Record<string, unknown>> {
  const missing = natsServerMissing();
  if (missing) return { skipped: missing };
  const server = await startNatsServer();
  const dir = mkdtempSync(join(os.tmpdir(), 'cdx-bench-trig-'));
  const engine = await engineOn(dir);
  const nc = await connect({ servers: server.url });
  const pub = await connect({ servers: server.url });
  try {
    engine.attachTriggerTransport(natsTriggerTransport(nc));
    await engine.createTrigger({ name: 'load', workflow: 'tick', source: { nats: 'bench.load' } });
    let fired = 0;
    const off = engine.registerEventHandler('trigger_fired', () => void fired++);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const t0 = performance.now();
    const body = JSON.stringify({ n: 1 });
    for (let s = 0; s < TRIGGER_SECONDS; s++) {
      const tick = performance.now();
      // Spread each second's messages over ten bursts.
      for (let b = 0; b < 10; b++) {
        for (let i = 0; i < RATE / 10; i++) pub.publish('bench.load', body);
        await pub.flush();
        await sleep(Math.max(0, tick + ((b + 1) * 1000) / 10 - performance.now()));
      }
    }
    const sent = RATE * TRIGGER_SECONDS;
    const publishSeconds = (performance.now() - t0) / 1000;
    const firedDuringPublish = fired;
    // Let the backlog drain (bounded).
    const deadline = performance.now() + 60_000;
    while (fired < sent && performance.now() < deadline) await sleep(100);
    const totalSeconds = (performance.now() - t0) / 1000;
    loop.disable();
    off();
    return {
      rate: RATE,
      seconds: TRIGGER_SECONDS,
      sent,
      runsStarted: fired,
      runsPerSecondWhilePublishing: round(firedDuringPublish / publishSeconds),
      runsPerSecondOverall: round(fired / totalSeconds),
      eventLoopDelayMs: {
        p50: round(loop.percentile(50) / 1e6, 1),
        p99: round(loop.percentile(99) / 1e6, 1),
        max: round(loop.max / 1e6, 1),
      },
    };
  } finally {
    await nc.close();
    await pub.close();
    await engine.shutdown({ graceMs: 0 });
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

const schedules = ONLY === 'trigger' ? {} : await schedulesCase();
log(`schedules: ${JSON.stringify(schedules)}`);
const trigger = ONLY === 'schedules' ? {} : await triggerCase();
log(`trigger: ${JSON.stringify(trigger)}`);
console.table([
  {
    case: `${SCHEDULES} schedules every 1s (${SECONDS}s)`,
    'fired/due': `${String(schedules['fired'])}/${String(schedules['due'])}`,
    'lag p50 ms': (schedules['lagMs'] as Record<string, number> | undefined)?.['p50'],
    'lag p99 ms': (schedules['lagMs'] as Record<string, number> | undefined)?.['p99'],
    'lag max ms': (schedules['lagMs'] as Record<string, number> | undefined)?.['max'],
    'seen p99 ms': (schedules['seenLagMs'] as Record<string, number> | undefined)?.['p99'],
    'task p99 ms': (schedules['taskLatencyMs'] as Record<string, number> | undefined)?.['p99'],
  },
  {
    case: `trigger at ${RATE} msg/s (${TRIGGER_SECONDS}s)`,
    'runs/s': trigger['runsPerSecondWhilePublishing'],
    'runs started': `${String(trigger['runsStarted'])}/${String(trigger['sent'])}`,
    'loop delay p99 ms': (trigger['eventLoopDelayMs'] as Record<string, number> | undefined)?.['p99'],
  },
]);
const files = writeResults('schedules', { node: process.version, cpus: os.availableParallelism(), schedules, trigger });
log(`wrote ${files.join(', ')}`);
