/**
 * The workflow language over the network: a `codomyrmex daemon` child process on a real nats-server, commanded on
 * `codomyrmex.cmd.workflow.signal` / `.retry` (the NATS bus), through the SDK's MCP `Client` (`codomyrmex mcp
 * --nats`: `signal_run`, `retry_run`) and through the CLI (`run signal`, `run retry`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMcp } from '../support/mcp.js';
import { callTool } from '../support/mcp.js';
import type { ToolReply } from '../support/mcp.js';
import type { NatsBus } from '../../src/bus/nats.js';
import type { WorkflowResult } from '../../src/index.js';
import { CLI, startNatsDaemon, type NatsDaemon } from '../support/daemon.js';
import type { NatsServer } from '../support/nats.js';

const exec = promisify(execFile);
let nd: NatsDaemon;
let server: NatsServer;
let dir: string;
let bus: NatsBus;
let client: Client;
const prefix = `wfl${process.pid}`;

const call = (name: string, args: Record<string, unknown> = {}): Promise<ToolReply> => callTool(client, name, args);

/** Follows a run to its end with bounded waits, as a network client does. */
async function waitEnd(runId: string): Promise<WorkflowResult> {
  for (;;) {
    const r = await bus.request('workflow.wait_for', { runId, timeoutMs: 5000 }, { timeoutMs: 10_000 });
    if (r.done) return r.result;
  }
}

/** Resolves once the run's step is waiting (asked of the daemon, answered from its run record). */
async function waiting(runId: string, step: string): Promise<void> {
  const seen = new Promise<void>((resolve) => {
    const sub = bus.events$().subscribe((e) => {
      if (e.type === 'step_waiting' && e.data.runId === runId && e.data.step === step) {
        sub.unsubscribe();
        resolve();
      }
    });
  });
  // It may have begun waiting before this listened: the run record says so.
  const run = await bus.request('workflow.get_run', { runId });
  if (run?.steps[step]?.status === 'waiting') return;
  await seen;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codomyrmex-wflang-'));
  nd = await startNatsDaemon(dir, prefix, ['--db', join(dir, 'state.db')]);
  ({ server, bus } = nd);
  await bus.request('workflow.create', {
    definition: {
      name: 'gate',
      steps: [
        { name: 'prepare', module: 'core', action: 'echo', parameters: { files: ['a', 'b', 'c'] } },
        {
          name: 'each',
          for_each: '{{prepare.output.files}}',
          module: 'core',
          action: 'echo',
          parameters: { file: '{{item}}' },
          depends_on: ['prepare'],
        },
        { name: 'approval', wait_for: { signal: 'approval', timeout_seconds: 3600 }, depends_on: ['each'] },
        {
          name: 'ship',
          module: 'core',
          action: 'echo',
          parameters: { by: '{{approval.output.by}}', n: '{{each.output[2].file}}' },
          depends_on: ['approval'],
        },
      ],
    },
  });
  await bus.request('workflow.create', {
    definition: {
      name: 'flag',
      steps: [
        { name: 'start', module: 'core', action: 'echo', parameters: { v: 1 } },
        {
          name: 'read',
          module: 'fs',
          action: 'read',
          parameters: { path: 'flag.txt' },
          max_retries: 0,
          depends_on: ['start'],
        },
      ],
    },
  });
  client = await connectMcp(dir, ['--nats', server.url, '--subject-prefix', prefix], 'test-wflang');
});

afterAll(async () => {
  await client?.close();
  await nd?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('workflow language over NATS, MCP and the CLI', () => {
  it('NATS: workflow.signal releases a waiting run; a wrong signal is refused naming the ones awaited', async () => {
    const { runId } = await bus.request('workflow.start', { name: 'gate' });
    await waiting(runId, 'approval');
    const why = await bus.request('workflow.explain_step', { taskId: `${runId}.approval` });
    expect(why?.waitingOn).toMatchObject({ kind: 'signal', signal: 'approval' });
    await expect(bus.request('workflow.signal', { runId, signal: 'aproval' })).rejects.toThrow(
      /its steps wait for: approval/,
    );
    expect(await bus.request('workflow.signal', { runId, signal: 'approval', payload: { by: 'nats' } })).toEqual({
      runId,
      signal: 'approval',
      delivered: true,
    });
    const r = await waitEnd(runId);
    expect(r.status).toBe('succeeded');
    expect(r.steps['ship']?.result).toEqual({ by: 'nats', n: 'c' });
    expect(r.steps['each']?.items).toHaveLength(3);
  });

  it('MCP: signal_run releases a run; retry_run re-runs a failed one, reusing what completed', async () => {
    const { runId } = await bus.request('workflow.start', { name: 'gate' });
    const s = await call('signal_run', { run_id: runId, signal: 'approval', payload: { by: 'mcp' } });
    expect(s.isError, JSON.stringify(s.content)).toBeFalsy();
    expect((await waitEnd(runId)).steps['ship']?.result).toEqual({ by: 'mcp', n: 'c' });
    const bad = await call('signal_run', { run_id: runId, signal: 'approval' });
    expect(bad.isError).toBe(true);
    expect(JSON.stringify(bad.content)).toContain('has ended (succeeded)');

    const failed = await bus.request('workflow.start', { name: 'flag' });
    expect((await waitEnd(failed.runId)).status).toBe('failed');
    await writeFile(join(dir, 'flag.txt'), 'up');
    const again = await call('retry_run', { run_id: failed.runId, from_step: 'read' });
    expect(again.isError, JSON.stringify(again.content)).toBeFalsy();
    const result = again.structuredContent.result as unknown as WorkflowResult;
    expect(result.status).toBe('succeeded');
    expect(result.steps['start']).toMatchObject({ reused: true, reusedFrom: failed.runId });
    expect((await bus.request('workflow.get_run', { runId: result.runId }))?.retryOf).toBe(failed.runId);
  });

  it('NATS workflow.retry answers the new run id; the CLI signals and retries on the daemon', async () => {
    await rm(join(dir, 'flag.txt'), { force: true });
    const failed = await bus.request('workflow.start', { name: 'flag' });
    expect((await waitEnd(failed.runId)).status).toBe('failed');
    const { runId } = await bus.request('workflow.retry', { runId: failed.runId });
    const r = await waitEnd(runId);
    expect(r.steps['start']?.reused).toBe(true);
    expect(r.status).toBe('failed');

    const cli = (...args: string[]) =>
      exec(process.execPath, [CLI, '--nats', server.url, '--subject-prefix', prefix, '--json', ...args], {
        cwd: dir,
        env: { ...process.env, CODOMYRMEX_NATS_URL: '' },
      });
    await writeFile(join(dir, 'flag.txt'), 'up');
    const retried = JSON.parse((await cli('run', 'retry', runId)).stdout) as WorkflowResult;
    expect(retried.status).toBe('succeeded');

    const gate = await bus.request('workflow.start', { name: 'gate' });
    const out = JSON.parse((await cli('run', 'signal', gate.runId, 'approval', '--data', '{"by":"cli"}')).stdout) as {
      signal: string;
    };
    expect(out.signal).toBe('approval');
    expect((await waitEnd(gate.runId)).steps['ship']?.result).toEqual({ by: 'cli', n: 'c' });
  });
});
