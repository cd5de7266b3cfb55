/**
 * A nats-server for benchmarks: a free loopback port (read from the server's ports file), JetStream on, its store
 * in a temp dir, stopped and removed by `stop()`; and a daemon child process commanded over it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsBus } from '../src/bus/nats.js';
import { packagePath } from '../src/config/options.js';
import type { Durability } from '../src/index.js';
import { sleep } from './support.js';

const BINARY =
  process.env['NATS_SERVER_BIN'] ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

/** Why nats-server cannot run here, or null. */
export function natsServerMissing(): string | null {
  const r = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? 'nats-server is not installed (apt-get install -y nats-server)' : null;
}

export function natsServerVersion(): string {
  return spawnSync(BINARY, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

export async function startNatsServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-bench-nats-'));
  const proc = spawn(BINARY, ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', join(dir, 'js'), '--ports_file_dir', dir], {
    stdio: 'ignore',
  });
  let exited = false;
  proc.once('exit', () => (exited = true));
  const file = `nats-server_${proc.pid}.ports`;
  let url: string | undefined;
  for (let i = 0; i < 2000 && !url; i++) {
    if (exited) throw new Error('nats-server exited before it was ready');
    if (readdirSync(dir).includes(file)) {
      try {
        url = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nats?: string[] }).nats?.[0];
      } catch {
        // Not complete yet.
      }
    }
    if (!url) await sleep(5);
  }
  if (!url) throw new Error(`nats-server wrote no ports file in ${dir}`);
  return {
    url,
    stop: async () => {
      if (!exited) {
        const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        proc.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A `codomyrmex daemon` child process on a nats-server, and a NatsBus commanding it. */
export interface BenchDaemon {
  bus: NatsBus;
  /** Closes the bus, then stops the daemon (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts the real `codomyrmex daemon` (the built CLI) in a child process on `url`, SQLite at `dir/<name>.db`, with
 * `config` written as its config file (how a user sets engine options the CLI has no flag for), and waits until it
 * answers `task.stats`.
 */
export async function startDaemon(options: {
  dir: string;
  url: string;
  name: string;
  durability: Durability;
  threads: number;
  config?: Record<string, unknown>;
}): Promise<BenchDaemon> {
  const { dir, url, name } = options;
  const prefix = `bench${process.pid}${name.replace(/[^A-Za-z0-9]/g, '')}`;
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify(options.config ?? {}));
  const args = [
    packagePath('dist', 'src', 'edges', 'cli', 'main.js'),
    '--threads',
    String(options.threads),
    '--durability',
    options.durability,
    '--db',
    join(dir, `${name}.db`),
    'daemon',
    '--nats',
    url,
    '--subject-prefix',
    prefix,
    '--http',
    'off',
    '--log-level',
    'warn',
    '--config',
    config,
  ];
  const env = { ...process.env, CODOMYRMEX_CONFIG: '', CODOMYRMEX_NATS_URL: '' };
  const proc: ChildProcess = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const bus = await NatsBus.connect({ servers: url, subjectPrefix: prefix, requestTimeoutMs: 120_000 });
  for (let i = 0; ; i++) {
    try {
      await bus.request('task.stats', {}, { timeoutMs: 1000 });
      break;
    } catch (err) {
      if (i > 400 || proc.exitCode !== null) {
        await bus.close();
        proc.kill('SIGKILL');
        throw new Error(`the daemon did not come up: ${(err as Error).message}`);
      }
      await sleep(50);
    }
  }
  return {
    bus,
    stop: async () => {
      await bus.close();
      if (proc.exitCode !== null) return;
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await gone;
    },
  };
}
