/**
 * Schedules and triggers benchmark.
 *  1. schedules: BENCH_SCHEDULES (default 1000) schedules `every: 1s` on one engine with the SQLite store (strict
 *     durability, as the daemon), each running a one-step `core.noop` workflow, `overlap: allow`; for
 *     BENCH_SECONDS (10) it records every `schedule_fired`'s lag (run start minus slot time) and reports p50/p95/p99/
 *     max and the slots fired against those due. Target: lag p99 under 100 ms.
 *  2. trigger: one core-NATS trigger on a real nats-server; a publisher sends BENCH_RATE (5000) JSON messages a
 *     second for BENCH_TRIGGER_SECONDS (5); reports runs started per second and the engine's event-loop delay
 *     (p50/p99/max, `monitorEventLoopDelay`).
 * Run: `npm run bench:schedules`. Writes benchmarks/results/schedules-<timestamp>.json and schedules-latest.json.
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
    for (let i = 0; i < SCHEDULES; i++)
      await engine.createSchedule({
        name: `s${i}`,
        workflow: 'tick',
        every: 1,
        overlap: 'allow',
        catchupWindowSeconds: 0,
      });
    // Measure from the next whole second on, for SECONDS seconds.
    const start = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    const end = start + SECONDS * 1000;
    const lags: number[] = [];
    let outside = 0;
    const off = engine.registerEventHandler('schedule_fired', (_, d) => {
      if (d.scheduledFor >= start && d.scheduledFor < end) lags.push(d.lagMs);
      else outside++;
    });
    await sleep(end - Date.now() + 2000);
    off();
    lags.sort((a, b) => a - b);
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
      targetP99Ms: 100,
      met: pct(lags, 99) < 100 && lags.length === due,
      outsideWindow: outside,
    };
  } finally {
    await engine.shutdown({ graceMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  }
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

const schedules = await schedulesCase();
log(`schedules: ${JSON.stringify(schedules)}`);
const trigger = await triggerCase();
log(`trigger: ${JSON.stringify(trigger)}`);
console.table([
  {
    case: `${SCHEDULES} schedules every 1s (${SECONDS}s)`,
    'fired/due': `${String(schedules['fired'])}/${String(schedules['due'])}`,
    'lag p50 ms': (schedules['lagMs'] as Record<string, number>)['p50'],
    'lag p99 ms': (schedules['lagMs'] as Record<string, number>)['p99'],
    'lag max ms': (schedules['lagMs'] as Record<string, number>)['max'],
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
