/**
 * Issue 20 item 3 over stdio: a message over the size limit gets an error answer naming the limit and the server
 * keeps serving; a burst of 2,000 calls leaks no listener. The SDK's real client, `codomyrmex mcp` as a child.
 */
import { mkdtemp, rm } from 'node:fs/promises';
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

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-mcp-limits-'));
  client = new Client({ name: 'test', version: '1' });
  transport = new StdioClientTransport({ command: process.execPath, args: [CLI, '--threads', '1', '--store', 'memory', 'mcp'], cwd, stderr: 'pipe' });
  (transport.stderr as Readable).on('data', (c: Buffer) => (stderr += c.toString()));
  await client.connect(transport);
}, 60_000);
afterAll(async () => {
  await client?.close();
  await rm(cwd, { recursive: true, force: true });
});

const echo = async (value: unknown): Promise<CallToolResult> => (await client.callTool({ name: 'execute_task', arguments: { name: 'e', module: 'core', action: 'echo', parameters: { value } } })) as CallToolResult;

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
    const results = await Promise.all(Array.from({ length: 2000 }, () => client.callTool({ name: 'list_modules', arguments: {} }) as Promise<CallToolResult>));
    expect(results.filter((r) => r.isError)).toEqual([]);
    await echo('after the burst');
    expect(stderr).not.toMatch(/MaxListenersExceededWarning/);
  }, 120_000);
});
