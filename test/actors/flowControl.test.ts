/**
 * Flow control through the engine: concurrency keys from templates, explainTask naming the key and its holders,
 * idempotency keys answering with the first task, rate limits created, listed, used and deleted, bad input refused
 * naming the field, and (with a SQLite store) keys, limits and deduplication surviving a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OrchestrationEngine, ValidationError } from '../../src/index.js';
import { FakeClock } from '../support/fakeClock.js';
import { nextEvent, testEngine } from '../helpers.js';

const engines: OrchestrationEngine[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const e of engines) await e.shutdown({ graceMs: 500 });
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function engine(options: Parameters<typeof testEngine>[0] = {}): OrchestrationEngine {
  const e = testEngine({ store: 'memory', maxConcurrency: 4, ...options });
  engines.push(e);
  return e;
}

describe('concurrency keys', () => {
  it('runs at most `limit` tasks of a key at once, explains the wait by key and holders, and others go meanwhile', async () => {
    const e = engine();
    await e.ready();
    const started: string[] = [];
    e.registerEventHandler('task_started', (_, d) => void started.push(d.taskId));
    const [a1, a2, b1] = await e.tasks.addTasks([
      {
        id: 'a1',
        module: 'core',
        action: 'sleep',
        parameters: { ms: 300 },
        metadata: { tenant: 'acme' },
        concurrency: { key: '{{metadata.tenant}}', limit: 1 },
      },
      {
        id: 'a2',
        module: 'core',
        action: 'noop',
        parameters: { tenant: 'acme' },
        concurrency: { key: '{{params.tenant}}', limit: 1 },
      },
      {
        id: 'b1',
        module: 'core',
        action: 'noop',
        parameters: { tenant: 'globex' },
        concurrency: { key: '{{params.tenant}}', limit: 1 },
      },
    ]);
    const a2Waits = nextEvent(e, (ev) => ev.type === 'task_completed' && ev.data.taskId === 'b1');
    void e.tasks.startExecution();
    await a2Waits;
    const why = await e.explainTask(a2!);
    expect(why.waitingOn).toMatchObject({ kind: 'concurrency_key', key: 'acme', limit: 1, running: 1, holders: [a1] });
    expect(why.summary).toContain('waits for concurrency key "acme" (1 of 1 running');
    const status = (await e.getSystemStatus()) as { flow?: { busiestKeys: { key: string }[] } };
    expect(status.flow?.busiestKeys[0]).toMatchObject({ key: 'acme', running: 1, waiting: 1 });
    // The rule is the key as its holder wrote it.
    expect(await e.metrics!.expose()).toContain('codomyrmex_concurrency_waiting{rule="{{metadata.tenant}}"} 1');
    expect((await e.tasks.waitForTask(a2!)).status).toBe('completed');
    expect(started.indexOf(b1!)).toBeLessThan(started.indexOf(a2!));
  });

  it('refuses a limit below 1, a key that resolves to an object or to nothing, and a key past 256 characters, naming the field', async () => {
    const e = engine();
    const refused = async (task: Record<string, unknown>): Promise<string> => {
      const err = await e.tasks.addTask({ module: 'core', action: 'noop', ...task }).then(
        () => null,
        (x: unknown) => x,
      );
      expect(err).toBeInstanceOf(ValidationError);
      return (err as Error).message;
    };
    expect(await refused({ concurrency: { key: 'k', limit: 0 } })).toMatch(/concurrency\.limit: must be at least 1/);
    expect(await refused({ parameters: { t: { a: 1 } }, concurrency: { key: '{{params.t}}', limit: 1 } })).toMatch(
      /concurrency\.key: "\{\{params\.t\}\}" resolves to an object/,
    );
    expect(
      await refused({
        concurrency: [
          { key: 'x', limit: 1 },
          { key: '{{params.missing}}', limit: 1 },
        ],
      }),
    ).toMatch(/concurrency\[1\]\.key: "\{\{params\.missing\}\}" resolves to nothing/);
    expect(
      await refused({ parameters: { t: 'x'.repeat(300) }, concurrency: { key: '{{params.t}}', limit: 1 } }),
    ).toMatch(/resolves to 300 characters; a key must be at most 256/);
    expect(await e.tasks.listTasks()).toHaveLength(0);
  });

  it('uses a number key as text', async () => {
    const e = engine();
    const id = await e.tasks.addTask({
      module: 'core',
      action: 'noop',
      parameters: { repo: 42 },
      concurrency: { key: 'repo-{{params.repo}}', limit: 1 },
    });
    expect(
      await e.tasks.executeTask({
        module: 'core',
        action: 'noop',
        parameters: { repo: 42 },
        concurrency: { key: '{{params.repo}}', limit: 1 },
      }),
    ).toMatchObject({ status: 'completed' });
    expect((await e.tasks.waitForTask(id)).status).toBe('completed');
  });
});

describe('concurrency keys on workflow steps', () => {
  it('resolves a step key against the run parameters: steps of one key take turns', async () => {
    const e = engine();
    await e.workflows.createWorkflow(
      'per-repo',
      ['a', 'b', 'c'].map((name) => ({
        name,
        module: 'core',
        action: 'sleep',
        parameters: { ms: 60 },
        concurrency: { key: 'repo-{{params.repo}}', limit: 1 },
      })),
    );
    const overlap = { running: 0, peak: 0 };
    e.registerEventHandler('task_started', () => void (overlap.peak = Math.max(overlap.peak, ++overlap.running)));
    e.registerEventHandler('task_completed', () => void overlap.running--);
    const runId = await e.workflows.startWorkflow('per-repo', { repo: 'api' });
    // Once the first step ended, one runs and the third waits for the key.
    await nextEvent(e, (ev) => ev.type === 'task_completed' && ev.data.taskId.startsWith(runId));
    const keyed = await Promise.all(
      ['a', 'b', 'c'].map((step) => e.explainTask(`${runId}.${step}`).then((x) => x.waitingOn)),
    );
    const result = await e.workflows.waitForRun(runId);
    expect(result.success).toBe(true);
    expect(overlap.peak).toBe(1);
    expect(keyed).toContainEqual(expect.objectContaining({ kind: 'concurrency_key', key: 'repo-api', limit: 1 }));
  });
});

describe('idempotency keys', () => {
  it('answers a second submission with the first task id and result, across calls and within one', async () => {
    const e = engine();
    const first = await e.tasks.executeTask({
      module: 'core',
      action: 'echo',
      parameters: { value: 1 },
      idempotencyKey: 'order-7',
    });
    const again = await e.tasks.executeTask({
      module: 'core',
      action: 'echo',
      parameters: { value: 2 },
      idempotencyKey: 'order-7',
    });
    expect(again).toEqual(first);
    const ids = await e.tasks.addTasks([
      { module: 'core', action: 'noop', idempotencyKey: 'x' },
      { module: 'core', action: 'noop', idempotencyKey: 'x' },
      { module: 'core', action: 'noop', idempotencyKey: 'order-7' },
    ]);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).toBe(first.taskId);
    expect((await e.tasks.flowStatus()).deduplicated).toBe(3);
    expect(await e.metrics!.expose()).toContain('codomyrmex_deduplicated_total 3');
  });

  it('frees a key after idempotencyTtlSeconds', async () => {
    // The key's age is read off the engine's clock: a fake one moves past the TTL when the test says.
    const clock = new FakeClock(Date.now());
    const e = new OrchestrationEngine(
      { store: 'memory', threads: 1, workflowDirs: [], idempotencyTtlSeconds: 0.05 },
      {},
      { clock },
    );
    engines.push(e);
    const a = await e.tasks.executeTask({ module: 'core', action: 'noop', idempotencyKey: 'k' });
    clock.advance(49);
    const again = await e.tasks.executeTask({ module: 'core', action: 'noop', idempotencyKey: 'k' });
    expect(again.taskId).toBe(a.taskId);
    clock.advance(2);
    const b = await e.tasks.executeTask({ module: 'core', action: 'noop', idempotencyKey: 'k' });
    expect(b.taskId).not.toBe(a.taskId);
  });
});

describe('rate limits', () => {
  it('creates, lists, spends, waits without a slot, explains, and deletes a limit', async () => {
    const e = engine();
    const view = await e.createRateLimit({ name: 'api', limit: 2, per: '1h' });
    expect(view).toMatchObject({ name: 'api', limit: 2, per: '1h', perMs: 3_600_000 });
    const ids = await e.tasks.addTasks(
      [1, 2, 3].map((i) => ({ id: `r${i}`, module: 'core', action: 'noop', rateLimit: { name: 'api', key: 'tok-1' } })),
    );
    const other = await e.tasks.addTask({ module: 'core', action: 'noop' });
    void e.tasks.startExecution();
    await e.tasks.waitForTask('r1');
    await e.tasks.waitForTask('r2');
    // The third waits for a unit, holding no slot: a task without the limit runs.
    expect((await e.tasks.waitForTask(other)).status).toBe('completed');
    const why = await e.explainTask(ids[2]!);
    expect(why.waitingOn).toMatchObject({
      kind: 'rate_limit',
      name: 'api',
      key: 'tok-1',
      units: 1,
      spent: 2,
      limit: 2,
      per: '1h',
    });
    expect(why.summary).toContain('waits for rate limit "api" (key "tok-1"): 2 of 2 per 1h spent');
    const [listed] = await e.listRateLimits();
    expect(listed).toMatchObject({ name: 'api', keys: 1, busiest: [{ key: 'tok-1', spent: 2, waiting: 1 }] });
    const metrics = await e.metrics!.expose();
    expect(metrics).toContain('codomyrmex_ratelimit_waits_total{limit="api"} 1');
    expect(await e.deleteRateLimit('api')).toEqual({ name: 'api', deleted: true });
    expect((await e.tasks.waitForTask(ids[2]!)).status).toBe('completed');
  });

  it('refuses a bad limit and an unknown name at submission, with a did-you-mean', async () => {
    const e = engine();
    await expect(e.createRateLimit({ name: 'api', limit: 0, per: '1m' })).rejects.toThrow(
      /rateLimit\.limit: must be a whole number of at least 1/,
    );
    await expect(e.createRateLimit({ name: 'api', limit: 5, per: 'soon' })).rejects.toThrow(
      /rateLimit\.per: must be a duration like "1s"/,
    );
    await e.createRateLimit({ name: 'github-api', limit: 5, per: '1m' });
    await expect(
      e.tasks.addTask({ module: 'core', action: 'noop', rateLimit: { name: 'github-apj' } }),
    ).rejects.toThrow(/rateLimit\.name: no rate limit "github-apj" \(did you mean "github-api"\?\)/);
    await expect(
      e.tasks.addTask({ module: 'core', action: 'noop', rateLimit: { name: 'github-api', units: 6 } }),
    ).rejects.toThrow(/6 units can never fit rate limit "github-api" \(5 per 1m\)/);
  });
});

describe('with a SQLite store', () => {
  it('keeps rate limits, idempotency keys and the keys of unfinished tasks across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'codomyrmex-flow-'));
    dirs.push(dir);
    const path = join(dir, 'state.db');
    const first = testEngine({ store: 'sqlite', dbPath: path, maxConcurrency: 4 });
    await first.createRateLimit({ name: 'api', limit: 10, per: '1m' });
    const done = await first.tasks.executeTask({
      module: 'core',
      action: 'echo',
      parameters: { value: 'once' },
      idempotencyKey: 'job-1',
    });
    // Two tasks of one key, limit 1: left unfinished for the next engine.
    await first.tasks.addTasks([
      { id: 'k1', module: 'core', action: 'sleep', parameters: { ms: 200 }, concurrency: { key: 'repo', limit: 1 } },
      { id: 'k2', module: 'core', action: 'sleep', parameters: { ms: 200 }, concurrency: { key: 'repo', limit: 1 } },
    ]);
    await first.shutdown({ graceMs: 100 });

    const second = testEngine({ store: 'sqlite', dbPath: path, maxConcurrency: 4 });
    engines.push(second);
    // Execution was on when the first engine stopped: the second runs k1 and k2 as soon as it has recovered them.
    const overlap = { running: 0, peak: 0 };
    second.registerEventHandler('task_started', (_, d) => {
      if (d.taskId === 'k1' || d.taskId === 'k2') overlap.peak = Math.max(overlap.peak, ++overlap.running);
    });
    second.registerEventHandler('task_completed', (_, d) => {
      if (d.taskId === 'k1' || d.taskId === 'k2') overlap.running--;
    });
    await second.ready();
    expect((await second.listRateLimits()).map((l) => l.name)).toEqual(['api']);
    const again = await second.tasks.executeTask({
      module: 'core',
      action: 'echo',
      parameters: { value: 'twice' },
      idempotencyKey: 'job-1',
    });
    expect(again).toMatchObject({ taskId: done.taskId, result: 'once' });
    void second.tasks.startExecution();
    expect((await second.tasks.waitForTask('k1')).status).toBe('completed');
    expect((await second.tasks.waitForTask('k2')).status).toBe('completed');
    expect(overlap.peak).toBe(1);
  });
});
