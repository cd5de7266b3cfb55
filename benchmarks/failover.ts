/**
 * `npm run bench:failover`: how long scheduling stops when the active daemon dies. Two `codomyrmex daemon`
 * processes on one PostgreSQL database (a local cluster started here) and one NATS server, `--failover-after 2s`.
 * Each round SIGKILLs the active daemon and times, from the kill, the first task completed by the new active one
 * (a client retries `task.execute` until a daemon answers), then starts a fresh standby for the next round.
 * Prints p50/p90/max over the rounds and writes JSON to benchmarks/results/failover-<timestamp>.json.
 *
 * Flags: --kills N (default 10), --failover-after DURATION (default 2s).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NatsBus } from '../src/bus/nats.js';
import { failoverArgs, startCliProcess, type DaemonProcess } from '../test/support/daemon.js';
import { startNatsServer } from '../test/support/nats.js';
import { postgresMissing, startPostgres } from '../test/support/postgres.js';
import { sleep } from './support.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const KILLS = Number(flag('kills', '10'));
const FAILOVER_AFTER = flag('failover-after', '2s');

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  const missing = postgresMissing();
  if (missing) {
    console.log(`bench:failover: skipped: ${missing}`);
    return;
  }
  const cwd = mkdtempSync(join(tmpdir(), 'codomyrmex-failover-'));
  const [nats, cluster] = await Promise.all([startNatsServer(), startPostgres({ fsync: true })]);
  const daemons: DaemonProcess[] = [];
  const times: number[] = [];
  try {
    const url = await cluster.createDatabase();
    const prefix = `failover${process.pid}`;
    const args = failoverArgs({ db: url, nats: nats.url, prefix, failoverAfter: FAILOVER_AFTER });
    const spawnOne = (): DaemonProcess => {
      const d = startCliProcess(cwd, ['--threads', '1', 'daemon', '--http', 'off', ...args]);
      daemons.push(d);
      return d;
    };
    let active = spawnOne();
    await active.servingNats();
    let standby = spawnOne();
    await standby.standingBy();
    const bus = await NatsBus.connect({ servers: nats.url, subjectPrefix: prefix, requestTimeoutMs: 1000 });
    try {
      await bus.request('task.execute', { task: { module: 'core', action: 'noop' } });
      for (let k = 0; k < KILLS; k++) {
        const t0 = performance.now();
        active.proc.kill('SIGKILL');
        await active.exited;
        for (;;) {
          try {
            await bus.request('task.execute', { task: { module: 'core', action: 'noop' } });
            break;
          } catch {
            await sleep(50);
          }
        }
        const ms = performance.now() - t0;
        times.push(ms);
        process.stdout.write(
          `kill ${k + 1}/${KILLS}: first task completed by the new active after ${(ms / 1000).toFixed(2)} s\n`,
        );
        active = standby;
        standby = spawnOne();
        await standby.standingBy();
      }
    } finally {
      await bus.close();
    }
  } finally {
    for (const d of daemons) if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
    await Promise.all(daemons.map((d) => d.exited));
    await Promise.allSettled([nats.dispose(), cluster.destroy()]);
    rmSync(cwd, { recursive: true, force: true });
  }
  const sorted = [...times].sort((a, b) => a - b);
  const row = {
    kills: times.length,
    failoverAfter: FAILOVER_AFTER,
    p50Ms: Math.round(percentile(sorted, 50)),
    p90Ms: Math.round(percentile(sorted, 90)),
    maxMs: Math.round(sorted[sorted.length - 1] ?? NaN),
  };
  console.log(
    `\nSIGKILL of the active daemon -> first task completed by the new active (--failover-after ${FAILOVER_AFTER}, ${row.kills} kills)`,
  );
  console.log(
    `p50 ${(row.p50Ms / 1000).toFixed(2)} s   p90 ${(row.p90Ms / 1000).toFixed(2)} s   max ${(row.maxMs / 1000).toFixed(2)} s`,
  );
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    threads: availableParallelism(),
    loadAverage: loadavg(),
    ...row,
    timesMs: times.map((t) => Math.round(t)),
  };
  const resultsDir = fileURLToPath(new URL('../../benchmarks/results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `failover-${out.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

await main();
