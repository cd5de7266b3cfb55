/**
 * forEach fan-out and re-runs from a step, on real worker threads and a real SQLite file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine, WorkflowManagerClient } from '../../src/index.js';
import { ValidationError } from '../../src/index.js';
import { nextEvent, recordEvents, testEngine } from '../helpers.js';

describe('forEach', () => {
  let dir: string;
  let engine: OrchestrationEngine;
  let wf: WorkflowManagerClient;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cmx-foreach-'));
    engine = testEngine({ store: 'sqlite', dbPath: join(dir, 'state.db'), maxForEachItems: 50 });
    wf = engine.getWorkflowManager();
  });
  afterAll(async () => {
    await engine.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs one task per item of an upstream output, outputs in input order, items listed in the run', async () => {
    await wf.defineWorkflow({
      name: 'fan',
      steps: [
        {
          name: 'list',
          module: 'core',
          action: 'echo',
          parameters: {
            files: [
              { path: 'a', ms: 60 },
              { path: 'b', ms: 0 },
              { path: 'c', ms: 30 },
              { path: 'd', ms: 0 },
            ],
          },
        },
        {
          name: 'each',
          forEach: '{{list.output.files}}',
          module: 'core',
          action: 'sleep',
          parameters: { ms: '{{item.ms}}', value: { path: '{{item.path}}', i: '{{index}}' } },
          dependencies: ['list'],
        },
        {
          name: 'third',
          module: 'core',
          action: 'echo',
          parameters: { v: '{{each.output[2].path}}' },
          dependencies: ['each'],
        },
      ],
    });
    const events = recordEvents(engine);
    const r = await wf.executeWorkflow('fan');
    events.stop();
    expect(r.status).toBe('succeeded');
    expect(r.steps['each']?.result).toEqual([
      { path: 'a', i: 0 },
      { path: 'b', i: 1 },
      { path: 'c', i: 2 },
      { path: 'd', i: 3 },
    ]);
    expect(r.steps['each']?.items?.map((i) => [i.index, i.status, i.taskId])).toEqual(
      [0, 1, 2, 3].map((i) => [i, 'completed', `${r.runId}.each.${i}`]),
    );
    expect(r.steps['third']?.result).toEqual({ v: 'c' });
    // Each item is its own task.
    expect(events.of('task_completed').filter((e) => e.data.taskId.startsWith(`${r.runId}.each.`))).toHaveLength(4);
  });

  it('bounds the items running at once by concurrency', async () => {
    await wf.defineWorkflow({
      name: 'bounded',
      steps: [
        {
          name: 'each',
          forEach: [1, 2, 3, 4, 5, 6],
          concurrency: 2,
          module: 'core',
          action: 'sleep',
          parameters: { ms: 20 },
        },
      ],
    });
    const events = recordEvents(engine);
    const r = await wf.executeWorkflow('bounded');
    events.stop();
    expect(r.status).toBe('succeeded');
    let running = 0;
    let most = 0;
    for (const e of events.events) {
      if (e.type === 'task_started' && e.data.taskId.startsWith(`${r.runId}.`)) most = Math.max(most, ++running);
      if (e.type === 'task_completed' && e.data.taskId.startsWith(`${r.runId}.`)) running--;
    }
    expect(most).toBe(2);
  });

  it('retries each item on its own; a failed item fails the step and skips its dependents', async () => {
    await wf.defineWorkflow({
      name: 'flaky',
      steps: [
        {
          name: 'each',
          forEach: [0, 1, 2],
          module: 'core',
          action: 'fail',
          parameters: { times: '{{item}}' },
          maxRetries: 1,
          retry: { initialDelay: 0, jitter: 0 },
        },
        { name: 'after', module: 'core', action: 'echo', dependencies: ['each'] },
      ],
    });
    const r = await wf.executeWorkflow('flaky');
    expect(r.status).toBe('failed');
    const items = r.steps['each']?.items ?? [];
    expect(items.map((i) => [i.status, i.attempts])).toEqual([
      ['completed', 1],
      ['completed', 2],
      ['failed', 2],
    ]);
    expect(r.steps['each']?.status).toBe('failed');
    expect(r.steps['each']?.error?.message).toContain('item 2 of 3 ended failed');
    expect(r.steps['after']?.status).toBe('skipped');
  });

  it('with continueOnFailure completes with null for a failed item and keeps its error in items', async () => {
    const mixed = await engine.executeComplexWorkflow({
      steps: [
        {
          name: 'each',
          forEach: [5, 0],
          continueOnFailure: true,
          maxRetries: 0,
          module: 'core',
          action: 'fail',
          parameters: { times: '{{item}}', message: 'item {{index}} broke' },
        },
      ],
    });
    expect(mixed.status).toBe('succeeded');
    expect(mixed.steps['each']?.result).toEqual([null, { attempt: 1 }]);
    expect(mixed.steps['each']?.items?.[0]?.error?.message).toBe('item 0 broke');
  });

  it('an empty list completes with []; a non-array or a list past the limit fails the step naming what it got', async () => {
    const r = await engine.executeComplexWorkflow({
      steps: [
        {
          name: 'src',
          module: 'core',
          action: 'echo',
          parameters: { none: [], obj: { a: 1 }, many: Array.from({ length: 51 }, (_, i) => i) },
        },
        { name: 'empty', forEach: '{{src.output.none}}', module: 'core', action: 'echo', dependencies: ['src'] },
        { name: 'object', forEach: '{{src.output.obj}}', module: 'core', action: 'echo', dependencies: ['src'] },
        { name: 'many', forEach: '{{src.output.many}}', module: 'core', action: 'echo', dependencies: ['src'] },
      ],
    });
    expect(r.steps['empty']).toMatchObject({ status: 'completed', result: [], items: [] });
    expect(r.steps['object']?.status).toBe('failed');
    expect(r.steps['object']?.error?.message).toContain('step "object".forEach: must resolve to an array, got object');
    expect(r.steps['many']?.error?.message).toContain('51 items is more than the limit of 50');
    await wf.defineWorkflow({
      name: 'literal42',
      steps: [
        { name: 'src', module: 'core', action: 'echo', parameters: { n: 42 } },
        { name: 'x', forEach: '{{src.output.n}}', module: 'core', action: 'echo', dependencies: ['src'] },
      ],
    });
    const n = await wf.executeWorkflow('literal42');
    expect(n.steps['x']?.error?.message).toContain('got number (42)');
  });

  it('refuses {{item}} outside a forEach step and a forEach that is not one template, listing every problem', async () => {
    const err = await wf
      .defineWorkflow({
        name: 'bad-fan',
        steps: [
          { name: 'a', module: 'core', action: 'echo', parameters: { x: '{{item.path}}' } },
          { name: 'b', forEach: 'files: {{a.output}}', module: 'core', action: 'echo', dependencies: ['a'] },
          { name: 'c', concurrency: 2, module: 'core', action: 'echo' },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const issues = (err as ValidationError).issues;
    expect(
      issues.some(
        (i) => i.includes('step "a"') && i.includes('{{item.path}} reads the current item of a forEach step'),
      ),
    ).toBe(true);
    expect(issues.some((i) => i.includes('step "b".forEach: must be one {{template}}'))).toBe(true);
    expect(issues.some((i) => i.includes('step "c".concurrency: applies to forEach steps only'))).toBe(true);
    expect(await wf.getWorkflow('bad-fan')).toBeNull();
  });

  it('cancelling the run cancels the items still queued or running', async () => {
    await wf.defineWorkflow({
      name: 'long-fan',
      steps: [
        {
          name: 'each',
          forEach: [1, 2, 3, 4],
          concurrency: 2,
          module: 'core',
          action: 'sleep',
          parameters: { ms: 60_000 },
        },
      ],
    });
    const second = nextEvent(engine, (e) => e.type === 'task_started' && e.data.name === 'each.1');
    const runId = await wf.startWorkflow('long-fan');
    await second;
    await wf.cancelRun(runId);
    const r = await wf.waitForRun(runId);
    expect(r.status).toBe('cancelled');
    expect(r.steps['each']?.items?.map((i) => i.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
  });
});

describe('retryRun', () => {
  let dir: string;
  let engine: OrchestrationEngine;
  let wf: WorkflowManagerClient;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cmx-retry-'));
    engine = testEngine({ store: 'sqlite', dbPath: join(dir, 'state.db') });
    wf = engine.getWorkflowManager();
    await wf.defineWorkflow({
      name: 'etl',
      steps: [
        { name: 'extract', module: 'core', action: 'echo', parameters: { rows: 3 } },
        { name: 'side', module: 'core', action: 'echo', parameters: { side: true } },
        { name: 'load', module: 'core', action: 'fail', maxRetries: 0, dependencies: ['extract'] },
        {
          name: 'report',
          module: 'core',
          action: 'echo',
          parameters: { n: '{{extract.output.rows}}' },
          dependencies: ['load', 'extract'],
        },
      ],
    });
  });
  afterAll(async () => {
    await engine.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it('re-runs the failed steps, keeping the outputs of the ones that completed', async () => {
    const first = await engine.executeComplexWorkflow({
      steps: [
        { name: 'a', module: 'core', action: 'echo', parameters: { v: 1 } },
        { name: 'b', module: 'core', action: 'fail', parameters: { retryable: false }, dependencies: ['a'] },
        { name: 'c', module: 'core', action: 'echo', parameters: { a: '{{a.output.v}}' }, dependencies: ['b', 'a'] },
      ],
    });
    expect(first.status).toBe('failed');
    const again = await engine.retryRun(first.runId);
    expect(again.runId).not.toBe(first.runId);
    expect(again.steps['a']).toMatchObject({
      status: 'completed',
      reused: true,
      reusedFrom: first.runId,
      result: { v: 1 },
    });
    expect(again.steps['b']?.reused).toBeUndefined();
    expect(again.steps['b']?.status).toBe('failed');
    expect((await wf.getRun(again.runId))?.retryOf).toBe(first.runId);
  });

  it('from a step: that step and everything downstream run again, upstream outputs are kept', async () => {
    const first = await wf.executeWorkflow('etl');
    expect(first.status).toBe('failed');
    const events = recordEvents(engine);
    const again = await wf.retryRun(first.runId, { fromStep: 'extract' });
    events.stop();
    expect(again.steps['side']).toMatchObject({ reused: true, reusedFrom: first.runId });
    expect(again.steps['extract']?.reused).toBeUndefined();
    const ran = events.of('task_started').map((e) => e.data.name);
    expect(ran).toContain('extract');
    expect(ran).not.toContain('side');
  });

  it('refuses a run still running, an unknown run and an unknown step', async () => {
    await wf.defineWorkflow({
      name: 'slow',
      steps: [{ name: 'nap', module: 'core', action: 'sleep', parameters: { ms: 60_000 } }],
    });
    const runId = await wf.startWorkflow('slow');
    await expect(wf.retryRun(runId)).rejects.toThrow(/still running/);
    await wf.cancelRun(runId);
    await wf.waitForRun(runId);
    await expect(wf.retryRun(runId, { fromStep: 'nip' })).rejects.toThrow(/no step "nip" \(did you mean "nap"\?\)/);
    await expect(wf.retryRun('nope')).rejects.toThrow(/no workflow run with id "nope"/);
  });
});
