/**
 * The daemon's options: flags over env over the config file over defaults, every bad field named with its file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { compileDaemonOptions, parseDuration, parseListen } from '../../src/edges/daemon/options.js';
import { prettyLine } from '../../src/edges/daemon/logger.js';
import { cli } from '../support/daemon.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codomyrmex-daemon-options-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function folder(name: string, files: Record<string, string>): Promise<string> {
  const cwd = join(dir, name);
  await import('node:fs/promises').then((fs) => fs.mkdir(cwd, { recursive: true }));
  for (const [file, text] of Object.entries(files)) await writeFile(join(cwd, file), text);
  return cwd;
}

const YAML = `threads: 3
dbPath: from-file.db
daemon:
  http: 127.0.0.1:9999
  graceMs: 5000
  nats:
    url: nats://file:4222
    subjectPrefix: team-a
    user: alice
    password: from-file
    tls: { caFile: /etc/ca.pem }
  log: { format: pretty, level: debug }
`;

describe('compileDaemonOptions', () => {
  it('reads codomyrmex.config.yaml from the working directory', async () => {
    const cwd = await folder('yaml', { 'codomyrmex.config.yaml': YAML });
    const o = compileDaemonOptions({}, {}, {}, cwd);
    expect(o.configFile).toBe(join(cwd, 'codomyrmex.config.yaml'));
    expect(o.engine).toMatchObject({ threads: 3, dbPath: 'from-file.db', store: 'sqlite' });
    expect(o.http).toMatchObject({ host: '127.0.0.1', port: 9999 });
    expect(o.graceMs).toBe(5000);
    expect(o.nats).toMatchObject({
      servers: ['nats://file:4222'],
      subjectPrefix: 'team-a',
      user: 'alice',
      password: 'from-file',
      tls: { caFile: '/etc/ca.pem' },
    });
    expect(o.log).toEqual({ format: 'pretty', level: 'debug' });
  });

  it('lets the environment override the file, and flags override both', async () => {
    const cwd = await folder('env', { 'codomyrmex.config.yaml': YAML });
    const env = {
      CODOMYRMEX_THREADS: '2',
      CODOMYRMEX_NATS_URL: 'nats://env:4222,nats://env2:4222',
      CODOMYRMEX_NATS_PASSWORD: 'from-env',
      CODOMYRMEX_LOG_FORMAT: 'json',
      CODOMYRMEX_HTTP: ':9100',
    };
    const o = compileDaemonOptions({}, {}, env, cwd);
    expect(o.engine.threads).toBe(2);
    expect(o.nats).toMatchObject({
      servers: ['nats://env:4222', 'nats://env2:4222'],
      password: 'from-env',
      user: 'alice',
    });
    expect(o.log.format).toBe('json');
    expect(o.http).toMatchObject({ host: '127.0.0.1', port: 9100 });
    const flagged = compileDaemonOptions(
      { nats: 'nats://flag:4222', http: 'off', grace: '2m', subjectPrefix: 'flag' },
      { threads: 1 },
      env,
      cwd,
    );
    expect(flagged).toMatchObject({
      http: null,
      graceMs: 120_000,
      engine: { threads: 1 },
      nats: { servers: ['nats://flag:4222'], subjectPrefix: 'flag' },
    });
  });

  it('lets the environment override the file for every engine option that has a variable', async () => {
    const cwd = await folder('switches', { 'codomyrmex.config.yaml': 'batchDispatch: true\nfireSchedules: true\n' });
    const fromFile = compileDaemonOptions({}, {}, {}, cwd);
    expect(fromFile.engine).toMatchObject({ batchDispatch: true, fireSchedules: true });
    const env = { CODOMYRMEX_BATCH_DISPATCH: '0', CODOMYRMEX_FIRE_SCHEDULES: '0' };
    const o = compileDaemonOptions({}, {}, env, cwd);
    expect(o.engine).toMatchObject({ batchDispatch: false, fireSchedules: false });
  });

  it('defaults: HTTP on 127.0.0.1:9464, no NATS, JSON logs at info, the engine grace', async () => {
    const cwd = await folder('none', {});
    const o = compileDaemonOptions({}, {}, {}, cwd);
    expect(o).toMatchObject({
      configFile: null,
      http: { host: '127.0.0.1', port: 9464 },
      nats: null,
      log: { format: 'json', level: 'info' },
      graceMs: 30_000,
    });
  });

  it('names a bad field and the file it is in', async () => {
    const cwd = await folder('bad', {
      'codomyrmex.config.json': JSON.stringify({
        threads: 'two',
        daemon: { nats: { url: 5, bogus: true }, log: { level: 'loud' } },
      }),
      'engine-bad.yaml': 'threads: 0\n',
    });
    const file = join(cwd, 'codomyrmex.config.json');
    const err = (() => {
      try {
        compileDaemonOptions({}, {}, {}, cwd);
      } catch (e) {
        return e;
      }
    })() as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues).toEqual(
      expect.arrayContaining([
        `${file}: daemon.nats.url: must be a NATS URL such as nats://127.0.0.1:4222, or a list of them`,
        `${file}: daemon.nats: unknown field(s) "bogus"; remove or rename them`,
        expect.stringMatching(new RegExp(`^${file}: daemon\\.log\\.level: `)),
      ]),
    );
    expect(() => compileDaemonOptions({ config: 'engine-bad.yaml' }, {}, {}, cwd)).toThrow(
      new RegExp(`^${join(cwd, 'engine-bad.yaml')}: options\\.threads: `),
    );
    expect(() => compileDaemonOptions({ config: 'missing.yaml' }, {}, {}, cwd)).toThrow(
      /--config: no file .*missing\.yaml/,
    );
    await writeFile(join(cwd, 'broken.yaml'), 'threads: [1,\n');
    expect(() => compileDaemonOptions({ config: 'broken.yaml' }, {}, {}, cwd)).toThrow(/broken\.yaml: not valid YAML/);
  });

  it('checks listen addresses, durations, log choices and TLS pairs', async () => {
    expect(parseListen('0.0.0.0:80', '--http')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseListen('[::1]:9464', '--http')).toEqual({ host: '::1', port: 9464 });
    expect(() => parseListen('localhost', '--http')).toThrow('--http: must be HOST:PORT');
    expect(() => parseListen('h:70000', '--http')).toThrow('--http: must be HOST:PORT');
    expect([
      parseDuration('500ms', 'g'),
      parseDuration('30s', 'g'),
      parseDuration('2', 'g'),
      parseDuration('1m', 'g'),
    ]).toEqual([500, 30_000, 2000, 60_000]);
    expect(() => parseDuration('soon', '--grace')).toThrow('--grace: must be a duration');
    const cwd = await folder('choices', {});
    expect(() => compileDaemonOptions({ logFormat: 'xml' }, {}, {}, cwd)).toThrow(
      '--log-format: must be one of json, pretty',
    );
    expect(() => compileDaemonOptions({ nats: 'nats://x:1' }, {}, { CODOMYRMEX_NATS_TLS_CERT: '/c.pem' }, cwd)).toThrow(
      /give both certFile and keyFile/,
    );
  });
});

describe('daemon logs', () => {
  it('formats a pretty line from a JSON one', () => {
    const line = prettyLine(
      JSON.stringify({
        level: 40,
        time: Date.UTC(2026, 0, 1, 12, 0, 1, 234),
        name: 'codomyrmex',
        msg: 'NATS connection lost',
        servers: ['nats://a:1'],
        note: 'two words',
      }),
    );
    expect(line).toBe('12:00:01.234 WARN  NATS connection lost servers=["nats://a:1"] note="two words"\n');
  });
});

describe('codomyrmex daemon with a bad config', () => {
  it('exits 2 with the field and the file named', async () => {
    const cwd = await folder('cli', { 'codomyrmex.config.yaml': 'daemon:\n  log: { format: xml }\n' });
    const r = await cli(cwd, ['daemon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`codomyrmex: ${join(cwd, 'codomyrmex.config.yaml')}: daemon.log.format: `);
  });
});
