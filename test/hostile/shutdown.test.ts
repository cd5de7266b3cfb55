/**
 * Issue 16 item 7: a durable shutdown never tells a workflow caller "failed" for a run that is kept and resumes
 * after restart: the caller is rejected with a ShuttingDownError saying the run was left for later, and the next
 * engine on the store finishes the run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ShuttingDownError } from '../../src/errors.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { nextEvent, testEngine } from '../helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('durable shutdown and workflow callers', () => {
  it('rejects the caller with ShuttingDownError (run left for later), and the next engine finishes the run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codomyrmex-hostile-shutdown-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const dbPath = join(dir, 'state.db');
    const first: OrchestrationEngine = testEngine({ threads: 1, store: 'sqlite', dbPath, shutdownGraceMs: 0 });
    await first.workflows.createWorkflow('two_steps', [
      { name: 'slow', module: 'core', action: 'sleep', parameters: { ms: 1500, value: 'slept' } },
      {
        name: 'after',
        module: 'core',
        action: 'echo',
        parameters: { value: '{{slow.output}}' },
        dependencies: ['slow'],
      },
    ]);
    const started = nextEvent(first, (e) => e.type === 'step_started');
    const caller = first.workflows.executeWorkflow('two_steps').then(
      (r) => ({ resolved: r }),
      (e: unknown) => ({ rejected: e }),
    );
    const ev = await started;
    const runId = (ev.data as { runId: string }).runId;
    await first.shutdown();
    const outcome = await caller;
    expect(outcome).not.toHaveProperty('resolved');
    const err = (outcome as { rejected: unknown }).rejected;
    expect(err).toBeInstanceOf(ShuttingDownError);
    expect((err as Error).message).toBe(
      `the engine shut down before workflow run ${runId} ("two_steps") ended; it stays running in ${dbPath} and resumes when an engine opens that store again`,
    );

    // The kept run resumes on the next engine: its slow step runs again (at-least-once) and the run succeeds.
    const second = testEngine({ threads: 1, store: 'sqlite', dbPath });
    cleanup.push(() => second.shutdown());
    await second.ready();
    const result = await second.workflows.waitForRun(runId);
    expect(result).toMatchObject({ status: 'succeeded', runId });
    expect(result.steps['after']?.result).toBe('slept');
  });
});
