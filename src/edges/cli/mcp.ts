/** `codomyrmex mcp [--http PORT]`: the MCP server for AI agents, on stdio (default) or Streamable HTTP. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { parseInteger } from './task.js';

export function registerMcpCommand(program: Command, cli: CliContext): void {
  program
    .command('mcp')
    .description('serve the MCP tools and resources to an AI agent: on stdio, or Streamable HTTP on 127.0.0.1 with --http')
    .option('--http <port>', 'serve Streamable HTTP at http://127.0.0.1:PORT/mcp instead of stdio (0 picks a port)', parseInteger('--http'))
    .option('--host <host>', 'the address to listen on with --http', '127.0.0.1')
    .addHelpText('after', '\nClient config (stdio):\n  { "mcpServers": { "codomyrmex": { "command": "npx", "args": ["codomyrmex", "mcp"] } } }')
    .action(async (opts: { http?: number; host: string }) => {
      // The SDK loads only for this command.
      const { serveHttp, serveStdio } = await import('../mcp/serve.js');
      const engine = await cli.openEngine();
      const stop = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      try {
        if (opts.http === undefined) {
          await Promise.race([serveStdio(() => engine), stop]);
        } else {
          const server = await serveHttp(() => engine, { port: opts.http, host: opts.host });
          console.error(`codomyrmex MCP server on ${server.url}`);
          await stop;
          await server.close();
        }
      } finally {
        await engine.shutdown({ graceMs: 1000 });
      }
    });
}
