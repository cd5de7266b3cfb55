/**
 * Remote-worker scenes for tests: a daemon with `--no-local-workers` (or `--remote-workers`) and `codomyrmex
 * worker` processes, each a real child process on a real nats-server, under one subject prefix; a NatsBus client to
 * command the daemon; and the probe module's log (one line per attempt that really ran, across processes).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { NatsBus } from '../../src/bus/nats.js';
import { packagePath } from '../../src/config/options.js';
import type { ProbeLine } from '../fixtures/modules/probe.js';
import { startCliProcess, startDaemon, workerArgs, type DaemonProcess, type LogLine } from './daemon.js';
import { startNatsServer, type NatsServer } from './nats.js';

/** The built probe module's folder (`probe.record` logs each attempt). */
export const PROBE_DIR = packagePath('dist', 'test', 'fixtures', 'modules');

export interface Scene {
  readonly root: string;
  /** The nats-server's URL. */
  readonly url: string;
  readonly prefix: string;
  readonly log: string;
  readonly db: string;
  daemon(extra?: string[]): DaemonProcess;
  /** `probe: false`: only the built-in modules (no `--module-dir`); `cwd`: its own folder (default: the scene's). */
  worker(name: string, extra?: string[], threads?: number, probe?: boolean, cwd?: string): DaemonProcess;
  bus(): Promise<NatsBus>;
  probeLines(): Promise<ProbeLine[]>;
  /** Kills what is still running and removes the folder. */
  dispose(): Promise<void>;
}

let n = 0;

export async function scene(url: string): Promise<Scene> {
  const root = await mkdtemp(join(tmpdir(), 'codomyrmex-remote-'));
  const prefix = `rw${process.pid}x${++n}`;
  const procs: DaemonProcess[] = [];
  const buses: NatsBus[] = [];
  const log = join(root, 'probe.log');
  const db = join(root, 'state.db');
  return {
    root,
    url,
    prefix,
    log,
    db,
    daemon(extra = ['--no-local-workers']) {
      const d = startDaemon(root, [
        '--db',
        db,
        '--nats',
        url,
        '--subject-prefix',
        prefix,
        '--module-dir',
        PROBE_DIR,
        '--worker-lost-after',
        '1500ms',
        ...extra,
      ]);
      procs.push(d);
      return d;
    },
    worker(name, extra = [], threads = 1, probe = true, cwd = root) {
      const w = startCliProcess(cwd, [
        '--threads',
        String(threads),
        ...(probe ? ['--module-dir', PROBE_DIR] : []),
        ...workerArgs(url, prefix, name),
        '--log-level',
        'debug',
        '--heartbeat',
        '200ms',
        '--ack-wait',
        '4s',
        ...extra,
      ]);
      procs.push(w);
      return w;
    },
    async bus() {
      const b = await NatsBus.connect({ servers: url, subjectPrefix: prefix, requestTimeoutMs: 60_000 });
      buses.push(b);
      return b;
    },
    async probeLines() {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ProbeLine);
    },
    async dispose() {
      for (const b of buses) await b.close().catch(() => undefined);
      for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
      await Promise.all(procs.map((p) => p.exited));
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A test file's remote scenes: one nats-server for the file, one scene per test (disposed after it). */
export interface RemoteScenes {
  /** A new scene on the file's nats-server; what it started is killed and its folder removed after the test. */
  scene(): Promise<Scene>;
  /** The file's nats-server (to stop and start it). */
  server(): NatsServer;
}

/** Registers the file's hooks: a nats-server started before its tests and stopped after, each test's scene disposed after it. */
export function useRemoteScene(): RemoteScenes {
  let server: NatsServer | undefined;
  let current: Scene | undefined;
  const running = (): NatsServer => {
    if (!server) throw new Error('the nats-server is not started (use the scenes inside tests)');
    return server;
  };
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });
  afterEach(async () => {
    await current?.dispose();
    current = undefined;
  });
  return {
    async scene() {
      current = await scene(running().url);
      return current;
    },
    server: running,
  };
}

export const workerReady = (w: DaemonProcess): Promise<LogLine> =>
  w.waitForLine((l) => l.msg === 'worker ready', '"worker ready"');
export const serving = (d: DaemonProcess): Promise<LogLine> =>
  d.waitForLine((l) => l.msg === 'remote workers: serving the work stream', '"serving the work stream"');
export const joined = (d: DaemonProcess, worker: string): Promise<LogLine> =>
  d.waitForLine((l) => l.msg === 'worker joined' && l['worker'] === worker, `"worker joined" for ${worker}`);
/** The worker logged that it started this task (any attempt). */
export const startedOn = (w: DaemonProcess, taskId: string): Promise<LogLine> =>
  w.waitForLine((l) => l.msg === 'task started' && l['taskId'] === taskId, `"task started" for ${taskId}`);
export const ranOn = (w: DaemonProcess, taskId: string): boolean =>
  w.lines.some((l) => l.msg === 'task started' && l['taskId'] === taskId);

/** Resolves once `check` holds (a file's content, a listing): looked at again every 50 ms, for at most `limitMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
