/**
 * The MCP server as an agent sees it: `codomyrmex mcp` spawned as a child process and driven by the SDK's real
 * `Client`, over stdio and over Streamable HTTP.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMcp } from '../support/mcp.js';
import { callTool, SEED_TOOLS, toolText } from '../support/mcp.js';
import type { Structured } from '../support/mcp.js';
import { expectProgressSeen } from '../support/progress.js';

const call = callTool;
const text = toolText;

describe('codomyrmex mcp over stdio', () => {
  let cwd: string;
  let client: Client;

  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'codomyrmex-mcp-'));
    await writeFile(join(cwd, 'app.ts'), 'export function f(a: number) { return a > 1 ? a : 0; } // TODO\n');
    client = await connectMcp(cwd, ['--threads', '1', '--store', 'memory']);
  });

  afterAll(async () => {
    await client.close();
    await rm(cwd, { recursive: true, force: true });
  });

  it('lists the seed’s ten tools and the extra five, with the seed’s argument names', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const n of [
      ...SEED_TOOLS,
      'validate_workflow',
      'get_run',
      'get_step_output',
      'cancel_run',
      'explain_task',
      'list_modules',
    ])
      expect(names).toContain(n);
    const byName = new Map(tools.map((t) => [t.name, t.inputSchema]));
    expect(byName.get('execute_workflow')).toMatchObject({
      type: 'object',
      required: ['workflow_name'],
      properties: { workflow_name: { type: 'string' }, parameters: { type: 'object' }, session_id: { type: 'string' } },
    });
    expect(byName.get('create_project')?.properties?.['template']).toMatchObject({ default: 'ai_analysis' });
    expect(byName.get('allocate_resources')?.required).toEqual(['user_id', 'requirements']);
    expect(byName.get('create_complex_workflow')?.required).toEqual(['name', 'workflow_definition']);
    expect((byName.get('execute_task')?.properties?.['priority'] as { enum: string[] }).enum).toEqual(
      expect.arrayContaining(['low', 'normal', 'high', 'critical']),
    );
  });

  it('runs a workflow with progress notifications and returns structured step results', async () => {
    const progress: { progress: number; total?: number | undefined }[] = [];
    const r = (await client.callTool(
      { name: 'execute_workflow', arguments: { workflow_name: 'ai_analysis', parameters: { path: '.' } } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult & { structuredContent: Structured };
    expect(r.isError).toBeFalsy();
    const result = r.structuredContent.result as {
      success: boolean;
      workflowName: string;
      runId: string;
      steps: Record<string, { status: string; preview?: string }>;
      files: string[];
    };
    expect(result).toMatchObject({
      success: true,
      workflowName: 'ai-analysis',
      steps: { analyze_code: { status: 'completed', preview: expect.any(String) as string } },
    });
    expect(result.files).toEqual(
      expect.arrayContaining(['.codomyrmex/reports/ai-analysis.svg', '.codomyrmex/reports/ai-analysis.md']),
    );
    expectProgressSeen(progress, 4);
    // The whole output, or one value inside it, by path.
    const totals = await call(client, 'get_step_output', {
      run_id: result.runId,
      step: 'analyze_code',
      path: 'totals',
    });
    expect(totals.structuredContent.result).toMatchObject({
      step: 'analyze_code',
      path: 'totals',
      value: { files: 1 },
    });
    const missingPath = await call(client, 'get_step_output', {
      run_id: result.runId,
      step: 'analyze_code',
      path: 'totals.nope',
    });
    expect(missingPath.isError).toBe(true);
    expect(missingPath.structuredContent.error?.message).toMatch(
      /^path: totals is an object with keys .*, with no field "nope"/,
    );

    const run = await call(client, 'get_run', { run_id: result.runId });
    expect(run.structuredContent.result).toMatchObject({
      runId: result.runId,
      status: 'succeeded',
      params: { path: '.' },
      steps: {
        write_report: { artifacts: expect.arrayContaining([expect.stringMatching(/^md \(\d+ bytes\)$/)]) as string[] },
      },
    });
    // A step's files, as text or (binary) base64.
    const md = await call(client, 'get_run_artifact', { run_id: result.runId, step: 'write_report', name: 'md' });
    expect(md.structuredContent.result).toMatchObject({
      file: 'ai-analysis.md',
      offset: 0,
      eof: true,
      text: await readFile(join(cwd, '.codomyrmex/reports/ai-analysis.md'), 'utf8'),
    });
    const png = await call(client, 'get_run_artifact', { run_id: result.runId, step: 'chart_analysis', name: 'png' });
    expect((png.structuredContent.result as { base64: string }).base64.startsWith('iVBORw0KGgo')).toBe(true);
    const nope = await call(client, 'get_run_artifact', { run_id: result.runId, step: 'write_report', name: 'nope' });
    expect(nope.isError).toBe(true);
    expect(nope.structuredContent.error?.message).toMatch(
      /step "write_report" of run .* has no artifact "nope" \(it has: md, html\)/,
    );
    const cancel = await call(client, 'cancel_run', { run_id: result.runId });
    expect(cancel.structuredContent.result).toMatchObject({ cancelled: false, status: 'succeeded' });
    const why = await call(client, 'explain_task', { task_id: `${result.runId}.analyze_code` });
    expect(why.structuredContent.result).toMatchObject({ status: 'completed' });

    const { resources } = await client.listResources();
    expect(resources.map((x) => x.uri)).toEqual(
      expect.arrayContaining(['codomyrmex://workflows/ai-analysis', `codomyrmex://runs/${result.runId}`]),
    );
    const read = await client.readResource({ uri: `codomyrmex://runs/${result.runId}` });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({
      runId: result.runId,
      status: 'succeeded',
    });
    const def = await client.readResource({ uri: 'codomyrmex://workflows/ai-analysis' });
    expect(JSON.parse((def.contents[0] as { text: string }).text)).toMatchObject({ name: 'ai-analysis' });
  });

  it('answers an analysis of 150 files in under 8 KB (text and structured content together)', async () => {
    const dir = join(cwd, 'big');
    await mkdir(dir);
    const fn = (i: number) =>
      `export function f${i}(a: number, b: number) {\n  if (a > b) { return a - b; } // TODO: check ${i}\n  for (let k = 0; k < a; k++) { if (k % 3 === 0) b += k; }\n  return b;\n}\n`;
    for (let f = 0; f < 150; f++)
      await writeFile(join(dir, `mod${f}.ts`), Array.from({ length: 8 }, (_, i) => fn(i)).join('\n'));
    const r = await call(client, 'execute_workflow', { workflow_name: 'ai-analysis', parameters: { path: 'big' } });
    expect(r.isError).toBeFalsy();
    const bytes = Buffer.byteLength(text(r)) + Buffer.byteLength(JSON.stringify(r.structuredContent));
    expect(bytes).toBeLessThan(8 * 1024);
    const result = r.structuredContent.result as { runId: string; status: string };
    expect(result.status).toBe('succeeded');
    const run = await call(client, 'get_run', { run_id: result.runId });
    expect(Buffer.byteLength(text(run)) + Buffer.byteLength(JSON.stringify(run.structuredContent))).toBeLessThan(
      8 * 1024,
    );
    // A large value comes back as its shape, to drill into.
    const whole = await call(client, 'get_step_output', { run_id: result.runId, step: 'analyze_code' });
    expect(whole.structuredContent.result).toMatchObject({
      truncated: true,
      kind: 'object',
      keys: expect.arrayContaining(['totals', 'files']) as string[],
    });
    expect(Buffer.byteLength(text(whole)) + Buffer.byteLength(JSON.stringify(whole.structuredContent))).toBeLessThan(
      8 * 1024,
    );
    const one = await call(client, 'get_step_output', {
      run_id: result.runId,
      step: 'analyze_code',
      path: 'totals.files',
    });
    expect(one.structuredContent.result).toMatchObject({ value: 150 });
  }, 60_000);

  it('calls each of the other tools', async () => {
    const created = await call(client, 'create_workflow', {
      name: 'two_steps',
      description: 'echo then echo',
      steps: [
        { name: 'a', module: 'core', action: 'echo', parameters: { value: 1 } },
        {
          name: 'b',
          module: 'core',
          action: 'echo',
          parameters: { value: '{{a.output}}' },
          dependencies: ['a'],
          max_retries: 1,
        },
      ],
    });
    expect(created.structuredContent).toMatchObject({ success: true, result: { name: 'two_steps', steps: 2 } });
    const list = await call(client, 'list_workflows');
    expect((list.structuredContent.result?.['workflows'] as { name: string }[]).map((w) => w.name)).toContain(
      'two_steps',
    );

    const plan = await call(client, 'validate_workflow', { workflow_name: 'two_steps' });
    expect(plan.structuredContent.result).toMatchObject({
      valid: true,
      levels: [['a'], ['b']],
      criticalPath: ['a', 'b'],
    });
    const badPlan = await call(client, 'validate_workflow', {
      definition: { name: 'x', steps: [{ name: 'a', module: 'core', action: 'nope' }] },
    });
    expect(badPlan.structuredContent.result).toMatchObject({ valid: false });
    expect(JSON.stringify(badPlan.structuredContent.result?.['errors'])).toMatch(/core\.nope/);

    const task = await call(client, 'execute_task', {
      name: 'hi',
      module: 'core',
      action: 'echo',
      parameters: { value: 'hi' },
      priority: 'high',
    });
    expect(task.structuredContent.result).toMatchObject({ success: true, result: 'hi' });

    const project = await call(client, 'create_project', {
      name: 'ai_project',
      template: 'ai_analysis',
      description: 'AI-powered analysis project',
    });
    expect(project.structuredContent.result).toMatchObject({ name: 'ai_project', template: 'ai_analysis' });
    const projects = await call(client, 'list_projects');
    expect((projects.structuredContent.result?.['projects'] as { name: string }[]).map((p) => p.name)).toEqual([
      'ai_project',
    ]);

    const status = await call(client, 'get_system_status');
    expect(status.structuredContent.result).toMatchObject({ state: 'running' });
    const health = await call(client, 'get_health_status');
    expect(health.structuredContent.result).toMatchObject({ overallStatus: expect.any(String) as string });

    const alloc = await call(client, 'allocate_resources', { user_id: 'user123', requirements: { cpu: { cores: 1 } } });
    expect(alloc.structuredContent).toMatchObject({ success: true, result: { holderId: 'user123' } });

    const complex = await call(client, 'create_complex_workflow', {
      name: 'cx',
      workflow_definition: {
        steps: [
          { name: 'setup', module: 'core', action: 'echo' },
          { name: 'analyze', module: 'core', action: 'echo' },
        ],
        dependencies: { analyze: ['setup'] },
        parallel_groups: [['setup', 'analyze']],
      },
    });
    expect(complex.structuredContent.result).toMatchObject({ success: true, workflowName: 'cx' });

    const modules = await call(client, 'list_modules', { module: 'core' });
    const actions = modules.structuredContent.result?.['actions'] as {
      action: string;
      params: { properties?: Record<string, unknown> };
    }[];
    expect(actions.find((a) => a.action === 'sleep')?.params.properties).toHaveProperty('ms');
  });

  it('creates, lists and deletes rate limits, and answers a repeated idempotency key with the first task', async () => {
    const created = await call(client, 'create_rate_limit', { name: 'github-api', limit: 30, per: '1m' });
    expect(created.structuredContent.result).toMatchObject({ name: 'github-api', limit: 30, per: '1m' });
    const listed = await call(client, 'list_rate_limits');
    expect(listed.structuredContent.result?.['rateLimits']).toMatchObject([{ name: 'github-api', limit: 30 }]);
    const bad = await call(client, 'create_rate_limit', { name: 'x', limit: 0, per: '1m' });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/rateLimit\.limit/);
    expect((await call(client, 'delete_rate_limit', { name: 'github-api' })).structuredContent.result).toEqual({
      name: 'github-api',
      deleted: true,
    });
    const first = await call(client, 'execute_task', {
      name: 'once',
      module: 'core',
      action: 'echo',
      parameters: { value: 1 },
      idempotency_key: 'mcp-1',
    });
    const again = await call(client, 'execute_task', {
      name: 'twice',
      module: 'core',
      action: 'echo',
      parameters: { value: 2 },
      idempotency_key: 'mcp-1',
    });
    expect(again.structuredContent.result).toMatchObject({
      taskId: first.structuredContent.result?.['taskId'],
      result: 1,
    });
  });

  it('answers bad calls with isError results naming the field in structured content, and keeps serving', async () => {
    const missing = await call(client, 'execute_workflow', {});
    expect(missing.isError).toBe(true);
    expect(missing.structuredContent).toMatchObject({
      success: false,
      error: {
        code: 'VALIDATION',
        fields: ['workflow_name'],
        message: expect.stringMatching(/workflow_name/) as string,
      },
    });
    const mistyped = await call(client, 'execute_task', {
      name: 't',
      module: 'core',
      action: 'echo',
      priority: 'urgent',
    });
    expect(mistyped.isError).toBe(true);
    expect(mistyped.structuredContent).toMatchObject({
      success: false,
      error: { code: 'VALIDATION', fields: ['priority'] },
    });
    const nested = await call(client, 'create_workflow', {
      name: 'w',
      steps: [{ name: 'a', module: 'core', action: 5 }],
    });
    expect(nested.structuredContent).toMatchObject({
      success: false,
      error: { code: 'VALIDATION', fields: ['steps.0.action'] },
    });
    const noTool = await call(client, 'no_such_tool', {});
    expect(noTool.isError).toBe(true);
    expect(noTool.structuredContent).toMatchObject({
      success: false,
      error: { code: 'NOT_FOUND', message: expect.stringMatching(/no MCP tool named "no_such_tool"/) as string },
    });
    const unknown = await call(client, 'execute_workflow', { workflow_name: 'nope' });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/NOT_FOUND: workflow_name: no workflow named "nope"/);
    const failing = await call(client, 'execute_task', {
      name: 'f',
      module: 'core',
      action: 'fail',
      parameters: { retryable: false },
    });
    expect(failing.isError).toBe(true);
    expect(failing.structuredContent.result).toMatchObject({ status: 'failed', success: false });
    const badReq = await call(client, 'allocate_resources', { user_id: 'u', requirements: { cpu: { cores: 'two' } } });
    expect(badReq.isError).toBe(true);
    expect(badReq.structuredContent).toMatchObject({ error: { fields: ['requirements.cpu.cores'] } });
    const list = await call(client, 'list_workflows');
    expect(list.isError).toBeFalsy();
  });
});
