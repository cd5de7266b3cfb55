/**
 * `codomyrmex daemon` as a real child process (the built CLI), its JSON log lines parsed as they arrive, so a test
 * waits on what the daemon says ("NATS connected", "daemon running") instead of sleeping.
 *
 * No vitest here: the benchmarks import this file too (tsc builds it into dist/test/support with them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NatsBus } from '../../src/bus/nats.js';
import { packagePath } from '../../src/config/options.js';
import { startNatsServer, type NatsServer } from './nats.js';

export const CLI = packagePath('dist', 'src', 'edges', 'cli', 'main.js');
const run = promisify(execFile);

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface DaemonProcess {
  readonly proc: ChildProcess;
  readonly lines: LogLine[];
  /** Resolves with the first line (seen or to come) that matches; rejects if the daemon exits first. */
  waitForLine(match: (line: LogLine) => boolean, what: string): Promise<LogLine>;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  /** `http://host:port` of the HTTP edge, once running. */
  http(): Promise<string>;
  /** Resolves once it serves commands over NATS. */
  servingNats(): Promise<LogLine>;
  /** Resolves once it is a standby that has seen the active daemon hold the lease. */
  standingBy(): Promise<LogLine>;
  stderr(): string;
}

/** Starts `codomyrmex daemon` in `cwd` with these extra arguments (e.g. `--nats URL`). */
export function startDaemon(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): DaemonProcess {
  return startCliProcess(
    cwd,
    ['--threads', '1', 'daemon', '--http', '127.0.0.1:0', '--log-level', 'info', ...args],
    env,
  );
}

/** A nats-server, a `codomyrmex daemon` on it serving under one subject prefix, and a bus commanding it. */
export interface NatsDaemon {
  readonly server: NatsServer;
  readonly daemon: DaemonProcess;
  readonly bus: NatsBus;
  /** `--nats URL --subject-prefix PREFIX`: what a CLI command needs to reach the daemon. */
  readonly flags: string[];
  /** Stops the daemon (SIGTERM) and starts it again as it was; resolves with the old one's exit code. */
  restart(): Promise<number | string>;
  /** Closes the bus, stops the daemon (SIGTERM, waits for it to exit), then the server (its folder removed). */
  stop(): Promise<void>;
}

/** Starts a nats-server and `codomyrmex daemon` in `cwd` on it (with `args`); resolves once it serves commands. */
export async function startNatsDaemon(cwd: string, prefix: string, args: string[] = []): Promise<NatsDaemon> {
  const server = await startNatsServer();
  const flags = ['--nats', server.url, '--subject-prefix', prefix];
  let daemon = startDaemon(cwd, [...args, ...flags]);
  try {
    await daemon.servingNats();
  } catch (err) {
    await server.dispose();
    throw err;
  }
  const bus = await NatsBus.connect({ servers: server.url, subjectPrefix: prefix });
  return {
    server,
    get daemon() {
      return daemon;
    },
    bus,
    flags,
    async restart() {
      daemon.proc.kill('SIGTERM');
      const code = await daemon.exited;
      daemon = startDaemon(cwd, [...args, ...flags]);
      await daemon.servingNats();
      return code;
    },
    async stop() {
      await bus.close();
      if (daemon.proc.exitCode === null) {
        daemon.proc.kill('SIGTERM');
        await daemon.exited;
      }
      await server.dispose();
    },
  };
}

/**
 * The `daemon` arguments of one of an active/standby pair: one PostgreSQL database (`db`, a URL), one NATS server
 * and subject prefix, and how long the lease may go unrenewed before the standby takes over.
 */
export function failoverArgs(o: { db: string; nats: string; prefix: string; failoverAfter: string }): string[] {
  return [
    '--store',
    'postgres',
    '--db',
    o.db,
    '--nats',
    o.nats,
    '--subject-prefix',
    o.prefix,
    '--failover-after',
    o.failoverAfter,
  ];
}

/** `worker` and the arguments that join it, as `name`, to the daemon serving on `nats` under `prefix`. */
export function workerArgs(nats: string, prefix: string, name: string): string[] {
  return ['worker', '--nats', nats, '--subject-prefix', prefix, '--name', name];
}

/** Any long-running CLI command (`daemon`, `worker`) as a child process whose JSON log lines can be waited on. */
export function startCliProcess(cwd: string, cliArgs: string[], env: NodeJS.ProcessEnv = {}): DaemonProcess {
  const proc = spawn(process.execPath, [CLI, ...cliArgs], {
    cwd,
    env: { ...process.env, CODOMYRMEX_NATS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let buffer = '';
  let stderr = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const waitForLine = (match: (line: LogLine) => boolean, what: string): Promise<LogLine> => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      waiters.push({ match, resolve });
      void exited.then((code) =>
        reject(
          new Error(
            `the daemon exited (${code}) before logging ${what}; stderr: ${stderr.slice(-800)}; last lines: ${JSON.stringify(lines.slice(-5))}`,
          ),
        ),
      );
    });
  };
  return {
    proc,
    lines,
    waitForLine,
    exited,
    async http() {
      const line = await waitForLine((l) => l.msg === 'daemon running', '"daemon running"');
      return `http://${String(line['http'])}`;
    },
    servingNats: () => waitForLine((l) => l.msg === 'NATS connected; serving commands', '"NATS connected"'),
    standingBy: () =>
      waitForLine((l) => l.msg.startsWith('standby: another daemon holds the lease'), 'the standby line'),
    stderr: () => stderr,
  };
}

/** Runs the built CLI; resolves with its exit code and output, never rejects. */
export async function cli(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, '--threads', '1', ...args], {
      cwd,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
