/** `codomyrmex mcp --http`: the same tools over Streamable HTTP, with the real MCP SDK client. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { callTool as call, SEED_TOOLS, toolText as text } from '../support/mcp.js';

const CLI = packagePath('dist', 'src', 'edges', 'cli', 'main.js');

describe('codomyrmex mcp --http', () => {
  let cwd: string;
  let child: ChildProcess;
  let url: string;

  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-mcp-http-'));
    child = spawn(process.execPath, [CLI, '--threads', '1', '--store', 'memory', 'mcp', '--http', '0'], {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    url = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /MCP server on (http:\/\/\S+)/.exec(err);
        if (m?.[1]) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`mcp --http exited ${code}: ${err}`)));
    });
  });

  afterAll(async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    await rm(cwd, { recursive: true, force: true });
  });

  it('serves the same tools over Streamable HTTP on 127.0.0.1', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const client = new Client({ name: 'test-http', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(SEED_TOOLS));
      const r = await call(client, 'execute_task', {
        name: 'e',
        module: 'core',
        action: 'echo',
        parameters: { value: 42 },
      });
      expect(r.structuredContent).toMatchObject({ success: true, result: { result: 42 } });
      const bad = await call(client, 'create_workflow', { name: 'w' });
      expect(bad.isError).toBe(true);
      expect(text(bad)).toMatch(/steps/);
    } finally {
      await client.close();
    }
  });
});
