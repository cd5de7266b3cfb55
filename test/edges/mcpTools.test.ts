/** The MCP tools in-process: the seed's `get_mcp_tools().execute_tool(name, args)`. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { getMcpTools } from '../../src/index.js';
import { testEngine } from '../helpers.js';

describe('getMcpTools', () => {
  let engine: OrchestrationEngine;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codomyrmex-mcptools-'));
    engine = testEngine({ workflowDirs: [packagePath('config', 'workflows')], projectsDir: join(dir, 'projects') });
    await engine.ready();
  });
  afterAll(async () => {
    await engine.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every tool with a JSON Schema', () => {
    const tools = getMcpTools(engine).listTools();
    expect(tools).toHaveLength(18);
    expect(tools.find((t) => t.name === 'create_workflow')?.inputSchema).toMatchObject({ required: ['name', 'steps'] });
  });

  it('executes a tool with the seed’s arguments and reports progress', async () => {
    const seen: number[] = [];
    const r = await getMcpTools(engine).executeTool('create_complex_workflow', {
      name: 'seed_complex',
      workflow_definition: { steps: [{ name: 'a', module: 'core', action: 'echo' }, { name: 'b', module: 'core', action: 'echo' }], dependencies: { b: ['a'] } },
    }, (p) => seen.push(p));
    expect(r).toMatchObject({ success: true, result: { success: true, workflowName: 'seed_complex' } });
    expect(seen).toEqual([0, 1, 2]);
  });

  it('never throws: an unknown tool, a missing field and a bad priority come back with success false and why', async () => {
    const tools = getMcpTools(engine);
    expect(await tools.executeTool('nope', {})).toMatchObject({ success: false, error: { code: 'NOT_FOUND', message: expect.stringMatching(/no MCP tool named "nope"/) as string } });
    expect(await tools.executeTool('execute_workflow', {})).toMatchObject({ success: false, error: { code: 'VALIDATION', message: expect.stringMatching(/workflow_name/) as string } });
    expect(await tools.executeTool('execute_task', { name: 't', module: 'core', action: 'echo', priority: 'urgent' })).toMatchObject({ success: false, error: { message: expect.stringMatching(/priority/) as string } });
  });
});
