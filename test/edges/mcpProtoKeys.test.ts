/**
 * Issue 20 items 5 and 3 over MCP: a `__proto__` key in tool arguments is refused, naming the field, instead of
 * being dropped by the schema and stored as `{}`; malformed `tools/call` params get an error naming the field, not a
 * raw zod dump. The real SDK client over stdio, `codomyrmex mcp` as a child process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMcp, toolText } from '../support/mcp.js';

let cwd: string;
let client: Client;

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-mcp-proto-'));
  client = await connectMcp(cwd, ['--threads', '1', '--store', 'memory']);
}, 60_000);
afterAll(async () => {
  await client?.close();
  await rm(cwd, { recursive: true, force: true });
});

const text = toolText;

describe('MCP tool arguments with a __proto__ key', () => {
  it('are refused with the field named; the server keeps serving', async () => {
    const parameters = JSON.parse('{"value": 1, "nested": {"__proto__": {"polluted": true}}}') as Record<
      string,
      unknown
    >;
    const r = (await client.callTool({
      name: 'execute_task',
      arguments: { name: 't', module: 'core', action: 'echo', parameters },
    })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(text(r)).toBe(
      'VALIDATION: arguments.parameters.nested.__proto__: a key named "__proto__" is refused (it would be dropped or become a prototype); rename it',
    );
    const ok = (await client.callTool({
      name: 'execute_task',
      arguments: { name: 't2', module: 'core', action: 'echo', parameters: { value: 2 } },
    })) as CallToolResult;
    expect(ok.isError).toBeFalsy();
  });
});

describe('malformed tools/call params', () => {
  it('get an invalid-params error naming the field', async () => {
    const err = await client
      .request({ method: 'tools/call', params: { name: 42 } as never }, CallToolResultSchema)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(-32602);
    expect((err as McpError).message).toContain(
      "invalid tools/call: params.name: must be the tool's name as a string (got number)",
    );
    const bad = await client
      .request(
        { method: 'tools/call', params: { name: 'execute_task', arguments: [1] } as never },
        CallToolResultSchema,
      )
      .catch((e: unknown) => e);
    expect((bad as McpError).message).toContain("params.arguments: must be an object of the tool's arguments");
  });
});
