/**
 * An OTLP endpoint nobody listens on: tasks still succeed, the spans an export could not deliver are counted in
 * `codomyrmex_trace_spans_dropped_total`, and the engine says so with one `component_error` event, not one per export.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { recordEvents, testEngine } from '../helpers.js';
import { parseExposition, pollUntil, sample } from '../metrics/support.js';

/** A loopback port that was free a moment ago and has nothing listening on it now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const ENV = { OTEL_BSP_SCHEDULE_DELAY: '20', OTEL_EXPORTER_OTLP_TIMEOUT: '300' } as const;

describe('an unreachable OTLP endpoint', () => {
  let engine: OrchestrationEngine;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    // Export 20 ms after a span ends and give up on a failed export after 300 ms (the defaults are 5 s and 10 s).
    for (const [k, v] of Object.entries(ENV)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    engine = testEngine({
      threads: 1,
      metrics: { processMetrics: false },
      tracing: { endpoint: `http://127.0.0.1:${await closedPort()}` },
    });
    await engine.ready();
  });
  afterAll(async () => {
    await engine?.shutdown();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const dropped = async (): Promise<number> =>
    sample(parseExposition(await engine.metrics!.expose()), 'codomyrmex_trace_spans_dropped_total');

  it('never fails a task, counts what it drops, and warns once', async () => {
    const events = recordEvents(engine);
    const first = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        engine.tasks.executeTask({ module: 'core', action: 'echo', parameters: { i } }),
      ),
    );
    expect(first.every((r) => r.success)).toBe(true);
    const afterFirst = await pollUntil('the first dropped spans', async () =>
      (await dropped()) > 0 ? dropped() : undefined,
    );

    // A second export fails too: counted, but the warning is not repeated within the minute.
    const second = await engine.tasks.executeTask({ module: 'core', action: 'echo', parameters: { again: true } });
    expect(second.success).toBe(true);
    await pollUntil('more dropped spans', async () => ((await dropped()) > afterFirst ? true : undefined));

    const warnings = events.of('component_error').filter((e) => e.data.component === 'tracing');
    events.stop();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.data.operation).toMatch(/dropped; see codomyrmex_trace_spans_dropped_total/);
  });
});
