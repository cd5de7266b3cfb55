/**
 * A daemon child process for benchmarks, commanded over a nats-server (test/support/nats.ts starts one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NatsBus } from '../src/bus/nats.js';
import { packagePath } from '../src/config/options.js';
import type { Durability } from '../src/index.js';
import { sleep } from './support.js';

/** A `codomyrmex daemon` child process on a nats-server, and a NatsBus commanding it. */
export interface BenchDaemon {
  bus: NatsBus;
  /** The subject prefix it serves under (workers joining it take the same). */
  prefix: string;
  /** Closes the bus, then stops the daemon (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts the real `codomyrmex daemon` (the built CLI) in a child process on `url`, SQLite at `dir/<name>.db`, with
 * `config` written as its config file (how a user sets engine options the CLI has no flag for) and `args` added to
 * its `daemon` arguments (e.g. `--no-local-workers`), and waits until it answers `task.stats`. Without
 * `durability`, the CLI's default.
 */
export async function startDaemon(options: {
  dir: string;
  url: string;
  name: string;
  durability?: Durability;
  threads: number;
  config?: Record<string, unknown>;
  args?: string[];
}): Promise<BenchDaemon> {
  const { dir, url, name } = options;
  const prefix = `bench${process.pid}${name.replace(/[^A-Za-z0-9]/g, '')}`;
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify(options.config ?? {}));
  const args = [
    packagePath('dist', 'src', 'edges', 'cli', 'main.js'),
    '--threads',
    String(options.threads),
    ...(options.durability ? ['--durability', options.durability] : []),
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
    ...(options.args ?? []),
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
    prefix,
    stop: async () => {
      await bus.close();
      if (proc.exitCode !== null) return;
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await gone;
    },
  };
}
