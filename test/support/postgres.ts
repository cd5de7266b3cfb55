/**
 * A throwaway PostgreSQL cluster (for a test file or a benchmark): `initdb` in a temp folder, `pg_ctl start` on a
 * free loopback port, stopped and removed by `destroy()`. `initdb` refuses root, so as root the folder is given to
 * the `postgres` OS user (Debian's package makes it) and the tools run as that user. Tests run it with
 * `fsync = off` (their durability is not what they measure); benchmarks with fsync on.
 *
 * No vitest here: the benchmarks import this file too (tsc builds it into dist/test/support with them).
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface TestPostgres {
  /** A URL of the cluster's `postgres` database, with the password. */
  url: string;
  port: number;
  password: string;
  dir: string;
  /** A URL of a new, empty database. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (`fast`: waits for connections to end; `immediate`: like a crash). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  throw new Error(
    'PostgreSQL is not installed (apt-get install postgresql: its tools are looked for in /usr/lib/postgresql/*/bin)',
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

let counter = 0;

/** Why PostgreSQL cannot run here, or null. */
export function postgresMissing(): string | null {
  try {
    binDir();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export async function startPostgres(options: { fsync?: boolean } = {}): Promise<TestPostgres> {
  const bin = binDir();
  const root = mkdtempSync(join(tmpdir(), 'codomyrmex-pg-'));
  const dir = join(root, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const asRoot = userInfo().uid === 0;
  const tool = async (name: string, args: string[]): Promise<void> => {
    if (asRoot) await run('runuser', ['-u', 'postgres', '--', join(bin, name), ...args]);
    else await run(join(bin, name), args);
  };
  chmodSync(root, 0o755);
  const pwfile = join(root, 'pw');
  writeFileSync(pwfile, password);
  if (asRoot) {
    const { uid, gid } = await idOf('postgres');
    chownSync(root, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  await tool('initdb', [
    '-D',
    dir,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    `--pwfile=${pwfile}`,
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const port = await freePort();
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${root} -c fsync=${options.fsync === true ? 'on' : 'off'} -c max_connections=60`;
  const start = (): Promise<void> =>
    tool('pg_ctl', ['-D', dir, '-l', join(root, 'log'), '-o', opts, '-w', '-t', '60', 'start']);
  await start();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    password,
    dir,
    async createDatabase(name = `db_${process.pid}_${++counter}`) {
      await query(url, `CREATE DATABASE ${name}`);
      return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${name}`;
    },
    async stop(mode = 'fast') {
      await tool('pg_ctl', ['-D', dir, '-m', mode, '-w', 'stop']);
      stopped = true;
    },
    async start() {
      await start();
      stopped = false;
    },
    async destroy() {
      if (!stopped) await tool('pg_ctl', ['-D', dir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      stopped = true;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Runs one statement on its own connection to `url`; resolves with its rows. */
export async function query<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

async function idOf(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
