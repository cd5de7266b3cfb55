/**
 * Tracing runs of the task benchmark (`npm run bench:tasks`, or alone with `BENCH_ONLY=tracing`): what OpenTelemetry
 * traces cost a no-op task, side by side with tracing off.
 *
 * The same N no-op `executeTask` calls (1,000 in flight, batched dispatch, `concurrentTasksPerWorker: 16`) on a fresh
 * engine each run: tracing off (the default: no OpenTelemetry module loaded), on with every trace sampled and exported
 * over OTLP/HTTP to a receiver in another process (a stand-in for a Collector: it reads each request and answers 200),
 * and on with a sampler of 0 (spans made, none recorded). Runs are rotated and repeated; medians are compared with
 * tracing off. The receiver counts the spans it got: the SDK's batch processor drops spans once its queue (2,048 by
 * default, `OTEL_BSP_MAX_QUEUE_SIZE`) is full, which a sustained 10^4+ tasks/s does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';
import { fullGc, log, median, round } from './support.js';

type Subject = 'off' | 'onSampled' | 'onUnsampled';
const SUBJECTS: readonly Subject[] = ['off', 'onSampled', 'onUnsampled'];
const LABEL: Record<Subject, string> = {
  off: 'tracing off (default)',
  onSampled: 'tracing on, sampler 1.0, OTLP/HTTP export',
  onUnsampled: 'tracing on, sampler 0',
};
const BATCH = 1000;

/**
 * An OTLP/HTTP receiver in a child process: answers every POST with 200 and counts the spans of each JSON body
 * (the number of `"spanId"` keys that are not a parent's or a link's is close enough: it counts the exported spans).
 */
const RECEIVER = `
const http = require('node:http');
let spans = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/count') { res.end(String(spans)); return; }
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans += (ss.spans ?? []).length;
    } catch {}
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

interface Receiver {
  endpoint: string;
  spans(): Promise<number>;
  stop(): void;
}

async function startReceiver(): Promise<Receiver> {
  const proc: ChildProcess = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`the OTLP receiver exited (${code})`)));
    createInterface({ input: proc.stdout! }).once('line', resolve);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    spans: async () => Number(await (await fetch(`${endpoint}/count`)).text()),
    stop: () => void proc.kill(),
  };
}

function engineFor(subject: Subject, threads: number, endpoint: string): OrchestrationEngine {
  const base = { threads, concurrentTasksPerWorker: 16, workflowDirs: [] };
  if (subject === 'off') return createOrchestrationEngine({ ...base, tracing: { enabled: false } });
  return createOrchestrationEngine({ ...base, tracing: { endpoint, sampleRatio: subject === 'onSampled' ? 1 : 0 } });
}

async function run(subject: Subject, n: number, threads: number, endpoint: string): Promise<number> {
  await fullGc();
  const engine = engineFor(subject, threads, endpoint);
  try {
    await engine.ready();
    await Promise.all(Array.from({ length: threads * 32 }, () => engine.pool.probe()));
    let ok = 0;
    const t0 = performance.now();
    for (let done = 0; done < n; done += BATCH) {
      const results = await Promise.all(Array.from({ length: Math.min(BATCH, n - done) }, () => engine.tasks.executeTask({ module: 'core', action: 'noop', parameters: {} })));
      for (const r of results) if (r.success) ok++;
    }
    const ms = performance.now() - t0;
    if (ok !== n) throw new Error(`${subject}: ${ok} of ${n} tasks completed`);
    return (n / ms) * 1000;
  } finally {
    await engine.shutdown();
  }
}

/** The tracing runs' results (`tracing` in the JSON report). */
export interface TracingRuns {
  n: number;
  repeats: number;
  tasksPerSec: Record<Subject, number[]>;
  medianTasksPerSec: Record<Subject, number>;
  /** Median of each subject / median with tracing off. */
  ratio: Record<Subject, number>;
  /** Spans the receiver got in the sampled runs, and what those runs would have made (2 per task: queue and attempt). */
  exported: { received: number; made: number };
}

/** Runs the subjects rotated, `repeats` times each, `n` tasks per run. */
export async function tracingRuns(n: number, repeats: number, threads: number): Promise<TracingRuns> {
  const receiver = await startReceiver();
  const tasksPerSec: Record<Subject, number[]> = { off: [], onSampled: [], onUnsampled: [] };
  try {
    // A throwaway run per subject warms the JIT (and loads the SDK) before anything is measured.
    for (const s of SUBJECTS) await run(s, Math.min(n, 5000), threads, receiver.endpoint);
    const before = await receiver.spans();
    for (let rep = 0; rep < repeats; rep++) {
      const order = SUBJECTS.map((_, i) => SUBJECTS[(i + rep) % SUBJECTS.length]!);
      for (const s of order) {
        const r = await run(s, n, threads, receiver.endpoint);
        tasksPerSec[s].push(r);
        log(`  tracing rep ${rep + 1}/${repeats}  ${s.padEnd(12)} ${Math.round(r).toLocaleString('en-US').padStart(8)} tasks/s`);
      }
    }
    const received = (await receiver.spans()) - before;
    const medianTasksPerSec = { off: median(tasksPerSec.off), onSampled: median(tasksPerSec.onSampled), onUnsampled: median(tasksPerSec.onUnsampled) };
    const ratio = { off: 1, onSampled: round(medianTasksPerSec.onSampled / medianTasksPerSec.off, 3), onUnsampled: round(medianTasksPerSec.onUnsampled / medianTasksPerSec.off, 3) };
    return { n, repeats, tasksPerSec, medianTasksPerSec, ratio, exported: { received, made: 2 * n * repeats } };
  } finally {
    receiver.stop();
  }
}

export function printTracingRuns(t: TracingRuns): void {
  log(`Tracing: ${t.n.toLocaleString('en-US')} no-op executeTask calls (${BATCH} in flight, cptw=16), median of ${t.repeats}`);
  console.table(
    SUBJECTS.map((s) => ({
      subject: LABEL[s],
      'median tasks/s': Math.round(t.medianTasksPerSec[s]).toLocaleString('en-US'),
      'vs off': `${t.ratio[s].toFixed(3)}x`,
    })),
  );
  log(`Spans received by the OTLP receiver in the sampled runs: ${t.exported.received.toLocaleString('en-US')} of ${t.exported.made.toLocaleString('en-US')} made (the rest dropped by the batch processor's full queue)`);
}
