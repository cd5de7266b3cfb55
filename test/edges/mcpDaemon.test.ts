/**
 * `codomyrmex mcp --nats URL`: the MCP server spawned as a child process, driven by the SDK's real `Client` over
 * stdio, with no engine of its own: every tool goes to a `codomyrmex daemon` child process on a real nats-server.
 * What the tools do is checked on the daemon's side too (its runs, its workflows, its folder).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMcp } from '../support/mcp.js';
import { callTool, toolText } from '../support/mcp.js';
import type { Structured, ToolReply } from '../support/mcp.js';
import type { NatsBus } from '../../src/bus/nats.js';
import { startNatsDaemon, type NatsDaemon } from '../support/daemon.js';
import type { NatsServer } from '../support/nats.js';
import { expectProgressSeen } from '../support/progress.js';

let nd: NatsDaemon;
let server: NatsServer;
let root: string;
let daemonDir: string;
let bus: NatsBus;
let client: Client;
const prefix = `mcpd${process.pid}`;

const call = (name: string, args: Record<string, unknown> = {}): Promise<ToolReply> => callTool(client, name, args);

const text = toolText;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codomyrmex-mcpd-'));
  daemonDir = join(root, 'daemon');
  const agentDir = join(root, 'agent');
  await mkdir(daemonDir);
  await mkdir(agentDir);
  // Only the daemon's folder has code: an analysis that finds a file ran there, not where the MCP server runs.
  await writeFile(join(daemonDir, 'app.ts'), 'export function f(a: number) { return a > 1 ? a : 0; } // TODO\n');
  nd = await startNatsDaemon(daemonDir, prefix, ['--db', join(daemonDir, 'state.db')]);
  ({ server, bus } = nd);
  // A short request timeout: a run that outlasts it must be followed, not held as one request.
  const on = ['--nats', server.url, '--subject-prefix', prefix, '--request-timeout', '1500'];
  client = await connectMcp(agentDir, on, 'test-nats');
});

afterAll(async () => {
  await client?.close();
  await nd?.stop();
  await rm(root, { recursive: true, force: true });
});

describe('codomyrmex mcp --nats', () => {
  it('runs a workflow on the daemon, with progress notifications; the run is the daemon’s', async () => {
    const progress: { progress: number; total?: number | undefined }[] = [];
    const r = (await client.callTool(
      { name: 'execute_workflow', arguments: { workflow_name: 'ai_analysis', parameters: { path: '.' } } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult & { structuredContent: Structured };
    expect(r.isError, text(r)).toBeFalsy();
    const result = r.structuredContent.result as { success: boolean; runId: string };
    expect(result).toMatchObject({ success: true, workflowName: 'ai-analysis' });
    // The daemon's folder: one file. The MCP server's own folder has none.
    const files = await client.callTool({
      name: 'get_step_output',
      arguments: { run_id: result.runId, step: 'analyze_code', path: 'totals.files' },
    });
    expect(files.structuredContent).toMatchObject({ success: true, result: { value: 1 } });
    expectProgressSeen(progress, 4);

    // The daemon has the run in its store.
    await expect(bus.request('workflow.get_run', { runId: result.runId })).resolves.toMatchObject({
      runId: result.runId,
      status: 'succeeded',
    });
    const run = await call('get_run', { run_id: result.runId });
    expect(run.structuredContent.result).toMatchObject({
      runId: result.runId,
      status: 'succeeded',
      params: { path: '.' },
    });
    const why = await call('explain_task', { task_id: `${result.runId}.analyze_code` });
    expect(why.structuredContent.result).toMatchObject({ status: 'completed' });
    const cancel = await call('cancel_run', { run_id: result.runId });
    expect(cancel.structuredContent.result).toMatchObject({ cancelled: false, status: 'succeeded' });

    const { resources } = await client.listResources();
    expect(resources.map((x) => x.uri)).toEqual(
      expect.arrayContaining(['codomyrmex://workflows/ai-analysis', `codomyrmex://runs/${result.runId}`]),
    );
  });

  it('lists and creates workflows, runs tasks and complex workflows (one longer than the request timeout), validates and lists modules, all on the daemon', async () => {
    const created = await call('create_workflow', {
      name: 'via_mcp',
      steps: [{ name: 'a', module: 'core', action: 'echo', parameters: { value: 1 } }],
    });
    expect(created.structuredContent).toMatchObject({ success: true, result: { name: 'via_mcp', steps: 1 } });
    await expect(bus.request('workflow.get', { name: 'via_mcp' })).resolves.toMatchObject({ name: 'via_mcp' });
    const list = await call('list_workflows');
    expect((list.structuredContent.result?.['workflows'] as { name: string }[]).map((w) => w.name)).toEqual(
      expect.arrayContaining(['ai-analysis', 'via_mcp']),
    );

    const task = await call('execute_task', {
      name: 'hi',
      module: 'core',
      action: 'echo',
      parameters: { value: 'hi' },
      priority: 'high',
    });
    expect(task.structuredContent.result).toMatchObject({ success: true, result: 'hi' });
    const taskId = (task.structuredContent.result as { taskId: string }).taskId;
    await expect(bus.request('task.get', { taskId })).resolves.toMatchObject({ status: 'completed' });

    const status = await call('get_system_status');
    expect(status.structuredContent.result).toMatchObject({ state: 'running' });
    const health = await call('get_health_status');
    expect(health.structuredContent.result).toMatchObject({ overallStatus: expect.any(String) as string });

    const progress: { progress: number }[] = [];
    const complex = (await client.callTool(
      {
        name: 'create_complex_workflow',
        arguments: {
          name: 'cx_remote',
          workflow_definition: {
            steps: [
              { name: 'setup', module: 'core', action: 'sleep', parameters: { ms: 2500, value: 's' } },
              { name: 'analyze', module: 'core', action: 'echo', parameters: { value: '{{setup.output}}' } },
            ],
            dependencies: { analyze: ['setup'] },
          },
        },
      },
      undefined,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult & { structuredContent: Structured };
    expect(complex.isError, text(complex)).toBeFalsy();
    expect(complex.structuredContent.result).toMatchObject({
      success: true,
      workflowName: 'cx_remote',
      steps: { analyze: { result: 's' } },
    });
    expectProgressSeen(progress, 2);

    const plan = await call('validate_workflow', { workflow_name: 'via_mcp' });
    expect(plan.structuredContent.result).toMatchObject({ valid: true, levels: [['a']], criticalPath: ['a'] });
    const bad = await call('validate_workflow', {
      definition: { name: 'x', steps: [{ name: 'a', module: 'core', action: 'nope' }] },
    });
    expect(bad.structuredContent.result).toMatchObject({ valid: false });
    expect(JSON.stringify(bad.structuredContent.result?.['errors'])).toMatch(/core\.nope/);

    const modules = await call('list_modules', { module: 'core' });
    const actions = modules.structuredContent.result?.['actions'] as {
      action: string;
      params: { properties?: Record<string, unknown> };
    }[];
    expect(actions.find((a) => a.action === 'sleep')?.params.properties).toHaveProperty('ms');

    const alloc = await call('allocate_resources', { user_id: 'mcp-user', requirements: { cpu: { cores: 1 } } });
    expect(alloc.structuredContent).toMatchObject({ success: true, result: { holderId: 'mcp-user' } });
    await expect(bus.request('resource.allocations', { holderId: 'mcp-user' })).resolves.toHaveLength(1);

    const project = await call('create_project', { name: 'remote_project', template: 'ai_analysis' });
    expect(project.structuredContent.result).toMatchObject({ name: 'remote_project' });
    await expect(bus.request('project.get', { name: 'remote_project' })).resolves.toMatchObject({
      name: 'remote_project',
    });
    const projects = await call('list_projects');
    expect((projects.structuredContent.result?.['projects'] as { name: string }[]).map((p) => p.name)).toContain(
      'remote_project',
    );
  });

  it('answers errors from the daemon as isError results and keeps serving', async () => {
    const unknown = await call('execute_workflow', { workflow_name: 'nope' });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/NOT_FOUND: workflow_name: no workflow named "nope"/);
    const failing = await call('execute_task', {
      name: 'f',
      module: 'core',
      action: 'fail',
      parameters: { retryable: false },
    });
    expect(failing.isError).toBe(true);
    expect(failing.structuredContent.result).toMatchObject({ status: 'failed', success: false });
    const noRun = await call('get_run', { run_id: 'no-such-run' });
    expect(noRun.isError).toBe(true);
    expect(text(noRun)).toMatch(/run_id/);
    const list = await call('list_workflows');
    expect(list.isError).toBeFalsy();
  });

  it('says plainly when no daemon answers on the subject prefix, as an isError result', async () => {
    const nowhere = ['--nats', server.url, '--subject-prefix', `${prefix}none`, '--request-timeout', '2000'];
    const lonely = await connectMcp(root, nowhere, 'test-no-daemon');
    try {
      const r = (await lonely.callTool({ name: 'list_workflows', arguments: {} })) as CallToolResult;
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(
        /NOT_FOUND: no component serves "workflow.list" on NATS .*is the daemon running with subject prefix "mcpd\d+none"\?/,
      );
    } finally {
      await lonely.close();
    }
  });
});
