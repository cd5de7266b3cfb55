/**
 * Where the MCP server listens: stdio (one client, the process that spawned us) or Streamable HTTP on a local
 * address (one MCP session per client, each its own server over the same engine).
 *
 * @module codomyrmex/mcp
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { EdgeEngine } from '../seam.js';
import { createMcpServer, guardToolCalls } from './server.js';
import { BoundedStdioTransport, MCP_MAX_MESSAGE_BYTES } from './stdio.js';

/**
 * Serves MCP on stdin/stdout until stdin closes; resolves then. Nothing else may write to stdout. A message over
 * `maxMessageBytes` (10 MiB by default) is answered with an error and the server goes on; an error of stdin itself
 * (the transport cannot recover) is printed on stderr and rejects, so the command exits non-zero.
 */
export async function serveStdio(engine: () => EdgeEngine, options: { maxMessageBytes?: number } = {}): Promise<void> {
  const server = createMcpServer(engine);
  const transport = new BoundedStdioTransport(process.stdin, process.stdout, options);
  let failure: Error | undefined;
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  // Set before connect, which chains the server's own handler after it.
  transport.onerror = (err) => {
    failure ??= err;
    process.stderr.write(`codomyrmex mcp: stdin failed, stopping: ${err.message}\n`);
    void transport.close();
  };
  await server.connect(transport);
  guardToolCalls(transport);
  await closed;
  await server.close().catch(() => undefined);
  if (failure) throw failure;
}

/** An MCP server on Streamable HTTP (`serveHttp`). */
export interface McpHttpServer {
  url: string;
  /** Closes the sessions and stops listening. */
  close(): Promise<void>;
}

/** The body as JSON; `null` when it is over {@link MCP_MAX_MESSAGE_BYTES} (the rest is not read). */
async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MCP_MAX_MESSAGE_BYTES) return TOO_LARGE;
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

const TOO_LARGE = Symbol('too large');

function fail(res: ServerResponse, status: number, message: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

/** Serves MCP over Streamable HTTP at `http://host:port/mcp` (host 127.0.0.1 by default; port 0 picks one). */
export async function serveHttp(
  engine: () => EdgeEngine,
  options: { port: number; host?: string },
): Promise<McpHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!req.url?.startsWith('/mcp')) return fail(res, 404, 'not found: the MCP endpoint is /mcp');
    const id = req.headers['mcp-session-id'];
    const known = typeof id === 'string' ? sessions.get(id) : undefined;
    if (req.method !== 'POST') {
      if (!known) return fail(res, 400, 'unknown or missing mcp-session-id');
      return known.handleRequest(req, res);
    }
    let body: unknown;
    try {
      body = await readBody(req);
    } catch (err) {
      return fail(res, 400, `the body is not JSON: ${(err as Error).message}`);
    }
    if (body === TOO_LARGE) {
      res.setHeader('connection', 'close');
      return fail(
        res,
        413,
        `message too large: the body is over the limit of ${MCP_MAX_MESSAGE_BYTES / 1024 / 1024} MiB; pass large values by reference (a file path, a URL) instead of inline`,
      );
    }
    if (known) return known.handleRequest(req, res, body);
    if (id !== undefined || !isInitializeRequest(body))
      return fail(res, 400, 'no session: start with an initialize request without mcp-session-id');
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => void sessions.set(sid, transport),
      enableDnsRebindingProtection: true,
      allowedHosts: [
        `${host}:${(http.address() as AddressInfo).port}`,
        `localhost:${(http.address() as AddressInfo).port}`,
      ],
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createMcpServer(engine).connect(transport);
    guardToolCalls(transport);
    await transport.handleRequest(req, res, body);
  };
  const http: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) fail(res, 500, err instanceof Error ? err.message : String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/mcp`,
    close: async () => {
      await Promise.allSettled([...sessions.values()].map((t) => t.close()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
    },
  };
}
