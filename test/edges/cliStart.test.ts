/**
 * The CLI's cold start loads what a command uses: help and the version load commander and the command tree, not the
 * engine, its store, the NATS client, the MCP SDK, OpenTelemetry, PostgreSQL or the logger; a command on an embedded
 * engine (`workflow list`) loads the engine but none of the clients it does not talk through. Each case runs the
 * built CLI with a preload that lists every module the process loaded (test/fixtures/moduleLog).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { runCli } from '../support/cli.js';
import { tempDirs } from '../store/helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());
const PRELOAD = pathToFileURL(packagePath('dist', 'test', 'fixtures', 'moduleLog', 'preload.js')).href;

/** Runs the CLI with `args` in a fresh folder; its exit code, output and the modules it loaded (relative paths). */
async function loaded(args: string[]): Promise<{ code: number; stdout: string; modules: string[] }> {
  const cwd = dirs.make('cli-start');
  const log = join(cwd, 'modules.log');
  writeFileSync(log, '');
  const ran = await runCli(cwd, args, {
    MODLOG: log,
    NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import ${PRELOAD}`,
    CODOMYRMEX_STORE: '',
    CODOMYRMEX_NATS_URL: '',
    CODOMYRMEX_DAEMON_URL: '',
  });
  const root = packagePath();
  const modules = [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))].map((p) =>
    p.replace(/^.*\/node_modules\//, 'node_modules/').replace(`${root}/`, ''),
  );
  return { code: ran.code, stdout: ran.stdout, modules };
}

const packageOf = (path: string): string | undefined =>
  /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? undefined;

/** What no command that does not use it may load. */
const CLIENTS = ['@nats-io/transport-node', '@modelcontextprotocol/sdk', 'pg', 'pino', '@opentelemetry/sdk-trace-base'];

describe('CLI cold start', () => {
  it.each(['--help', '--version', 'task --help', 'workflow list --help'])(
    'codomyrmex %s loads the command tree and nothing of the engine',
    async (line) => {
      const { code, stdout, modules } = await loaded(line.split(' '));
      expect(code).toBe(0);
      expect(stdout.length).toBeGreaterThan(0);
      // The log works: the entry and commander are in it.
      expect(modules).toContain('dist/src/edges/cli/main.js');
      expect(modules.some((p) => packageOf(p) === 'commander')).toBe(true);
      const packages = [...new Set(modules.map(packageOf).filter((p) => p !== undefined))].sort();
      // zod comes with the error classes (errors.ts) the commands throw.
      expect(packages).toEqual(['commander', 'zod']);
      expect(modules.filter((p) => /^dist\/src\/(actors|bus|store|workers|metrics|machines|traces)\//.test(p))).toEqual(
        [],
      );
    },
    30_000,
  );

  it('workflow list opens an embedded engine without the NATS, MCP, PostgreSQL, HTTP, logger or tracing code', async () => {
    const { code, stdout, modules } = await loaded(['workflow', 'list', '--json']);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { name: string }[]).map((w) => w.name)).toContain('ai-analysis');
    const packages = new Set(modules.map(packageOf));
    expect(packages.has('better-sqlite3')).toBe(true);
    expect(CLIENTS.filter((p) => packages.has(p))).toEqual([]);
    // No HTTP edge asked for: neither its server nor the bus's command schemas it parses requests with.
    expect(modules.filter((p) => /^dist\/src\/(edges\/http\/|bus\/schemas\.js)/.test(p))).toEqual([]);
  }, 60_000);
});
