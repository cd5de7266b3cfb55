/**
 * `codomyrmex mcp [--http PORT] [--nats URL]`: the MCP server for AI agents, on stdio (default) or Streamable HTTP,
 * over an embedded engine or, with `--nats`, a running daemon (every tool and resource goes through it).
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { parseInteger } from './task.js';

export function registerMcpCommand(program: Command, cli: CliContext): void {
  program
    .command('mcp')
    .description(
      'serve the MCP tools and resources to an AI agent: on stdio, or Streamable HTTP on 127.0.0.1 with --http',
    )
    .option(
      '--http <port>',
      'serve Streamable HTTP at http://127.0.0.1:PORT/mcp instead of stdio (0 picks a port)',
      parseInteger('--http'),
    )
    .option('--host <host>', 'the address to listen on with --http', '127.0.0.1')
    .addHelpText(
      'after',
      '\nClient config (stdio):\n  { "mcpServers": { "codomyrmex": { "command": "npx", "args": ["codomyrmex", "mcp"] } } }\n\nWith --nats URL (or CODOMYRMEX_NATS_URL) the tools drive a running `codomyrmex daemon` instead of an engine of\ntheir own: runs, tasks, projects and resources are the daemon\'s.',
    )
    .action(async (opts: { http?: number; host: string }) => {
      // The SDK loads only for this command.
      const { serveHttp, serveStdio } = await import('../mcp/serve.js');
      const stop = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      // An embedded engine, or the daemon's: either stays up until stdin closes or a signal comes, then is let go.
      await cli.withAnyEngine(
        async (engine) => {
          if (opts.http === undefined) {
            await Promise.race([serveStdio(() => engine), stop]);
          } else {
            const server = await serveHttp(() => engine, { port: opts.http, host: opts.host });
            console.error(`codomyrmex MCP server on ${server.url}`);
            await stop;
            await server.close();
          }
          // A long-lived engine: it fires schedules and listens to triggers, as a library process does.
        },
        { fireSchedules: true },
      );
    });
}
