/**
 * A real nats-server for a test file or a benchmark: a free loopback port, JetStream on, its store in a temp dir.
 * The port is read from the server's ports file (polled until it appears), so nothing sleeps on a guess.
 *
 * No vitest here: the benchmarks import this file too (tsc builds it into dist/test/support with them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const BINARY =
  process.env['NATS_SERVER_BIN'] ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

/** Why nats-server cannot run here, or null. */
export function natsServerMissing(): string | null {
  const r = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? 'nats-server is not installed (apt-get install -y nats-server)' : null;
}

/** What `nats-server --version` prints. */
export function natsServerVersion(): string {
  return spawnSync(BINARY, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM, waits for it to exit). */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  start(): Promise<void>;
  /** Stops it and removes its temp dir. */
  dispose(): Promise<void>;
}

/** `config`: extra nats-server configuration (e.g. an `authorization` block), written to a file passed with `-c`. */
export async function startNatsServer(options: { config?: string } = {}): Promise<NatsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'codomyrmex-nats-'));
  const configArgs: string[] = [];
  if (options.config !== undefined) {
    await writeFile(join(dir, 'server.conf'), options.config);
    configArgs.push('-c', join(dir, 'server.conf'));
  }
  let child: ChildProcess | null = null;
  let port = -1;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      BINARY,
      [...configArgs, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js'), '--ports_file_dir', dir],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let exited: string | null = null;
    proc.once(
      'exit',
      (code, signal) => (exited = `nats-server exited (${code ?? signal}) before it was ready: ${stderr.slice(-500)}`),
    );
    proc.once(
      'error',
      (err) => (exited = `nats-server could not start (${err.message}); install it (apt-get install nats-server)`),
    );
    const file = `nats-server_${proc.pid}.ports`;
    for (let i = 0; i < 1000; i++) {
      if (exited) throw new Error(exited);
      if ((await readdir(dir)).includes(file)) {
        const text = await readFile(join(dir, file), 'utf8').catch(() => '');
        try {
          const ports = JSON.parse(text) as { nats?: string[] };
          const url = ports.nats?.[0];
          if (url) {
            port = Number(new URL(url).port);
            return;
          }
        } catch {
          // Written but not complete yet: poll again.
        }
      }
      await delay(5);
    }
    throw new Error(`nats-server wrote no ports file in ${dir}`);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await gone;
    // The next start writes a new ports file under its own pid; drop the old one.
    await rm(join(dir, `nats-server_${proc.pid}.ports`), { force: true });
  };

  await launch();
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    stop,
    start: launch,
    async dispose() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
