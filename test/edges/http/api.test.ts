import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../../src/index.js';
import { HttpEdge } from '../../../src/edges/http/server.js';
import { testEngine, thenEcho } from '../../helpers.js';

const TOKEN = 'test-token-0123456789abcdef';

interface Reply {
  status: number;
  headers: Headers;
  body: { ok: boolean; result?: unknown; error?: { code: string; name: string; message: string; issues: string[] } };
}

type SseEvent = { id: number; event: string; data: { seq: number; type: string; data: Record<string, unknown> } };

/** Opens an SSE stream (resolves once the server answered: the client is attached); `take(n)` reads n events. */
async function openEvents(url: string, init: RequestInit): Promise<{ take: (count: number) => Promise<SseEvent[]> }> {
  const ctrl = new AbortController();
  const res = await fetch(url, { ...init, signal: ctrl.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  return {
    take: async (count) => {
      const out: SseEvent[] = [];
      let buffer = '';
      while (out.length < count) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (\d+)$/m.exec(block)?.[1];
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (id && event && data) out.push({ id: Number(id), event, data: JSON.parse(data) as SseEvent['data'] });
        }
      }
      ctrl.abort();
      return out.slice(0, count);
    },
  };
}

async function readEvents(url: string, init: RequestInit, count: number): Promise<SseEvent[]> {
  return (await openEvents(url, init)).take(count);
}

describe('HTTP command API', () => {
  let dir: string;
  let engine: OrchestrationEngine;
  let base: string;
  const auth = { authorization: `Bearer ${TOKEN}` };

  async function call(path: string, init: RequestInit & { token?: boolean } = {}): Promise<Reply> {
    const { token = true, ...rest } = init;
    const res = await fetch(`${base}${path}`, {
      ...rest,
      headers: { ...(token ? auth : {}), ...(rest.headers as Record<string, string> | undefined) },
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: JSON.parse(text) as Reply['body'] };
  }
  const post = (path: string, body: unknown, init: RequestInit & { token?: boolean } = {}): Promise<Reply> =>
    call(path, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
      headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codomyrmex-api-'));
    engine = testEngine({
      store: 'sqlite',
      dbPath: join(dir, 'state.db'),
      threads: 1,
      http: { port: 0, authToken: TOKEN, maxBodyBytes: 64 * 1024 },
    });
    await engine.ready();
    base = engine.httpAddress!.url;
    await engine.workflows.createWorkflow(
      'pair',
      thenEcho({ module: 'core', action: 'echo', parameters: { value: '<script>alert(1)</script>' } }),
    );
  });
  afterAll(async () => {
    await engine.shutdown({ graceMs: 0 });
    await rm(dir, { recursive: true, force: true });
  });

  it('answers POST /api/v1/cmd/<component>/<verb> with the NATS envelope, and 401 without the token', async () => {
    const started = await post('/api/v1/cmd/workflow/start', { workflow_name: 'pair', parameters: {} });
    expect(started.status).toBe(200);
    const runId = (started.body.result as { runId: string }).runId;
    expect(runId).toMatch(/\S/);
    const waited = await post('/api/v1/cmd/workflow/wait_for', { runId, timeoutMs: 10_000 });
    expect(waited.body).toMatchObject({ ok: true, result: { done: true, result: { status: 'succeeded' } } });

    const anonymous = await post('/api/v1/cmd/workflow/list', {}, { token: false });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(anonymous.body.ok).toBe(false);
    const wrong = await post(
      '/api/v1/cmd/workflow/list',
      {},
      { token: false, headers: { authorization: 'Bearer nope-nope-nope-nope-nope' } },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body.error!.message).toMatch(/token is wrong/);
  });

  it('refuses bad input as NATS does: schema issues (400), unknown commands (404), bad JSON, bodies over the limit (413)', async () => {
    const bad = await post('/api/v1/cmd/task/add', { tasks: [{ module: 5 }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error!.code).toBe('VALIDATION');
    expect(bad.body.error!.issues.join('\n')).toMatch(/payload\.tasks\.0\.module|payload\.tasks\[0\]\.module/);
    const unknown = await post('/api/v1/cmd/workflow/strat', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error!.message).toMatch(/did you mean "workflow.start"/);
    const malformed = await post('/api/v1/cmd/workflow/list', '{"oops');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error!.message).toMatch(/not valid JSON/);
    const big = await post('/api/v1/cmd/workflow/validate', {
      definition: { name: 'x', steps: [], pad: 'x'.repeat(70 * 1024) },
    });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ ok: false, error: { name: 'PayloadTooLargeError' } });
    const get = await call('/api/v1/cmd/workflow/list');
    expect(get.status).toBe(405);
  });

  it('refuses a token in the URL and a cross-origin POST, even with the token', async () => {
    const inQuery = await call(`/api/v1/runs?token=${TOKEN}`, { token: false });
    expect(inQuery.status).toBe(400);
    expect(inQuery.body.error!.message).toMatch(/Authorization: Bearer/);
    const cross = await post('/api/v1/cmd/workflow/list', {}, { headers: { origin: 'https://evil.example' } });
    expect(cross.status).toBe(403);
    expect(cross.body.error!.message).toMatch(/cross-origin/);
    const same = await post('/api/v1/cmd/workflow/list', {}, { headers: { origin: base } });
    expect(same.status).toBe(200);
  });

  it('serves the GET conveniences, each refused without the token', async () => {
    const { runs } = (await call('/api/v1/runs?limit=5')).body.result as { runs: { runId: string }[] };
    const runId = runs[0]!.runId;
    const taskId = `${runId}.first`;
    const routes: [string, (r: unknown) => void][] = [
      [
        '/api/v1/runs?workflow=pair&status=succeeded',
        (r) => expect((r as { runs: unknown[] }).runs.length).toBeGreaterThan(0),
      ],
      [
        `/api/v1/runs/${runId}`,
        (r) => expect(r).toMatchObject({ run: { runId, status: 'succeeded' }, workflow: { name: 'pair' } }),
      ],
      [
        `/api/v1/runs/${runId}/history`,
        (r) => expect((r as { events: { type: string }[] }).events.map((e) => e.type)).toContain('step_completed'),
      ],
      [
        '/api/v1/workflows',
        (r) => expect(r).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'pair' })])),
      ],
      [
        '/api/v1/workflows/pair',
        (r) => expect(r).toMatchObject({ name: 'pair', steps: [{ name: 'first' }, { name: 'second' }] }),
      ],
      ['/api/v1/tasks', (r) => expect(Array.isArray(r)).toBe(true)],
      [
        `/api/v1/tasks/${taskId}`,
        (r) => expect(r).toMatchObject({ id: taskId, spec: { parameters: { value: '<script>alert(1)</script>' } } }),
      ],
      [`/api/v1/tasks/${taskId}/explain`, (r) => expect(r).toMatchObject({ taskId })],
      ['/api/v1/stats', (r) => expect(r).toHaveProperty('running')],
      ['/api/v1/resources', (r) => expect((r as unknown[]).length).toBeGreaterThan(0)],
      ['/api/v1/allocations', (r) => expect(Array.isArray(r)).toBe(true)],
      ['/api/v1/sessions', (r) => expect(Array.isArray(r)).toBe(true)],
      ['/api/v1/projects', (r) => expect(Array.isArray(r)).toBe(true)],
      [
        '/api/v1/modules',
        (r) => expect(r).toEqual(expect.arrayContaining([expect.objectContaining({ module: 'core' })])),
      ],
      ['/api/v1/status', (r) => expect(r).toHaveProperty('state', 'running')],
      ['/api/v1/health', (r) => expect(r).toHaveProperty('overallStatus')],
      ['/api/v1/workers', (r) => expect(r).toHaveProperty('workers')],
      ['/api/v1/commands', (r) => expect(r).toEqual(expect.arrayContaining(['workflow.start', 'task.explain']))],
    ];
    for (const [path, check] of routes) {
      const withToken = await call(path);
      expect(withToken.status, path).toBe(200);
      expect(withToken.body.ok, path).toBe(true);
      check(withToken.body.result);
      const without = await call(path, { token: false });
      expect(without.status, path).toBe(401);
    }
    const download = await fetch(`${base}/api/v1/runs/${runId}/steps/first/output`, { headers: auth });
    expect(download.headers.get('content-disposition')).toMatch(/attachment/);
    expect(JSON.parse(await download.text())).toBe('<script>alert(1)</script>');
    expect((await fetch(`${base}/api/v1/runs/${runId}/steps/first/output`)).status).toBe(401);
    const missing = await call('/api/v1/runs/no-such-run');
    expect(missing.status).toBe(404);
    expect(missing.body.error!.code).toBe('NOT_FOUND');
    const noRoute = await call('/api/v1/nothing');
    expect(noRoute.status).toBe(404);
  });

  it('pages runs newest first with a cursor and filters by time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await engine.workflows.startWorkflow('pair');
      ids.push(r);
      await engine.workflows.waitForRun(r);
    }
    await engine.flush();
    const first = (await call('/api/v1/runs?workflow=pair&limit=2')).body.result as {
      runs: { runId: string; startedAt: number }[];
      next: string;
    };
    expect(first.runs.map((r) => r.runId)).toEqual([ids[4], ids[3]]);
    expect(first.next).toBe(ids[3]);
    const second = (await call(`/api/v1/runs?workflow=pair&limit=2&after=${first.next}`)).body.result as {
      runs: { runId: string }[];
    };
    expect(second.runs.map((r) => r.runId)).toEqual([ids[2], ids[1]]);
    const future = (await call(`/api/v1/runs?from=${Date.now() + 60_000}`)).body.result as { runs: unknown[] };
    expect(future.runs).toEqual([]);
    const bad = await call('/api/v1/runs?from=yesterday-ish');
    expect(bad.status).toBe(400);
    expect(bad.body.error!.message).toMatch(/\?from:/);
  });

  it('streams events with growing ids, filters by run, and resumes from the journal with Last-Event-ID', async () => {
    expect((await fetch(`${base}/api/v1/events`)).status).toBe(401);
    const url = `${base}/api/v1/events`;
    const stream = await openEvents(url, { headers: auth });
    const runId = await engine.workflows.startWorkflow('pair');
    await engine.workflows.waitForRun(runId);
    const got = await stream.take(6);
    const ids = got.map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(got[0]!.event).toBe(got[0]!.data.type);

    const mine = await readEvents(
      `${url}?runId=${runId}`,
      { headers: { ...auth, 'last-event-id': String(ids[0]! - 1) } },
      4,
    );
    expect(mine.every((e) => JSON.stringify(e.data.data).includes(runId))).toBe(true);
    expect(mine.map((e) => e.event)).toContain('workflow_started');

    // Resume after the third event: the next ones come from the journal, in order, none missed.
    const resumed = await readEvents(url, { headers: { ...auth, 'last-event-id': String(ids[2]) } }, 3);
    expect(resumed.map((e) => e.id)).toEqual([ids[2]! + 1, ids[2]! + 2, ids[2]! + 3]);
    const badTypes = await fetch(`${url}?types=nope`, { headers: auth });
    expect(badTypes.status).toBe(400);
  });

  it('serves the console page with a strict CSP and no token, and 404 for an unknown run', async () => {
    const page = await fetch(`${base}/runs`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    const text = await page.text();
    expect(text).toMatch(/<script type="module" src="\/assets\/app.js"><\/script>/);
    expect(text).not.toMatch(/<script>|<script type="importmap"|style="/);
    expect((await fetch(`${base}/runs/does-not-exist`)).status).toBe(404);
    for (const asset of [
      'app.js',
      'style.css',
      'vendor/preact.js',
      'vendor/hooks.js',
      'vendor/htm.js',
      'vendor/dagre.js',
    ]) {
      const res = await fetch(`${base}/assets/${asset}`);
      expect(res.status, asset).toBe(200);
    }
    expect(await (await fetch(`${base}/assets/vendor/hooks.js`)).text()).not.toMatch(/from\s*"preact"/);
    expect((await fetch(`${base}/assets/../package.json`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it('refuses to serve the API on a non-loopback address without a token', async () => {
    await expect(HttpEdge.start(engine.httpHandlers(), { host: '0.0.0.0', port: 0 }, engine)).rejects.toThrow(
      /--auth-token/,
    );
    const off = await HttpEdge.start(engine.httpHandlers(), { host: '0.0.0.0', port: 0, console: false }, engine);
    expect((await fetch(`http://127.0.0.1:${off.address.port}/api/v1/runs`)).status).toBe(404);
    await off.close();
    const metricsAuth = await HttpEdge.start(
      engine.httpHandlers(),
      { host: '127.0.0.1', port: 0, authToken: TOKEN, authMetrics: true },
      engine,
    );
    expect((await fetch(`${metricsAuth.address.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${metricsAuth.address.url}/metrics`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${metricsAuth.address.url}/readyz`)).status).toBe(200);
    await metricsAuth.close();
  });
});
