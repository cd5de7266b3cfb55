/**
 * Webhook triggers on a real HTTP edge: a POST signed with the trigger's secret starts a run (202 + run id) whose
 * parameters read the JSON body; a wrong or missing signature gets 401 and starts nothing; a body over 1 MiB gets
 * 413; a body that is not JSON gets 400 and is counted as rejected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { signBody } from '../../src/actors/triggers/manager.js';
import { ValidationError } from '../../src/errors.js';
import { testEngine } from '../helpers.js';

const SECRET = 'a-long-shared-secret-for-tests';
let engine: OrchestrationEngine;
let base: string;

beforeAll(async () => {
  engine = testEngine({ http: { host: '127.0.0.1', port: 0 } });
  await engine.ready();
  base = engine.httpAddress!.url;
  await engine
    .getWorkflowManager()
    .createWorkflow('deploy', [
      { name: 'say', module: 'core', action: 'echo', parameters: { value: '{{params.ref}}' } },
    ]);
  await engine.createTrigger({
    name: 'gh',
    workflow: 'deploy',
    source: { http: { path: '/hooks/deploy', secret: SECRET } },
    parameters: { ref: '{{event.data.ref}}' },
  });
});

afterAll(async () => {
  await engine.shutdown();
});

const post = (path: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

describe('webhook triggers', () => {
  it('starts a run for a well-signed POST: 202 with the run id, the body as {{event.data}}', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const res = await post('/hooks/deploy', body, { 'x-codomyrmex-signature': signBody(SECRET, body) });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const result = await engine.getWorkflowManager().waitForRun(runId);
    expect(result.steps['say']?.result).toBe('refs/heads/main');
    expect(await engine.getWorkflowManager().getRun(runId)).toMatchObject({ triggerName: 'gh' });
    expect((await engine.getWorkflowManager().listRuns({ trigger: 'gh' })).map((r) => r.runId)).toContain(runId);
  });

  it('answers 401 to a wrong or missing signature and starts nothing', async () => {
    const before = (await engine.listTriggers())[0]!.fired;
    const body = JSON.stringify({ ref: 'x' });
    expect(
      (await post('/hooks/deploy', body, { 'x-codomyrmex-signature': signBody('another-secret-entirely', body) }))
        .status,
    ).toBe(401);
    expect((await post('/hooks/deploy', body, { 'x-codomyrmex-signature': signBody(SECRET, `${body} `) })).status).toBe(
      401,
    );
    expect((await post('/hooks/deploy', body)).status).toBe(401);
    const [t] = await engine.listTriggers();
    expect(t).toMatchObject({ name: 'gh', kind: 'http', target: '/hooks/deploy', fired: before });
    expect(t!.rejected).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(t)).not.toContain(SECRET);
  });

  it('answers 413 past 1 MiB, 400 to a body that is not JSON, 404 to an unknown hook', async () => {
    const big = 'x'.repeat(1024 * 1024 + 1);
    expect((await post('/hooks/deploy', big, { 'x-codomyrmex-signature': signBody(SECRET, big) })).status).toBe(413);
    const notJson = 'ref=main';
    const res = await post('/hooks/deploy', notJson, { 'x-codomyrmex-signature': signBody(SECRET, notJson) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/not JSON/);
    expect((await post('/hooks/nothing', '{}', { 'x-codomyrmex-signature': signBody(SECRET, '{}') })).status).toBe(404);
    const metrics = await engine.metrics!.registry.metrics();
    expect(metrics).toMatch(/codomyrmex_trigger_runs_total\{trigger="gh",outcome="rejected"\} [4-9]/);
    expect(metrics).toContain('codomyrmex_trigger_runs_total{trigger="gh",outcome="started"} 1');
  });

  it('refuses a path outside /hooks/, a short secret and an unknown workflow, creating nothing', async () => {
    await expect(
      engine.createTrigger({ name: 'bad', workflow: 'deploy', source: { http: { path: '/metrics', secret: SECRET } } }),
    ).rejects.toThrow(/trigger\.source\.http\.path: must be a path under \/hooks\//);
    await expect(
      engine.createTrigger({
        name: 'bad',
        workflow: 'deploy',
        source: { http: { path: '/hooks/x', secret: 'short' } },
      }),
    ).rejects.toThrow(ValidationError);
    await expect(
      engine.createTrigger({ name: 'bad', workflow: 'nope', source: { http: { path: '/hooks/x', secret: SECRET } } }),
    ).rejects.toThrow(/no workflow named "nope"/);
    await expect(
      engine.createTrigger({
        name: 'bad',
        workflow: 'deploy',
        source: { nats: 'a.b' },
        parameters: { x: '{{params.y}}' },
      }),
    ).rejects.toThrow(/reads "params"/);
    expect((await engine.listTriggers()).map((t) => t.name)).toEqual(['gh']);
  });

  it('pauses (409) and resumes', async () => {
    expect((await engine.pauseTrigger('gh')).paused).toBe(true);
    const body = '{"ref":"p"}';
    expect((await post('/hooks/deploy', body, { 'x-codomyrmex-signature': signBody(SECRET, body) })).status).toBe(409);
    expect((await engine.resumeTrigger('gh')).paused).toBe(false);
    expect((await post('/hooks/deploy', body, { 'x-codomyrmex-signature': signBody(SECRET, body) })).status).toBe(202);
  });
});
