/** The MCP tool reference (docs/reference/mcp.md): every tool the MCP server lists, its description and input schema. */
import { getMcpTools } from '../../src/edges/mcp/tools.js';
import type { EdgeEngine } from '../../src/edges/seam.js';
import { generatedBanner, jsonBlock, table } from './markdown.js';

/** The page. Listing the tools touches no engine: the one given is never called. */
export function mcpReference(): string {
  const tools = getMcpTools({} as EdgeEngine).listTools();
  const out = [
    generatedBanner('the MCP tool table in src/edges/mcp/schemas.ts'),
    '',
    '# MCP tool reference',
    '',
    'Every tool `codomyrmex mcp` serves (stdio), with its input as JSON Schema. A call answers',
    '`{ "success": true, "result": ... }` or `{ "success": false, "error": { "name", "code", "message", "fields"?, ... } }`.',
    'How to connect an agent: [MCP](../mcp.md).',
    '',
    table(
      ['tool', 'what it does'],
      tools.map((t) => [`[${t.name}](#${t.name})`, t.description.split(/(?<=\.)\s(?=[A-Z])/)[0] ?? t.description]),
    ),
  ];
  for (const t of tools) out.push('', `## ${t.name}`, '', t.description, '', jsonBlock(t.inputSchema));
  return out.join('\n') + '\n';
}
