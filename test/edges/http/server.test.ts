import { afterEach, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../../src/index.js';
import { compileOptions } from '../../../src/index.js';
import { nextEvent, testEngine } from '../../helpers.js';
import { parseExposition, sample } from '../../metrics/support.js';

async function get(
  engine: OrchestrationEngine,
  path: string,
  init?: RequestInit,
): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(`${engine.httpAddress!.url}${path}`, init);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('HTTP edge', () => {
  const engines: OrchestrationEngine[] = [];
  function engineWith(options: Parameters<typeof testEngine>[0]): OrchestrationEngine {
    const e = testEngine(options);
    engines.push(e);
    return e;
  }
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.shutdown({ graceMs: 0 })));
  });

  it('is off for engines made in code unless asked; `true` means 127.0.0.1:9464', async () => {
    const engine = engineWith({ threads: 1 });
    await engine.ready();
    expect(engine.httpAddress).toBeNull();
    expect(compileOptions({}).http).toBeNull();
    expect(compileOptions({ http: true }).http).toMatchObject({ host: '127.0.0.1', port: 9464 });
    expect(compileOptions({ http: { port: 0 } }).http).toMatchObject({ host: '127.0.0.1', port: 0 });
    expect(() => compileOptions({ http: { port: 70_000 } })).toThrow(/options\.http/);
  });

  it('binds 127.0.0.1 on a free port and serves the exposition on /metrics', async () => {
    const engine = engineWith({ threads: 1, http: { port: 0 } });
    await engine.ready();
    const address = engine.httpAddress!;
    expect(address.host).toBe('127.0.0.1');
    expect(address.port).toBeGreaterThan(0);
    expect(address.url).toBe(`http://127.0.0.1:${address.port}`);
    await engine.tasks.executeTask({ module: 'core', action: 'echo', parameters: { value: 1 } });
    const res = await get(engine, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const samples = parseExposition(res.body);
    expect(sample(samples, 'codomyrmex_tasks_total', { module: 'core', action: 'echo', status: 'completed' })).toBe(1);
    // The HTTP edge registers the default process metrics when it starts.
    expect(samples.has('process_cpu_user_seconds_total')).toBe(true);
    expect((await engine.getSystemStatus()).http).toEqual(address);
  });

  it('answers /healthz and /readyz with JSON and proper status codes', async () => {
    const engine = engineWith({ threads: 1, http: { port: 0 } });
    await engine.ready();
    const live = await get(engine, '/healthz');
    expect(live.status).toBe(200);
    expect(live.type).toBe('application/json; charset=utf-8');
    expect(JSON.parse(live.body)).toMatchObject({ status: 'ok', state: 'running' });
    const ready = await get(engine, '/readyz?verbose=1');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({
      status: 'ready',
      state: 'running',
      checks: {
        engine: { ok: true, detail: 'running' },
        pool: { ok: true, detail: '1 threads' },
        store: { ok: true, detail: 'the memory store takes writes' },
        bus: { ok: true, detail: 'connected' },
      },
    });
    expect((await get(engine, '/readyz', { method: 'HEAD' })).status).toBe(200);
  });

  it('answers /readyz 503 when a component is broken', async () => {
    const engine = engineWith({ threads: 1, http: { port: 0 } });
    await engine.ready();
    engine.store.close();
    const ready = await get(engine, '/readyz');
    expect(ready.status).toBe(503);
    const body = JSON.parse(ready.body) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('not_ready');
    expect(body.checks['store']).toEqual({ ok: false, detail: 'the memory store refuses writes: the store is closed' });
    expect(body.checks['pool']!.ok).toBe(true);
    expect((await get(engine, '/healthz')).status).toBe(200);
  });

  it('answers /readyz 503 "draining" during shutdown, then stops listening', async () => {
    const engine = engineWith({ threads: 1, http: { port: 0 } });
    await engine.ready();
    const { url } = engine.httpAddress!;
    const started = nextEvent(engine, (e) => e.type === 'task_started');
    const running = engine.tasks.executeTask({ module: 'core', action: 'sleep', parameters: { ms: 60_000 } });
    const { data } = (await started) as { data: { taskId: string } };
    const stopping = engine.shutdown({ graceMs: 60_000 });
    const ready = await get(engine, '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({
      status: 'draining',
      state: 'draining',
      checks: { engine: { ok: false, detail: 'draining' } },
    });
    expect((await get(engine, '/healthz')).status).toBe(200);
    await engine.tasks.cancelTask(data.taskId);
    await running;
    await stopping;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('refuses unknown paths and methods', async () => {
    const engine = engineWith({ threads: 1, http: { port: 0 } });
    await engine.ready();
    const missing = await get(engine, '/nope');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({
      error: 'no route /nope; try /metrics, /healthz or /readyz, the console at /, or the API under /api/v1/',
    });
    const post = await fetch(`${engine.httpAddress!.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers /metrics 404 when metrics are turned off, and still serves health', async () => {
    const engine = engineWith({ threads: 1, http: { port: 0 }, metrics: { enabled: false } });
    await engine.ready();
    const res = await get(engine, '/metrics');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ error: 'metrics are turned off for this engine (metrics.enabled: false)' });
    expect((await get(engine, '/readyz')).status).toBe(200);
  });

  it('fails the engine with a message naming the option when the port is taken', async () => {
    const first = engineWith({ threads: 1, http: { port: 0 } });
    await first.ready();
    const port = first.httpAddress!.port;
    const second = engineWith({ threads: 1, http: { port } });
    await expect(second.ready()).rejects.toThrow(
      `http: cannot listen on 127.0.0.1:${port}: EADDRINUSE (the port is in use: set http.port, or 0 for a free one)`,
    );
    expect(second.state).toBe('failed');
    expect(second.httpAddress).toBeNull();
  });
});
