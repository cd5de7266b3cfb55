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

    expect(tools).toHaveLength(30);
    expect(tools.find((t) => t.name === 'create_workflow')?.inputSchema).toMatchObject({ required: ['name', 'steps'] });
  });

  it('manages schedules and triggers with snake_case arguments; bad ones come back naming the field', async () => {
    const tools = getMcpTools(engine);
    expect(
      (
        await tools.executeTool('create_workflow', {
          name: 'mcp_sched',
          steps: [{ name: 'a', module: 'core', action: 'echo' }],
        })
      ).success,
    ).toBe(true);
    const bad = await tools.executeTool('create_schedule', { name: 'm1', workflow: 'mcp_sched', cron: '99 * * * *' });
    expect(bad).toMatchObject({ success: false, error: { code: 'VALIDATION' } });
    expect(!bad.success && bad.error.message).toMatch(/schedule\.cron/);
    const made = await tools.executeTool('create_schedule', {
      name: 'm1',
      workflow: 'mcp_sched',
      every: '1h',
      catchup_window_seconds: 5,
      start_at: '2030-01-01T00:00:00Z',
    });
    expect(made).toMatchObject({ success: true, result: { name: 'm1', catchupWindowSeconds: 5 } });
    expect((made.result as { nextFireTimes: string[] }).nextFireTimes[0]).toBe('2030-01-01T00:00:00.000Z');
    expect((await tools.executeTool('list_schedules')).result).toMatchObject({ schedules: [{ name: 'm1' }] });
    expect((await tools.executeTool('pause_schedule', { name: 'm1' })).result).toMatchObject({ paused: true });
    expect((await tools.executeTool('resume_schedule', { name: 'm1' })).result).toMatchObject({ paused: false });
    const fired = await tools.executeTool('trigger_schedule', { name: 'm1' });
    const runId = (fired.result as { runId: string }).runId;
    expect((await engine.workflows.waitForRun(runId)).success).toBe(true);
    expect((await tools.executeTool('delete_schedule', { name: 'm1' })).result).toEqual({ name: 'm1', deleted: true });
    expect(await tools.executeTool('delete_schedule', { name: 'm1' })).toMatchObject({
      success: false,
      error: { code: 'NOT_FOUND' },
    });
  });

  it('execute_workflow with an idempotency_key answers the first run to a retry instead of running again', async () => {
    const tools = getMcpTools(engine);
    expect(
      (
        await tools.executeTool('create_workflow', {
          name: 'mcp_once',
          steps: [{ name: 'a', module: 'core', action: 'echo' }],
        })
      ).success,
    ).toBe(true);
    const first = await tools.executeTool('execute_workflow', {
      workflow_name: 'mcp_once',
      idempotency_key: 'agent-call-7',
    });
    const again = await tools.executeTool('execute_workflow', {
      workflow_name: 'mcp_once',
      idempotency_key: 'agent-call-7',
    });
    expect(first).toMatchObject({ success: true, result: { success: true } });
    expect((again.result as { runId: string }).runId).toBe((first.result as { runId: string }).runId);
    expect(await engine.workflows.listRuns({ workflowName: 'mcp_once' })).toHaveLength(1);
    const bad = await tools.executeTool('execute_workflow', { workflow_name: 'mcp_once', idempotency_key: '' });
    expect(bad).toMatchObject({ success: false, error: { code: 'VALIDATION' } });
    expect(!bad.success && bad.error.message).toMatch(/idempotency_key/);
  });

  it('executes a tool with the seed’s arguments and reports progress', async () => {
    const seen: number[] = [];
    const r = await getMcpTools(engine).executeTool(
      'create_complex_workflow',
      {
        name: 'seed_complex',
        workflow_definition: {
          steps: [
            { name: 'a', module: 'core', action: 'echo' },
            { name: 'b', module: 'core', action: 'echo' },
          ],
          dependencies: { b: ['a'] },
        },
      },
      (p) => seen.push(p),
    );
    expect(r).toMatchObject({ success: true, result: { success: true, workflowName: 'seed_complex' } });
    expect(seen).toEqual([0, 1, 2]);
  });

  it('never throws: an unknown tool, a missing field and a bad priority come back with success false and why', async () => {
    const tools = getMcpTools(engine);
    expect(await tools.executeTool('nope', {})).toMatchObject({
      success: false,
      error: { code: 'NOT_FOUND', message: expect.stringMatching(/no MCP tool named "nope"/) as string },
    });
    expect(await tools.executeTool('execute_workflow', {})).toMatchObject({
      success: false,
      error: { code: 'VALIDATION', message: expect.stringMatching(/workflow_name/) as string },
    });
    expect(
      await tools.executeTool('execute_task', { name: 't', module: 'core', action: 'echo', priority: 'urgent' }),
    ).toMatchObject({ success: false, error: { message: expect.stringMatching(/priority/) as string } });
  });
});
