/**
 * A nats-server for benchmarks: a free loopback port (read from the server's ports file), JetStream on, its store
 * in a temp dir, stopped and removed by `stop()`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './support.js';

const BINARY = process.env['NATS_SERVER_BIN'] ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

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
  const proc = spawn(BINARY, ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', join(dir, 'js'), '--ports_file_dir', dir], { stdio: 'ignore' });
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
