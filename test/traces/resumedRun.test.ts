/**
 * A run resumed after a restart links to its original trace: the run's span context is stored with the run (inside
 * its record's JSON), and the span of the engine that resumes it carries a `resumed_from` link to it. Both ways an
 * engine goes away: a shutdown that leaves the run to the next engine, and a process killed mid-run.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { nextEvent, testEngine } from '../helpers.js';
import { tempDirs } from '../store/helpers.js';
import type { OtlpReceiver, ReceivedSpan } from '../support/otlp.js';
import { startOtlpReceiver } from '../support/otlp.js';

const run = promisify(execFile);
const dirs = tempDirs();
const STEPS = [
  { name: 'first', module: 'core', action: 'echo', parameters: { value: 1 } },
  { name: 'gate', waitFor: { signal: 'go' }, dependencies: ['first'] },
];

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await receiver.close();
  dirs.cleanup();
});

function traced(dbPath: string): OrchestrationEngine {
  return testEngine({ threads: 1, store: 'sqlite', dbPath, tracing: { enabled: true, endpoint: receiver.endpoint } });
}

/** Resumes the run on a second engine on the same file, lets it end, and returns its run span as exported. */
async function resumeAndEnd(
  dbPath: string,
  runId: string,
): Promise<{ span: ReceivedSpan; runSpan: string | undefined }> {
  const engine = traced(dbPath);
  try {
    await engine.ready();
    expect((await engine.workflows.signalRun(runId, 'go')).delivered).toBe(true);
    expect((await engine.workflows.waitForRun(runId)).status).toBe('succeeded');
    const stored = await engine.workflows.getRun(runId);
    await engine.shutdown();
    const isResumed = (s: ReceivedSpan): boolean =>
      s.name === 'run resumable' &&
      s.attributes['codomyrmex.run_id'] === runId &&
      s.attributes['codomyrmex.resumed'] === true;
    const spans = await receiver.waitFor((all) => all.some(isResumed), 'the resumed run span');
    return { span: spans.find(isResumed)!, runSpan: stored?.runSpan };
  } finally {
    await engine.shutdown();
  }
}

describe('a run resumed after a restart', () => {
  it('links its new span to the run span of the engine that stopped under it', async () => {
    const dbPath = join(dirs.make('resumed'), 'state.db');
    const first = traced(dbPath);
    await first.ready();
    await first.workflows.createWorkflow('resumable', STEPS);
    const waiting = nextEvent(first, (e) => e.type === 'step_waiting');
    const runId = await first.workflows.startWorkflow('resumable');
    await waiting;
    const traceId = first.tracing!.traceIdOfRun(runId);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    // A durable store: the run stays running on disk, and its span ends as left running.
    await first.shutdown();
    const isOriginal = (s: ReceivedSpan): boolean =>
      s.name === 'run resumable' &&
      s.attributes['codomyrmex.run_id'] === runId &&
      s.attributes['codomyrmex.left_running'] === true;
    const original = (await receiver.waitFor((all) => all.some(isOriginal), 'the original run span')).find(isOriginal)!;
    expect(original.traceId).toBe(traceId);

    const { span, runSpan } = await resumeAndEnd(dbPath, runId);
    expect(span.traceId).not.toBe(traceId); // a root run: a new trace, linked to the first
    expect(span.links).toEqual([{ traceId, spanId: original.spanId }]);
    expect(runSpan).toBe(`00-${traceId}-${original.spanId}-01`);
  }, 60_000);

  it('links to the trace of a process killed mid-run, from what its store kept', async () => {
    const dir = dirs.make('killed');
    const dbPath = join(dir, 'state.db');
    const entry = pathToFileURL(resolve('dist/src/index.js')).href;
    // The first engine in a child process: it starts the run, waits until the waiting step is on disk, prints the
    // run's trace id, and is killed (its spans are never exported).
    writeFileSync(
      join(dir, 'crash.mjs'),
      `import { createOrchestrationEngine } from ${JSON.stringify(entry)};
const engine = createOrchestrationEngine({ threads: 1, workflowDirs: [], store: 'sqlite', dbPath: ${JSON.stringify(dbPath)}, tracing: { enabled: true, endpoint: 'http://127.0.0.1:9' } });
await engine.ready();
await engine.workflows.createWorkflow('resumable', ${JSON.stringify(STEPS)});
const waiting = new Promise((ok) => engine.registerEventHandler('step_waiting', ok));
const runId = await engine.workflows.startWorkflow('resumable');
await waiting;
await engine.commits.afterCommit(null);
console.log(JSON.stringify({ runId, traceId: engine.tracing.traceIdOfRun(runId) }));
process.kill(process.pid, 'SIGKILL');
`,
    );
    const out = await run(process.execPath, ['crash.mjs'], { cwd: dir, timeout: 60_000 }).then(
      () => {
        throw new Error('the child was to be killed');
      },
      (err: { signal?: string; stdout?: string }) => {
        expect(err.signal).toBe('SIGKILL');
        return JSON.parse((err.stdout ?? '').trim().split('\n').pop() ?? '{}') as { runId: string; traceId: string };
      },
    );
    expect(out.traceId).toMatch(/^[0-9a-f]{32}$/);
    const { span, runSpan } = await resumeAndEnd(dbPath, out.runId);
    expect(span.links.map((l) => l.traceId)).toEqual([out.traceId]);
    expect(runSpan?.split('-')[1]).toBe(out.traceId);
  }, 90_000);
});
