/**
 * What a run says it wrote: the CLI's "reports and files written" and the MCP run summary's `files` list the files
 * its steps declared in their results' `written` lists, never a `path`, `output` or `files[]` field guessed to be
 * one (a result may name the folder it read: `path: "src/app"`). A bad or huge declaration fails its step with a
 * message naming the field; nothing crashes. Both edges run as child processes: the built CLI, and the MCP server
 * driven by the SDK's real client.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { runCli } from '../support/cli.js';
import { callTool, connectMcp } from '../support/mcp.js';

const MODULES = packagePath('dist', 'test', 'fixtures', 'written');
const env = { CODOMYRMEX_NATS_URL: '' };

/** A step that reads `src/app` (and says so in `path`, `output`, `files[]`), one that writes a note, one declaring 30 files. */
const notes = {
  name: 'notes',
  steps: [
    { name: 'inspect', module: 'written', action: 'inspect' },
    { name: 'note', module: 'written', action: 'note', dependencies: ['inspect'] },
    { name: 'many', module: 'written', action: 'declare', parameters: { count: 30 } },
  ],
};

/** Declarations an action must not get away with. */
const hostile = {
  name: 'hostile',
  steps: [
    { name: 'number', module: 'written', action: 'declare', parameters: { written: 42 } },
    { name: 'mixed', module: 'written', action: 'declare', parameters: { written: ['ok.txt', 5] } },
    { name: 'escape', module: 'written', action: 'declare', parameters: { written: ['a\u001b[2Jb.txt'] } },
    { name: 'huge', module: 'written', action: 'declare', parameters: { count: 10_001 } },
    { name: 'fine', module: 'written', action: 'note', parameters: { file: 'fine.md' } },
  ],
};

let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-written-'));
  await writeFile(join(cwd, 'notes.json'), JSON.stringify(notes));
  await writeFile(join(cwd, 'hostile.json'), JSON.stringify(hostile));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(cwd, ['--threads', '1', '--module-dir', MODULES, ...args], env);

describe('codomyrmex exec: reports and files written', () => {
  it('lists the files the steps declared (the first 20, then a count), not the folder a result names as path', async () => {
    const r = await cli('exec', 'notes.json');
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.trimEnd().split('\n').at(-1) ?? '';
    expect(line).toMatch(/^reports and files written: notes\/summary\.md, out\/f0\.txt, /);
    expect(line).toMatch(/out\/f18\.txt \(and 11 more: see the steps' results\)$/);
    expect(line).not.toContain('src/app');
    expect(await readFile(join(cwd, 'notes', 'summary.md'), 'utf8')).toBe('# notes on src/app\n');
  }, 60_000);

  it('fails a step whose written list is not paths or is too long, naming the field; the other steps go on', async () => {
    const r = await cli('exec', 'hostile.json', '--json');
    expect(r.code).toBe(1);
    const run = JSON.parse(r.stdout) as {
      steps: Record<string, { status: string; attempts: number; error: { code: string; message: string } | null }>;
    };
    const error = (step: string) => run.steps[step]?.error?.message;
    expect(error('number')).toMatch(
      /result\.written: must list the files the action wrote, an array of paths.*\(got number\)/,
    );
    expect(error('mixed')).toMatch(/result\.written\[1\]: must be a path .*got number/);
    expect(error('escape')).toMatch(/result\.written\[0\]: must be a path .*no control characters/);
    expect(error('huge')).toMatch(/result\.written: 10001 paths, over maxWrittenFiles 10000; declare the folder/);
    for (const step of ['number', 'mixed', 'escape', 'huge'])
      expect(run.steps[step]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'NON_RETRYABLE' } });
    expect(run.steps['fine']).toMatchObject({ status: 'completed' });

    const human = await cli('exec', 'hostile.json');
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe('reports and files written: fine.md');
  }, 60_000);
});

describe('MCP run summary files', () => {
  let client: Client;
  beforeAll(async () => {
    client = await connectMcp(cwd, ['--threads', '1', '--store', 'memory', '--module-dir', MODULES]);
  });
  afterAll(async () => {
    await client.close();
  });

  it('are the declared files, never a path a result names', async () => {
    const r = await callTool(client, 'create_complex_workflow', { name: 'notes', workflow_definition: notes });
    expect(r.isError).toBeFalsy();
    const summary = r.structuredContent.result as { files: string[]; filesOmitted?: number; status: string };
    expect(summary.status).toBe('succeeded');
    expect(summary.files).toEqual(['notes/summary.md', ...Array.from({ length: 19 }, (_, i) => `out/f${i}.txt`)]);
    expect(summary.filesOmitted).toBe(11);
    expect(JSON.stringify(summary.files)).not.toContain('src/app');
  }, 60_000);
});
