/**
 * Tracing runs of the task benchmark (`npm run bench:tasks`, or alone with `BENCH_ONLY=tracing`): what OpenTelemetry
 * traces cost a no-op task, side by side with tracing off.
 *
 * The same N no-op `executeTask` calls (1,000 in flight, batched dispatch, `concurrentTasksPerWorker: 16`), each run
 * in a fresh process (tracingRun.ts): tracing off (the default: no OpenTelemetry module loaded), on with every trace
 * sampled and exported over OTLP/HTTP to a receiver in another process (a stand-in for a Collector: it reads each
 * request and answers 200), and on with a sampler of 0 (nothing recorded). With `BENCH_TRACING_BEFORE` naming
 * another checkout's built `dist/src/index.js`, that engine's sampled and unsampled runs join them (before/after in
 * one run). Runs are rotated and repeated; min/median/max are printed and medians compared with tracing off. The
 * receiver counts the spans it got: the SDK's batch processor drops spans once its queue (2,048 by default,
 * `OTEL_BSP_MAX_QUEUE_SIZE`) is full, which a sustained 10^4+ tasks/s does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { log, median, round } from './support.js';

type Subject = 'off' | 'onSampled' | 'onUnsampled' | 'beforeSampled' | 'beforeUnsampled';
const AFTER: readonly Subject[] = ['off', 'onSampled', 'onUnsampled'];
const BEFORE: readonly Subject[] = ['beforeSampled', 'beforeUnsampled'];
const LABEL: Record<Subject, string> = {
  off: 'tracing off (default)',
  onSampled: 'tracing on, sampler 1.0, OTLP/HTTP export',
  onUnsampled: 'tracing on, sampler 0',
  beforeSampled: 'before: tracing on, sampler 1.0, OTLP/HTTP export',
  beforeUnsampled: 'before: tracing on, sampler 0',
};
const MODE: Record<Subject, string> = {
  off: 'off',
  onSampled: 'sampled',
  onUnsampled: 'unsampled',
  beforeSampled: 'sampled',
  beforeUnsampled: 'unsampled',
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

/** What one run measured: throughput, CPU per task of all its threads and of the engine's alone (null: not Linux). */
interface RunResult {
  tasksPerSec: number;
  cpuUsPerTask: number;
  mainCpuUsPerTask: number | null;
}

/** One measured run in a fresh process (tracingRun.ts); `before` is another checkout's engine entry. */
async function run(
  subject: Subject,
  n: number,
  threads: number,
  endpoint: string,
  before: string | null,
): Promise<RunResult> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./tracingRun.js', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      BENCH_TRACING_MODE: MODE[subject],
      BENCH_TRACING_N: String(n),
      BENCH_TRACING_THREADS: String(threads),
      BENCH_TRACING_ENDPOINT: endpoint,
      BENCH_TRACING_ENTRY: subject.startsWith('before') && before !== null ? before : '',
    },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${subject}: the run exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as RunResult;
}

interface Spread {
  min: number;
  median: number;
  max: number;
}

const spread = (xs: readonly number[]): Spread => ({ min: Math.min(...xs), median: median(xs), max: Math.max(...xs) });

/** The tracing runs' results (`tracing` in the JSON report). */
export interface TracingRuns {
  n: number;
  repeats: number;
  /** The other checkout whose engine the `before*` subjects ran (`BENCH_TRACING_BEFORE`), or null. */
  before: string | null;
  subjects: Subject[];
  tasksPerSec: Partial<Record<Subject, number[]>>;
  /** CPU time per task (every thread of the run's process, export included), in µs. */
  cpuUsPerTask: Partial<Record<Subject, number[]>>;
  cpuSpread: Partial<Record<Subject, Spread>>;
  /** CPU time per task of the engine's thread alone (Linux), in µs. */
  mainCpuUsPerTask: Partial<Record<Subject, number[]>>;
  mainCpuSpread: Partial<Record<Subject, Spread>>;
  spread: Partial<Record<Subject, Spread>>;
  /** Median of each subject / median with tracing off. */
  ratio: Partial<Record<Subject, number>>;
  /** Spans the receiver got in the (after) sampled runs, and what those runs made (1 per task: its attempt). */
  exported: { received: number; made: number };
}

/**
 * Runs the subjects rotated, `repeats` times each, `n` tasks per run, each run in a process of its own. With
 * `BENCH_TRACING_BEFORE` set to another checkout's `dist/src/index.js` (built), its tracing runs side by side too.
 */
export async function tracingRuns(n: number, repeats: number, threads: number): Promise<TracingRuns> {
  const before = process.env['BENCH_TRACING_BEFORE'] || null;
  const subjects = before !== null ? [...AFTER, ...BEFORE] : [...AFTER];
  const receiver = await startReceiver();
  const tasksPerSec: Partial<Record<Subject, number[]>> = {};
  const cpuUsPerTask: Partial<Record<Subject, number[]>> = {};
  const mainCpuUsPerTask: Partial<Record<Subject, number[]>> = {};
  let received = 0;
  try {
    for (let rep = 0; rep < repeats; rep++) {
      const order = subjects.map((_, i) => subjects[(i + rep) % subjects.length]!);
      for (const s of order) {
        const spansBefore = await receiver.spans();
        const r = await run(s, n, threads, receiver.endpoint, before);
        if (s === 'onSampled') received += (await receiver.spans()) - spansBefore;
        (tasksPerSec[s] ??= []).push(r.tasksPerSec);
        (cpuUsPerTask[s] ??= []).push(r.cpuUsPerTask);
        if (r.mainCpuUsPerTask !== null) (mainCpuUsPerTask[s] ??= []).push(r.mainCpuUsPerTask);
        log(
          `  tracing rep ${rep + 1}/${repeats}  ${s.padEnd(16)} ${Math.round(r.tasksPerSec).toLocaleString('en-US').padStart(8)} tasks/s  ${r.cpuUsPerTask.toFixed(1)} µs CPU/task (engine thread ${r.mainCpuUsPerTask?.toFixed(1) ?? '?'})`,
        );
      }
    }
    const stats: Partial<Record<Subject, Spread>> = {};
    const cpuStats: Partial<Record<Subject, Spread>> = {};
    const mainStats: Partial<Record<Subject, Spread>> = {};
    for (const s of subjects) {
      stats[s] = spread(tasksPerSec[s]!);
      cpuStats[s] = spread(cpuUsPerTask[s]!);
      if (mainCpuUsPerTask[s]) mainStats[s] = spread(mainCpuUsPerTask[s]);
    }
    const off = stats.off!.median;
    const ratio: Partial<Record<Subject, number>> = {};
    for (const s of subjects) ratio[s] = round(stats[s]!.median / off, 3);
    // Each sampled run's warm-up (5,000 tasks or n) exports too.
    return {
      n,
      repeats,
      before,
      subjects,
      tasksPerSec,
      cpuUsPerTask,
      cpuSpread: cpuStats,
      mainCpuUsPerTask,
      mainCpuSpread: mainStats,
      spread: stats,
      ratio,
      exported: { received, made: (n + Math.min(n, 5000)) * repeats },
    };
  } finally {
    receiver.stop();
  }
}

export function printTracingRuns(t: TracingRuns): void {
  log(
    `Tracing: ${t.n.toLocaleString('en-US')} no-op executeTask calls per run (${BATCH} in flight, cptw=16), ${t.repeats} runs each, a process per run`,
  );
  const k = (x: number): string => Math.round(x).toLocaleString('en-US');
  console.table(
    t.subjects.map((s) => ({
      subject: LABEL[s],
      'min tasks/s': k(t.spread[s]!.min),
      'median tasks/s': k(t.spread[s]!.median),
      'max tasks/s': k(t.spread[s]!.max),
      'vs off (medians)': `${t.ratio[s]!.toFixed(3)}x`,
      'CPU µs/task min/med/max': [t.cpuSpread[s]!.min, t.cpuSpread[s]!.median, t.cpuSpread[s]!.max]
        .map((x) => x.toFixed(1))
        .join(' / '),
      'engine thread CPU µs/task min/med/max': t.mainCpuSpread[s]
        ? [t.mainCpuSpread[s].min, t.mainCpuSpread[s].median, t.mainCpuSpread[s].max]
            .map((x) => x.toFixed(1))
            .join(' / ')
        : 'n/a',
    })),
  );
  log(
    `Spans received by the OTLP receiver in the sampled runs: ${t.exported.received.toLocaleString('en-US')} of ${t.exported.made.toLocaleString('en-US')} made (the rest dropped by the batch processor's full queue)`,
  );
}
