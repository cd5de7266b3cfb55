/**
 * Issue 20 items 3 and 4 over stdio: a message over the size limit gets an error answer naming the limit and the
 * server keeps serving; a burst of 2,000 calls leaks no listener; `create_project` refuses a folder outside the
 * projects folder unless `--allow-path` names its root. The SDK's real client, `codomyrmex mcp` as a child.
 * The burst is checked for MaxListenersExceededWarning in both processes.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';

const CLI = packagePath('dist', 'src', 'edges', 'cli', 'main.js');
let cwd: string;
let client: Client;
let transport: StdioClientTransport;
let stderr = '';
let allowed: string;
let elsewhere: string;

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-mcp-limits-'));
  allowed = join(cwd, 'allowed');
  elsewhere = join(cwd, 'elsewhere');
  await mkdir(allowed);
  client = new Client({ name: 'test', version: '1' });
  transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, '--threads', '1', '--store', 'memory', '--allow-path', allowed, 'mcp'],
    cwd,
    stderr: 'pipe',
  });
  (transport.stderr as Readable).on('data', (c: Buffer) => (stderr += c.toString()));
  takeTurns(transport);
  await client.connect(transport);
}, 60_000);
afterAll(async () => {
  await client?.close();
  await rm(cwd, { recursive: true, force: true });
});

/**
 * Makes the transport's sends take turns. The SDK's `StdioClientTransport.send` adds a 'drain' listener to the
 * child's stdin for each send that meets backpressure (modelcontextprotocol/typescript-sdk#2706), so a burst of
 * concurrent calls puts hundreds on it at once; one send at a time keeps at most one, and the child still gets the
 * burst back to back. (The server's side shares one listener itself: src/edges/mcp/stdio.ts.)
 */
function takeTurns(t: StdioClientTransport): void {
  const send = t.send.bind(t);
  let last: Promise<void> = Promise.resolve();
  t.send = (...args: Parameters<typeof send>) => {
    const sent = last.then(() => send(...args));
    last = sent.catch(() => undefined);
    return sent;
  };
}

const echo = async (value: unknown): Promise<CallToolResult> =>
  (await client.callTool({
    name: 'execute_task',
    arguments: { name: 'e', module: 'core', action: 'echo', parameters: { value } },
  })) as CallToolResult;

describe('codomyrmex mcp over stdio, at its limits', () => {
  it('answers a message over 10 MiB with an error naming the limit, and keeps serving', async () => {
    const err = await echo('x'.repeat(16 * 1024 * 1024)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).message).toMatch(/message of 16\.0 MiB is over the limit of 10 MiB/);
    const ok = await echo('small');
    expect(ok.isError).toBeFalsy();
    expect(transport.pid).not.toBeNull();
  }, 60_000);

  it('serves a burst of 2,000 calls without a listener leak', async () => {
    // Warnings in this process too: the client's sends share one 'drain' listener (see the transport above).
    const warnings: Error[] = [];
    const onWarning = (w: Error): number => warnings.push(w);
    process.on('warning', onWarning);
    const results = await Promise.all(
      Array.from(
        { length: 2000 },
        () => client.callTool({ name: 'list_modules', arguments: {} }) as Promise<CallToolResult>,
      ),
    );
    expect(results.filter((r) => r.isError)).toEqual([]);
    await echo('after the burst');
    process.off('warning', onWarning);
    expect(stderr).not.toMatch(/MaxListenersExceededWarning/);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
  }, 120_000);

  it('creates a project only inside the projects folder or a root --allow-path names', async () => {
    for (const path of [join(elsewhere, 'p1'), '../p1', 'projects/../../p1']) {
      const r = (await client.callTool({ name: 'create_project', arguments: { name: 'p1', path } })) as CallToolResult;
      expect(r.isError, path).toBe(true);
      expect(r.content[0]).toMatchObject({
        text: expect.stringMatching(
          /^VALIDATION: path: .* is outside the projects folder .* and the allowed roots .*allowed; put the project under it, or allow that folder: .*--allow-path /,
        ) as string,
      });
    }
    expect(existsSync(elsewhere)).toBe(false);
    const inside = (await client.callTool({
      name: 'create_project',
      arguments: { name: 'p2', path: join(allowed, 'p2') },
    })) as CallToolResult;
    expect(inside.isError).toBeFalsy();
    expect(existsSync(join(allowed, 'p2', '.codomyrmex', 'project.json'))).toBe(true);
    const usual = (await client.callTool({ name: 'create_project', arguments: { name: 'p3' } })) as CallToolResult;
    expect(usual.isError).toBeFalsy();
    expect(existsSync(join(cwd, 'projects', 'p3'))).toBe(true);
  }, 60_000);
});
