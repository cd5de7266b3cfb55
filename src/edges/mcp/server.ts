/**
 * The MCP server on the official SDK: the tools of {@link McpTools} with their schemas, structured results,
 * `isError` results that say what was wrong (the server keeps serving), progress notifications for workflow runs,
 * and workflow definitions and runs as resources (`codomyrmex://workflows/NAME`, `codomyrmex://runs/RUN_ID`).
 */
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { findProtoKey } from '../../model/validate.js';
import type { EdgeEngine } from '../seam.js';
import { ErrorCode, NotFoundError } from '../../errors.js';
import { packageVersion } from '../../config/options.js';
import { TOOL_DESCRIPTIONS, toolShapes } from './schemas.js';
import { McpTools, TOOL_NAMES, toolError } from './tools.js';
import type { ToolResult } from './tools.js';
import type { ProgressReporter } from './progress.js';
import type { ToolArgs, ToolName } from './schemas.js';

const VERSION = packageVersion();

function asCallResult(r: ToolResult): CallToolResult {
  const structured = r as unknown as Record<string, unknown>;
  if (!r.success) {
    return {
      isError: true,
      content: [{ type: 'text', text: `${r.error.code}: ${r.error.message}` }],
      structuredContent: structured,
    };
  }
  // Compact: the same JSON goes out twice (text for clients that read only text), and answers are sized for an agent.
  return { content: [{ type: 'text', text: JSON.stringify(r.result) }], structuredContent: structured };
}

const json = (uri: URL, value: unknown) => ({
  contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }],
});

/** What is wrong with the params of a `tools/call` request, naming the field (the SDK answers with a raw zod dump). */
function toolCallProblem(params: unknown): string | null {
  if (typeof params !== 'object' || params === null || Array.isArray(params))
    return 'params: must be an object { name, arguments }';
  const p = params as { name?: unknown; arguments?: unknown };
  if (typeof p.name !== 'string')
    return `params.name: must be the tool's name as a string (got ${p.name === undefined ? 'nothing' : typeof p.name}); see tools/list`;
  if (
    p.arguments !== undefined &&
    (typeof p.arguments !== 'object' || p.arguments === null || Array.isArray(p.arguments))
  )
    return "params.arguments: must be an object of the tool's arguments";
  return null;
}

/**
 * Checks a `tools/call` before the SDK does: params that are not `{ name, arguments }` get a JSON-RPC "invalid
 * params" error naming the field (the SDK answered -32603 with a raw zod dump), and arguments holding a key named
 * `__proto__` get an `isError` result naming it (the SDK's schema drops the key silently, so the call would run with
 * `{}` in its place). Call after `server.connect`.
 */
export function guardToolCalls(transport: Transport): void {
  const next = transport.onmessage;
  if (!next) return;
  transport.onmessage = (message, extra) => {
    const m = message as { method?: unknown; id?: unknown; params?: { arguments?: unknown } };
    if (m.method === 'tools/call' && (typeof m.id === 'string' || typeof m.id === 'number')) {
      const malformed = toolCallProblem(m.params);
      if (malformed) {
        void transport
          .send({ jsonrpc: '2.0', id: m.id, error: { code: -32602, message: `invalid tools/call: ${malformed}` } })
          .catch(() => undefined);
        return;
      }
      const problem = findProtoKey(m.params?.arguments, 'arguments');
      if (problem) {
        void transport
          .send({
            jsonrpc: '2.0',
            id: m.id,
            result: { isError: true, content: [{ type: 'text', text: `${ErrorCode.VALIDATION}: ${problem}` }] },
          })
          .catch(() => undefined);
        return;
      }
    }
    next(message, extra);
  };
}

/** A new MCP server over `engine` (one per connection; they share the engine). */
export function createMcpServer(engine: () => EdgeEngine): McpServer {
  const tools = new McpTools(engine);
  const server = new McpServer({ name: 'codomyrmex', version: VERSION }, { capabilities: { logging: {} } });

  const call = async (
    name: ToolName,
    args: ToolArgs<ToolName>,
    extra: RequestHandlerExtra<ServerRequest, ServerNotification>,
  ): Promise<CallToolResult> => {
    const token = extra._meta?.progressToken;
    // Notifications in flight are awaited before the result goes out: a client sees every step's progress first.
    const sent: Promise<void>[] = [];
    const progress: ProgressReporter | undefined =
      token === undefined
        ? undefined
        : (done, total, message) => {
            sent.push(
              extra
                .sendNotification({
                  method: 'notifications/progress',
                  params: { progressToken: token, progress: done, ...(total !== undefined ? { total } : {}), message },
                })
                .catch(() => undefined),
            );
          };
    const outcome = await tools.run(name, args, progress);
    await Promise.all(sent);
    return asCallResult(outcome);
  };
  // Registered with their schemas, so tools/list shows them; calls are answered below.
  for (const name of TOOL_NAMES) {
    server.registerTool(
      name,
      { description: TOOL_DESCRIPTIONS[name], inputSchema: toolShapes[name] },
      (args: Record<string, unknown>, extra: RequestHandlerExtra<ServerRequest, ServerNotification>) =>
        call(name, args as ToolArgs<ToolName>, extra),
    );
  }
  // The SDK's own handler answers bad arguments (and unknown tools) with a bare text; ours says which field, as
  // structured content an agent can read, from the same schemas.
  server.server.removeRequestHandler('tools/call');
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    let args: ToolArgs<ToolName>;
    try {
      args = tools.parseArgs(request.params.name, request.params.arguments);
    } catch (err) {
      return asCallResult({ success: false, error: toolError(err) });
    }
    return call(request.params.name as ToolName, args, extra);
  });

  server.registerResource(
    'workflow',
    new ResourceTemplate('codomyrmex://workflows/{name}', {
      list: async () => ({
        resources: (await engine().workflows.listWorkflows()).map((w) => ({
          uri: `codomyrmex://workflows/${encodeURIComponent(w.name)}`,
          name: w.name,
          description: w.description || `workflow ${w.name} v${w.version}`,
          mimeType: 'application/json',
        })),
      }),
    }),
    { description: 'A workflow definition: its steps, parameters and version', mimeType: 'application/json' },
    async (uri, vars) => {
      const name = decodeURIComponent(String(vars['name']));
      const wf = await engine().workflows.getWorkflow(name);
      if (!wf) throw new NotFoundError(`no workflow named "${name}"`);
      return json(uri, wf);
    },
  );

  server.registerResource(
    'run',
    new ResourceTemplate('codomyrmex://runs/{run_id}', {
      list: async () => ({
        resources: (await engine().workflows.listRuns({ limit: 50 })).map((r) => ({
          uri: `codomyrmex://runs/${r.runId}`,
          name: `${r.workflowName} ${r.runId}`,
          description: `${r.status}, ${r.durationMs} ms`,
          mimeType: 'application/json',
        })),
      }),
    }),
    { description: 'A workflow run: status, parameters and every step result', mimeType: 'application/json' },
    async (uri, vars) => {
      const id = String(vars['run_id']);
      const run = await engine().workflows.getRun(id);
      if (!run) throw new NotFoundError(`no run "${id}"`);
      return json(uri, run);
    },
  );
  return server;
}
