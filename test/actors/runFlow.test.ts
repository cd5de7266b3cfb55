/**
 * Flow control of workflow runs: run-level concurrency keys with their strategies, idempotency keys on run requests,
 * and debounce; on real worker threads, SQLite files for the restarts, a fake clock for debounce windows.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine, WorkflowManagerClient } from '../../src/index.js';
import { OrchestrationEngine as Engine } from '../../src/index.js';
import { FakeClock } from '../support/fakeClock.js';
import { leftovers, nextEvent, testEngine } from '../helpers.js';

const { tempDir, track, cleanup } = leftovers('runflow');
afterAll(cleanup);

/** A workflow whose runs hold their key until they get the signal `go`. */
function gated(name: string, concurrency: unknown): Record<string, unknown> {
  return {
    name,
    params: { tenant: 'none' },
    concurrency,
    steps: [
      { name: 'first', module: 'core', action: 'echo', parameters: { tenant: '{{params.tenant}}' } },
      { name: 'gate', waitFor: { signal: 'go' }, dependencies: ['first'] },
    ],
  };
}

/** Resolves once the run's `gate` step waits (the run holds its keys and a step has run). */
function gateWaits(engine: OrchestrationEngine, runId: string): Promise<unknown> {
  return nextEvent(engine, (e) => e.type === 'step_waiting' && e.data.runId === runId);
}

describe('run-level concurrency keys', () => {
  let engine: OrchestrationEngine;
  let wf: WorkflowManagerClient;
  beforeAll(() => {
    engine = track(testEngine({ threads: 1 }));
    wf = engine.getWorkflowManager();
  });

  it('queue: at most `limit` runs per key; the next one waits with its reason, other keys run, and it starts when a holder ends', async () => {
    await wf.defineWorkflow(gated('per-tenant', { key: '{{params.tenant}}', limit: 1 }));
    const a1Waits = nextEvent(engine, (e) => e.type === 'step_waiting');
    const a1 = await wf.startWorkflow('per-tenant', { tenant: 'acme' });
    await a1Waits;
    const a2 = await wf.startWorkflow('per-tenant', { tenant: 'acme' });
    const bWaits = nextEvent(engine, (e) => e.type === 'step_waiting');
    const b = await wf.startWorkflow('per-tenant', { tenant: 'beta' });
    await bWaits;

    const queued = await wf.getRun(a2);
    expect(queued?.status).toBe('running');
    expect(queued?.queued).toMatchObject({ key: 'acme', limit: 1, holders: [a1], waiting: 1 });
    expect(queued?.steps['first']?.status).toBe('pending');
    expect((await wf.getRun(b))?.steps['gate']?.status).toBe('waiting');
    expect((await wf.getRun(b))?.queued).toBeUndefined();

    const a2Waits = gateWaits(engine, a2);
    await engine.signalRun(a1, 'go');
    expect((await wf.waitForRun(a1)).status).toBe('succeeded');
    await a2Waits;
    expect((await wf.getRun(a2))?.queued).toBeUndefined();
    await engine.signalRun(a2, 'go');
    await engine.signalRun(b, 'go');
    expect((await wf.waitForRun(a2)).status).toBe('succeeded');
    expect((await wf.waitForRun(b)).status).toBe('succeeded');
  });

  it('a queued run cancelled while it waits ends cancelled without running a step, and frees nothing it did not hold', async () => {
    const h1Waits = nextEvent(engine, (e) => e.type === 'step_waiting');
    const h1 = await wf.startWorkflow('per-tenant', { tenant: 'solo' });
    await h1Waits;
    const q1 = await wf.startWorkflow('per-tenant', { tenant: 'solo' });
    const q2 = await wf.startWorkflow('per-tenant', { tenant: 'solo' });
    expect((await wf.cancelRun(q1, 'not needed')).cancelled).toBe(true);
    const r = await wf.waitForRun(q1);
    expect(r.status).toBe('cancelled');
    expect(r.steps['first']?.status).toBe('cancelled');
    // q2 is next in line, still waiting for h1.
    expect((await wf.getRun(q2))?.queued).toMatchObject({ key: 'solo', holders: [h1] });
    const q2Waits = gateWaits(engine, q2);
    await engine.signalRun(h1, 'go');
    await q2Waits;
    await engine.signalRun(q2, 'go');
    expect((await wf.waitForRun(q2)).status).toBe('succeeded');
  });

  it('cancel_in_progress: a new run cancels the oldest run holding the key and starts', async () => {
    await wf.defineWorkflow(
      gated('latest-wins', { key: 'deploy-{{params.tenant}}', limit: 1, strategy: 'cancel_in_progress' }),
    );
    const oldWaits = nextEvent(engine, (e) => e.type === 'step_waiting');
    const old = await wf.startWorkflow('latest-wins', { tenant: 'acme' });
    await oldWaits;
    const newWaits = nextEvent(engine, (e) => e.type === 'step_waiting');
    const fresh = await wf.startWorkflow('latest-wins', { tenant: 'acme' });
    const ended = await wf.waitForRun(old);
    expect(ended.status).toBe('cancelled');
    expect(ended.error?.message).toContain(`cancelled by run ${fresh}`);
    expect(ended.error?.message).toContain('cancel_in_progress');
    await newWaits;
    await engine.signalRun(fresh, 'go');
    expect((await wf.waitForRun(fresh)).status).toBe('succeeded');
  });

  it('cancel_newest: a new run at a full key is itself cancelled, naming the key', async () => {
    await wf.defineWorkflow(gated('first-wins', { key: '{{params.tenant}}', limit: 1, strategy: 'cancel_newest' }));
    const holderWaits = nextEvent(engine, (e) => e.type === 'step_waiting');
    const holder = await wf.startWorkflow('first-wins', { tenant: 'acme' });
    await holderWaits;
    const late = await wf.waitForRun(await wf.startWorkflow('first-wins', { tenant: 'acme' }));
    expect(late.status).toBe('cancelled');
    expect(late.error?.message).toContain('concurrency key "acme" is at its limit of 1');
    expect(late.steps['first']?.status).toBe('cancelled');
    await engine.signalRun(holder, 'go');
    expect((await wf.waitForRun(holder)).status).toBe('succeeded');
  });

  it('a child run refused by a key its ancestor holds fails the step instead of waiting forever', async () => {
    await wf.defineWorkflow({
      name: 'inner',
      concurrency: { key: 'shared', limit: 1 },
      steps: [{ name: 'x', module: 'core', action: 'echo', parameters: {} }],
    });
    await wf.defineWorkflow({
      name: 'outer',
      concurrency: { key: 'shared', limit: 1 },
      steps: [{ name: 'call', workflow: 'inner' }],
    });
    const r = await wf.executeWorkflow('outer');
    expect(r.status).toBe('failed');
    expect(JSON.stringify(r.steps['call'])).toContain('held by its ancestor run');
  });

  it('refuses bad keys naming the field: a template reading a step, a key that resolves to an object, a bad strategy, maxWait below seconds', async () => {
    await expect(wf.defineWorkflow(gated('bad-read', { key: '{{first.output.x}}', limit: 1 }))).rejects.toThrow(
      /concurrency\.key: "\{\{first\.output\.x\}\}" cannot be resolved/,
    );
    await expect(wf.defineWorkflow(gated('bad-strategy', { key: 'k', limit: 1, strategy: 'newest' }))).rejects.toThrow(
      /concurrency.*strategy.*must be one of queue, cancel_in_progress, cancel_newest/s,
    );
    await expect(wf.defineWorkflow(gated('bad-limit', { key: 'k', limit: 0 }))).rejects.toThrow(/limit.*at least 1/s);
    await expect(
      wf.defineWorkflow({
        ...gated('bad-debounce', undefined),
        debounce: { key: 'k', seconds: 10, maxWaitSeconds: 5 },
      }),
    ).rejects.toThrow(/maxWaitSeconds must be at least seconds/);
    await expect(wf.startWorkflow('per-tenant', { tenant: { id: 1 } })).rejects.toThrow(
      /concurrency\.key: "\{\{params\.tenant\}\}" resolves to an object/,
    );
    expect(
      (await wf.listRuns({ workflowName: 'per-tenant' })).every(
        (r) => r.params['tenant'] !== undefined && typeof r.params['tenant'] === 'string',
      ),
    ).toBe(true);
  });
});

describe('idempotency keys on runs', () => {
  it('a request with a key used within the TTL answers the first run (its id, its result), across a restart', async () => {
    const db = join(await tempDir(), 'state.db');
    const first = track(testEngine({ store: 'sqlite', dbPath: db, threads: 1, durability: 'strict' }));
    const wf = first.getWorkflowManager();
    await wf.defineWorkflow({
      name: 'charge',
      steps: [{ name: 'pay', module: 'core', action: 'echo', parameters: { n: '{{params.n}}' } }],
    });
    const a = await wf.startWorkflow('charge', { n: 1 }, { idempotencyKey: 'order-42' });
    const b = await wf.startWorkflow('charge', { n: 2 }, { idempotencyKey: 'order-42' });
    expect(b).toBe(a);
    const r = await first.executeWorkflow('charge', { params: { n: 3 }, idempotencyKey: 'order-42' });
    expect(r.runId).toBe(a);
    expect(r.steps['pay']?.result).toEqual({ n: 1 });
    const other = await wf.startWorkflow('charge', { n: 4 }, { idempotencyKey: 'order-43' });
    expect(other).not.toBe(a);
    expect((await wf.listRuns({ workflowName: 'charge' })).length).toBe(2);
    await first.shutdown();

    const second = track(testEngine({ store: 'sqlite', dbPath: db, threads: 1 }));
    const again = await second.executeWorkflow('charge', { params: { n: 5 }, idempotencyKey: 'order-42' });
    expect(again.runId).toBe(a);
    expect(again.steps['pay']?.result).toEqual({ n: 1 });
    expect((await second.getWorkflowManager().listRuns({ workflowName: 'charge' })).length).toBe(2);
  });
});

describe('debounce on a fake clock', () => {
  let engine: OrchestrationEngine;
  let wf: WorkflowManagerClient;
  let clock: FakeClock;
  beforeAll(async () => {
    clock = new FakeClock(Date.now());
    engine = track(new Engine({ threads: 1, workflowDirs: [], agingMs: 0 }, {}, { clock }));
    wf = engine.getWorkflowManager();
    await wf.defineWorkflow({
      name: 'reindex',
      debounce: { key: '{{params.repo}}', seconds: 30, maxWaitSeconds: 90 },
      steps: [
        {
          name: 'index',
          module: 'core',
          action: 'echo',
          parameters: { repo: '{{params.repo}}', rev: '{{params.rev}}' },
        },
      ],
    });
  });

  it('collapses submissions with one key into one run, started after the last with its parameters; other keys have their own', async () => {
    const a = await wf.startWorkflow('reindex', { repo: 'api', rev: 1 });
    clock.advance(20_000);
    const b = await wf.startWorkflow('reindex', { repo: 'api', rev: 2 });
    const other = await wf.startWorkflow('reindex', { repo: 'web', rev: 9 });
    expect(b).toBe(a);
    expect(other).not.toBe(a);
    const held = await wf.getRun(a);
    expect(held?.debounce).toMatchObject({ key: 'api', submissions: 2, until: clock.now() + 30_000 });
    expect(held?.params['rev']).toBe(2);
    expect(held?.steps['index']?.status).toBe('pending');
    clock.advance(29_000);
    expect((await wf.getRun(a))?.steps['index']?.status).toBe('pending');
    clock.advance(1_000);
    const r = await wf.waitForRun(a);
    expect(r.steps['index']?.result).toEqual({ repo: 'api', rev: 2 });
    expect((await wf.waitForRun(other)).steps['index']?.result).toEqual({ repo: 'web', rev: 9 });
    // The window closed with the run's start: the next submission is a new run.
    expect(await wf.startWorkflow('reindex', { repo: 'api', rev: 3 })).not.toBe(a);
    clock.advance(30_000);
  });

  it('maxWaitSeconds bounds how far a stream of submissions pushes the start back', async () => {
    const first = await wf.startWorkflow('reindex', { repo: 'busy', rev: 0 });
    const started = clock.now();
    for (let i = 1; i <= 8; i++) {
      clock.advance(15_000);
      const id = await wf.startWorkflow('reindex', { repo: 'busy', rev: i });
      if (clock.now() - started < 90_000) expect(id).toBe(first);
      else expect(id).not.toBe(first);
    }
    const r = await wf.waitForRun(first);
    expect(r.status).toBe('succeeded');
    // Started at first + 90 s, before the submission made then (rev 6), which opened a new window.
    expect(r.steps['index']?.result).toEqual({ repo: 'busy', rev: 5 });
    clock.advance(60_000);
  });
});

describe('held-back runs across a restart', () => {
  it('a queued run is queued again after a restart, behind the resumed holder, and starts when it ends', async () => {
    const db = join(await tempDir(), 'state.db');
    const first = track(testEngine({ store: 'sqlite', dbPath: db, threads: 1, durability: 'strict' }));
    const wf = first.getWorkflowManager();
    await wf.defineWorkflow(gated('durable-key', { key: '{{params.tenant}}', limit: 1 }));
    const holderWaits = nextEvent(first, (e) => e.type === 'step_waiting');
    const holder = await wf.startWorkflow('durable-key', { tenant: 'acme' });
    await holderWaits;
    const queued = await wf.startWorkflow('durable-key', { tenant: 'acme' });
    await first.shutdown();

    const second = track(testEngine({ store: 'sqlite', dbPath: db, threads: 1 }));
    const wf2 = second.getWorkflowManager();
    expect((await wf2.getRun(queued))?.queued).toMatchObject({ key: 'acme', holders: [holder] });
    const queuedWaits = gateWaits(second, queued);
    await second.signalRun(holder, 'go');
    expect((await wf2.waitForRun(holder)).status).toBe('succeeded');
    await queuedWaits;
    await second.signalRun(queued, 'go');
    expect((await wf2.waitForRun(queued)).status).toBe('succeeded');
  });
});
