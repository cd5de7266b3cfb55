/** What the MCP tests share: the seed's tool names, and calling a tool with the real SDK client. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CLI } from './daemon.js';

/** The ten tools the seed README lists. */
export const SEED_TOOLS = [
  'execute_workflow',
  'create_workflow',
  'list_workflows',
  'create_project',
  'list_projects',
  'execute_task',
  'get_system_status',
  'get_health_status',
  'allocate_resources',
  'create_complex_workflow',
];

/** The structured content every codomyrmex tool answers with. */
export type Structured = {
  success: boolean;
  result?: Record<string, unknown>;
  error?: { code: string; message: string; fields?: string[] };
};

export type ToolReply = CallToolResult & { structuredContent: Structured };

export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolReply> {
  return (await client.callTool({ name, arguments: args })) as ToolReply;
}

/** A tool result's text content, joined. */
export const toolText = (r: CallToolResult): string =>
  r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

/**
 * The real SDK client connected over stdio to `codomyrmex <args> mcp` run as a child process in `cwd` (the built
 * CLI; `CODOMYRMEX_NATS_URL` cleared so only `args` decide where it runs).
 */
export async function connectMcp(cwd: string, args: string[], name = 'test'): Promise<Client> {
  const client = new Client({ name, version: '1' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [CLI, ...args, 'mcp'],
      cwd,
      env: { ...(process.env as Record<string, string>), CODOMYRMEX_NATS_URL: '' },
      stderr: 'pipe',
    }),
  );
  return client;
}
