/**
 * Tracing off costs nothing: an engine that does not trace loads no `@opentelemetry` module of its own, neither in
 * its own thread nor in its worker threads. (prom-client, which every engine loads for its metrics, requires
 * `@opentelemetry/api` itself, for exemplars of its own: the API package, in the engine's thread only; no SDK.) A
 * child process (a user's script: no `OTEL_*` variable, no tracing option) runs
 * a workflow and tasks on the built engine, then reads its CommonJS module cache, and an action reads its worker
 * thread's. Every `@opentelemetry` package is CommonJS, so however one is reached (`import` or `require`) it lands
 * in the cache of the thread that loaded it. The same probe with tracing on sees the SDK in both places.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../store/helpers.js';

const run = promisify(execFile);
const dirs = tempDirs();
afterAll(() => dirs.cleanup());
const entry = pathToFileURL(resolve('dist/src/index.js')).href;
const modules = resolve('dist/test/fixtures/loadedModules');

const SCRIPT = `
import { createRequire } from 'node:module';
import { createOrchestrationEngine } from ${JSON.stringify(entry)};
const tracing = process.env.TRACE === '1' ? { tracing: { enabled: true, endpoint: 'http://127.0.0.1:9' } } : {};
const engine = createOrchestrationEngine({ threads: 2, store: 'memory', workflowDirs: [], moduleDirs: [${JSON.stringify(modules)}], ...tracing });
await engine.ready();
await engine.workflows.createWorkflow('w', [{ name: 'a', module: 'core', action: 'echo', parameters: { x: 1 } }, { name: 'b', module: 'core', action: 'noop', parameters: {}, dependencies: ['a'] }]);
const run = await engine.workflows.executeWorkflow('w');
const probes = await Promise.all([1, 2, 3, 4].map(() => engine.tasks.executeTask({ module: 'loaded', action: 'otel', parameters: {} })));
const cache = createRequire(import.meta.url).cache;
const main = Object.keys(cache).filter((path) => path.includes('/@opentelemetry/'));
const apiEntry = main.find((path) => path.endsWith('/@opentelemetry/api/build/src/index.js'));
const apiLoadedBy = apiEntry === undefined ? null : (cache[apiEntry]?.parent?.id ?? null);
console.log(JSON.stringify({ ok: run.success && probes.every((p) => p.success), traced: engine.tracing !== null, main, apiLoadedBy, threads: probes.map((p) => p.result) }));
await engine.shutdown();
`;

interface Probe {
  ok: boolean;
  traced: boolean;
  /** The @opentelemetry modules in the engine's thread. */
  main: string[];
  /** The module that first required `@opentelemetry/api` in the engine's thread, if any. */
  apiLoadedBy: string | null;
  /** Each probe task's thread and the @opentelemetry modules in it. */
  threads: { threadId: number; otel: string[] }[];
}

/** Runs the script with tracing on or off (no `OTEL_*` variable inherited; on, the export to nowhere gives up soon). */
async function probe(trace: boolean): Promise<Probe> {
  const dir = dirs.make('otel-off');
  writeFileSync(join(dir, 'script.mjs'), SCRIPT);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTEL_')) env[k] = v;
  const { stdout } = await run(process.execPath, ['script.mjs'], {
    cwd: dir,
    timeout: 60_000,
    env: {
      ...env,
      TRACE: trace ? '1' : '0',
      CODOMYRMEX_STORE: '',
      ...(trace ? { OTEL_EXPORTER_OTLP_TIMEOUT: '200' } : {}),
    },
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Probe;
}

describe('tracing off (the default)', () => {
  it('loads no @opentelemetry module in the engine or its worker threads', async () => {
    const out = await probe(false);
    expect(out).toMatchObject({ ok: true, traced: false });
    // In the engine's thread: only the API package, and prom-client is what required it.
    expect(out.main.filter((p) => !p.includes('/@opentelemetry/api/'))).toEqual([]);
    if (out.main.length > 0) expect(out.apiLoadedBy).toMatch(/\/node_modules\/prom-client\//);
    // In the worker threads: nothing at all.
    expect(out.threads.length).toBe(4);
    for (const t of out.threads) expect(t.otel).toEqual([]);
  }, 90_000);

  it('(the same probe with tracing on sees the SDK in the engine and in its threads)', async () => {
    const out = await probe(true);
    expect(out).toMatchObject({ ok: true, traced: true });
    expect(out.main.some((p) => p.includes('/@opentelemetry/sdk-trace-base/'))).toBe(true);
    for (const t of out.threads) expect(t.otel.some((p) => p.includes('/@opentelemetry/api/'))).toBe(true);
  }, 90_000);
});
