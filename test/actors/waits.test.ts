/**
 * Durable waits and signals (waitFor, sleep, sleepUntil), and sub-workflows, on real worker threads and SQLite
 * files; timeouts on a fake clock; a child process SIGKILLed while its run waits.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine, WorkflowManagerClient } from '../../src/index.js';
import { OrchestrationEngine as Engine, ValidationError } from '../../src/index.js';
import { FakeClock } from '../support/fakeClock.js';
import { leftovers, nextEvent, recordEvents, testEngine } from '../helpers.js';

const CHILD = fileURLToPath(new URL('../../dist/test/fixtures/waitChild.js', import.meta.url));
const children: ChildProcess[] = [];
const { tempDir, track, cleanup } = leftovers('waits');
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await cleanup();
});

describe('waitFor and signals', () => {
  let engine: OrchestrationEngine;
  let wf: WorkflowManagerClient;
  beforeAll(async () => {
    engine = track(testEngine({ store: 'sqlite', dbPath: join(await tempDir(), 'state.db'), threads: 1 }));
    wf = engine.getWorkflowManager();
    await wf.defineWorkflow({
      name: 'approve',
      steps: [
        { name: 'build', module: 'core', action: 'echo', parameters: { artifact: 'app.tgz' } },
        { name: 'approval', waitFor: { signal: 'approval' }, dependencies: ['build'] },
        {
          name: 'ship',
          module: 'core',
          action: 'echo',
          parameters: { by: '{{approval.output.by}}', what: '{{build.output.artifact}}' },
          dependencies: ['approval'],
        },
      ],
    });
  });

  it('a waiting step holds no thread: it is `waiting`, explainTask says for what, and the signal completes it', async () => {
    const waiting = nextEvent(engine, (e) => e.type === 'step_waiting' && e.data.step === 'approval');
    const runId = await wf.startWorkflow('approve');
    await waiting;
    const run = await wf.getRun(runId);
    expect(run?.status).toBe('running');
    expect(run?.steps['approval']).toMatchObject({ status: 'waiting', waiting: { signal: 'approval', until: null } });
    const why = await engine.explainTask(`${runId}.approval`);
    expect(why.status).toBe('waiting');
    expect(why.waitingOn).toMatchObject({ kind: 'signal', signal: 'approval' });
    expect(why.summary).toContain('waits for signal "approval"');
    // The only thread is free: a task runs while the run waits.
    expect((await engine.tasks.executeTask({ module: 'core', action: 'echo', parameters: { x: 1 } })).success).toBe(
      true,
    );
    expect(await engine.signalRun(runId, 'approval', { by: 'ana' })).toEqual({
      runId,
      signal: 'approval',
      delivered: true,
    });
    const r = await wf.waitForRun(runId);
    expect(r.status).toBe('succeeded');
    expect(r.steps['ship']?.result).toEqual({ by: 'ana', what: 'app.tgz' });
    expect(r.steps['approval']?.result).toEqual({ by: 'ana' });
  });

  it('keeps a signal sent before the step waits, and consumes it when it does', async () => {
    const events = recordEvents(engine);
    await wf.defineWorkflow({
      name: 'early',
      steps: [
        { name: 'slow', module: 'core', action: 'sleep', parameters: { ms: 150 } },
        { name: 'gate', waitFor: { signal: 'go' }, dependencies: ['slow'] },
      ],
    });
    const runId = await wf.startWorkflow('early');
    expect(await wf.signalRun(runId, 'go', 7)).toMatchObject({ delivered: false });
    const r = await wf.waitForRun(runId);
    events.stop();
    expect(r.status).toBe('succeeded');
    expect(r.steps['gate']?.result).toBe(7);
    expect(events.of('run_signaled').map((e) => e.data.delivered)).toEqual([false]);
  });

  it('refuses a signal to an ended run, a signal no step waits for, a bad name and an oversized payload', async () => {
    const ended = await engine.executeComplexWorkflow({ steps: [{ name: 'a', module: 'core', action: 'echo' }] });
    await expect(wf.signalRun(ended.runId, 'approval')).rejects.toThrow(/has ended \(succeeded\)/);
    const runId = await wf.startWorkflow('approve');
    await expect(wf.signalRun(runId, 'aproval')).rejects.toThrow(
      /no step of workflow "approve" .* waits for signal "aproval"; its steps wait for: approval/,
    );
    await expect(wf.signalRun(runId, 'no spaces')).rejects.toThrow(/signal: must be a plain name/);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { deeper: deep };
    await expect(wf.signalRun(runId, 'approval', deep)).rejects.toThrow(/payload: nested deeper than 32 levels/);
    await expect(wf.signalRun('missing', 'approval')).rejects.toThrow(/no workflow run with id "missing"/);
    await wf.cancelRun(runId);
    const r = await wf.waitForRun(runId);
    expect(r.status).toBe('cancelled');
  });

  it('sleepUntil reads a template; a time already past ends the sleep at once', async () => {
    const r = await engine.executeComplexWorkflow({
      steps: [
        { name: 'src', module: 'core', action: 'echo', parameters: { at: '2020-01-01T00:00:00Z' } },
        { name: 'till', sleepUntil: '{{src.output.at}}', dependencies: ['src'] },
      ],
    });
    expect(r.status).toBe('succeeded');
    expect(r.steps['till']).toMatchObject({ status: 'completed', result: null });
  });

  it('refuses bad wait steps at creation, every problem listed, nothing created', async () => {
    const err = await wf
      .defineWorkflow({
        name: 'bad-waits',
        steps: [
          { name: 'both', waitFor: { signal: 'x' }, module: 'core', action: 'echo' },
          { name: 'neg', sleep: -5 },
          { name: 'words', sleep: 'soon' },
          { name: 'name', waitFor: { signal: 'has space' } },
          { name: 'nothing' },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const text = (err as ValidationError).issues.join('\n');
    expect(text).toContain('step "both": waitFor cannot be combined with module/action');
    expect(text).toContain('step "neg".sleep: must be 0 or more seconds');
    expect(text).toContain('step "words".sleep: must be a number of seconds or a duration');
    expect(text).toMatch(/step "name".*waitFor\.signal.*plain name/);
    expect(text).toContain('step "nothing": say what the step does');
    expect(await wf.getWorkflow('bad-waits')).toBeNull();
  });
});

describe('timeouts and sleeps on a fake clock', () => {
  let engine: OrchestrationEngine;
  let clock: FakeClock;
  beforeAll(() => {
    clock = new FakeClock();
    engine = track(new Engine({ threads: 1, workflowDirs: [], agingMs: 0 }, {}, { clock }));
  });

  async function run(steps: Record<string, unknown>[]) {
    const waits = steps.filter((s) => 'waitFor' in s || 'sleep' in s || 'sleepUntil' in s).length;
    let seen = 0;
    const allWaiting = nextEvent(engine, (e) => e.type === 'step_waiting' && ++seen === waits);
    const done = engine.executeComplexWorkflow({ steps });
    await allWaiting;
    return done;
  }

  it('onTimeout fail ends the step timed_out (run failed); skip skips it and its dependents (run succeeds); continue completes with null', async () => {
    const failing = run([{ name: 'w', waitFor: { signal: 'ok', timeoutSeconds: 3600 } }]);
    clock.advance(3_599_000);
    await new Promise((r) => setImmediate(r));
    clock.advance(1_000);
    const f = await failing;
    expect(f.status).toBe('failed');
    expect(f.steps['w']).toMatchObject({ status: 'timed_out', error: { code: 'WAIT_TIMED_OUT' } });

    const skipping = run([
      { name: 'w', waitFor: { signal: 'ok', timeoutSeconds: 60, onTimeout: 'skip' } },
      { name: 'after', module: 'core', action: 'echo', dependencies: ['w'] },
      { name: 'other', module: 'core', action: 'echo' },
    ]);
    clock.advance(60_000);
    const s = await skipping;
    expect(s.status).toBe('succeeded');
    expect(s.steps['w']?.status).toBe('skipped');
    expect(s.steps['after']?.status).toBe('skipped');

    const going = run([
      { name: 'w', waitFor: { signal: 'ok', timeout_seconds: 60, on_timeout: 'continue' } },
      { name: 'after', module: 'core', action: 'echo', parameters: { got: '{{w.output}}' }, dependencies: ['w'] },
    ]);
    clock.advance(60_000);
    const c = await going;
    expect(c.status).toBe('succeeded');
    expect(c.steps['after']?.result).toEqual({ got: null });
  });

  it('sleep and sleepUntil complete after their time, not before', async () => {
    const until = new Date(Date.now() + 2 * 3_600_000).toISOString();
    const sleeping = run([
      { name: 'nap', sleep: '10m' },
      { name: 'till', sleepUntil: until },
    ]);
    let ended = false;
    void sleeping.then(() => (ended = true));
    clock.advance(10 * 60_000);
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(false);
    clock.advance(2 * 3_600_000);
    const r = await sleeping;
    expect(r.status).toBe('succeeded');
    expect(r.steps['nap']?.status).toBe('completed');
    expect(r.steps['till']?.status).toBe('completed');
  });
});

describe('sub-workflows', () => {
  let engine: OrchestrationEngine;
  let wf: WorkflowManagerClient;
  beforeAll(async () => {
    engine = track(testEngine({ store: 'sqlite', dbPath: join(await tempDir(), 'state.db') }));
    wf = engine.getWorkflowManager();
    await wf.defineWorkflow({
      name: 'build-and-test',
      steps: [
        { name: 'build', module: 'core', action: 'echo', parameters: { built: '{{params.target}}' } },
        { name: 'test', module: 'core', action: 'echo', parameters: { ok: true }, dependencies: ['build'] },
      ],
    });
    await wf.defineWorkflow({
      name: 'failing',
      steps: [{ name: 'boom', module: 'core', action: 'fail', parameters: { retryable: false } }],
    });
    await wf.defineWorkflow({ name: 'forever', steps: [{ name: 'wait', waitFor: { signal: 'never' } }] });
  });

  it('runs the child with the step parameters, links both ways, and outputs { runId, status, outputs }', async () => {
    await wf.defineWorkflow({
      name: 'release',
      steps: [
        { name: 'bt', workflow: 'build-and-test', parameters: { target: 'linux' } },
        {
          name: 'note',
          module: 'core',
          action: 'echo',
          parameters: { built: '{{bt.output.outputs.build.built}}' },
          dependencies: ['bt'],
        },
      ],
    });
    const r = await wf.executeWorkflow('release');
    expect(r.status).toBe('succeeded');
    const bt = r.steps['bt'];
    expect(bt?.result).toMatchObject({
      status: 'succeeded',
      outputs: { build: { built: 'linux' }, test: { ok: true } },
    });
    const childId = bt?.childRunId ?? '';
    expect((bt?.result as { runId: string }).runId).toBe(childId);
    expect(r.steps['note']?.result).toEqual({ built: 'linux' });
    const child = await wf.getRun(childId);
    expect(child).toMatchObject({
      parentRunId: r.runId,
      parentStep: 'bt',
      parentItem: null,
      depth: 2,
      workflowName: 'build-and-test',
    });
    expect(
      (await wf.listRuns({ workflowName: 'build-and-test' })).some(
        (x) => x.runId === childId && x.parentRunId === r.runId,
      ),
    ).toBe(true);
  });

  it('fails the step when the child fails; forEach starts one child per item, each knowing its item', async () => {
    const r = await engine.executeComplexWorkflow({ steps: [{ name: 'child', workflow: 'failing' }] });
    expect(r.status).toBe('failed');
    expect(r.steps['child']).toMatchObject({ status: 'failed', error: { code: 'CHILD_RUN_FAILED' } });
    const fan = await engine.executeComplexWorkflow({
      steps: [{ name: 'each', forEach: ['a', 'b'], workflow: 'build-and-test', parameters: { target: '{{item}}' } }],
    });
    expect(fan.status).toBe('succeeded');
    const items = fan.steps['each']?.items ?? [];
    expect(items.map((i) => (i.result as { outputs: { build: unknown } }).outputs.build)).toEqual([
      { built: 'a' },
      { built: 'b' },
    ]);
    const kids = await Promise.all(items.map((i) => wf.getRun(i.childRunId ?? '')));
    expect(kids.map((k) => [k?.parentRunId, k?.parentStep, k?.parentItem])).toEqual([
      [fan.runId, 'each', 0],
      [fan.runId, 'each', 1],
    ]);
  });

  it('cancelling the parent cancels its children', async () => {
    const started = nextEvent(engine, (e) => e.type === 'step_waiting' && e.data.workflowName === 'forever');
    await wf.defineWorkflow({ name: 'outer', steps: [{ name: 'inner', workflow: 'forever' }] });
    const runId = await wf.startWorkflow('outer');
    const childRun = (await started).data as { runId: string };
    await wf.cancelRun(runId);
    expect((await wf.waitForRun(runId)).status).toBe('cancelled');
    expect((await wf.waitForRun(childRun.runId)).status).toBe('cancelled');
  });

  it('refuses a workflow that reaches itself through sub-workflows, and an unknown one with a did-you-mean', async () => {
    await wf.defineWorkflow({ name: 'cyc-a', steps: [{ name: 's', module: 'core', action: 'echo' }] });
    await wf.defineWorkflow({ name: 'cyc-b', steps: [{ name: 'call', workflow: 'cyc-a' }] });
    await expect(wf.defineWorkflow({ name: 'cyc-a', steps: [{ name: 'call', workflow: 'cyc-b' }] })).rejects.toThrow(
      'reaches itself through sub-workflow steps: cyc-a -> cyc-b -> cyc-a',
    );
    await expect(wf.defineWorkflow({ name: 'self', steps: [{ name: 'me', workflow: 'self' }] })).rejects.toThrow(
      'self -> self',
    );
    await expect(
      wf.defineWorkflow({ name: 'typo', steps: [{ name: 'x', workflow: 'build-and-tset' }] }),
    ).rejects.toThrow('step "x".workflow: no workflow named "build-and-tset" (did you mean "build-and-test"?)');
    expect((await wf.getWorkflow('cyc-a'))?.version).toBe('1');
  });

  it('fails a step nested deeper than 10 runs', async () => {
    await wf.defineWorkflow({ name: 'deep-11', steps: [{ name: 'leaf', module: 'core', action: 'echo' }] });
    for (let i = 10; i >= 1; i--)
      await wf.defineWorkflow({ name: `deep-${i}`, steps: [{ name: 'down', workflow: `deep-${i + 1}` }] });
    const r = await wf.executeWorkflow('deep-1');
    expect(r.status).toBe('failed');
    let run = await wf.getRun(r.runId);
    const chain: string[] = [];
    while (run?.steps['down']?.childRunId) {
      chain.push(run.workflowName);
      run = await wf.getRun(run.steps['down'].childRunId);
    }
    expect(run?.workflowName).toBe('deep-10');
    expect(run?.depth).toBe(10);
    expect(run?.steps['down']?.error?.message).toContain('would run at depth 11, past the limit of 10');
  });
});

describe('a run waiting when its process is SIGKILLed', () => {
  it('resumes its waits with the time left, keeps the early signal, fires a timer that fell due once, then takes the signal', async () => {
    const dir = await tempDir();
    const db = join(dir, 'state.db');
    const child = spawn(process.execPath, [CHILD, db], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (l) => l.startsWith('waiting ') && resolve(l));
      child.on('close', () => reject(new Error(`child exited before its run waited: ${stderr}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const [, runId = '', shortUntil = '0'] = line.split(' ');
    // The 1-second sleep falls due while no process runs (waiting for it is the point of this test).
    const left = Number(shortUntil) - Date.now();
    if (left > 0) await delay(left + 20);

    const clock = new FakeClock(Date.now());
    const engine = track(
      new Engine({ store: 'sqlite', dbPath: db, threads: 1, workflowDirs: [], durability: 'strict' }, {}, { clock }),
    );
    const events = recordEvents(engine);
    const wf = engine.getWorkflowManager();
    await engine.ready();
    const shortDone = events.of('step_completed').some((e) => e.data.step === 'short')
      ? Promise.resolve()
      : nextEvent(engine, (e) => e.type === 'step_completed' && e.data.step === 'short');
    // The fake clock fires timers due now when advanced by 0.
    clock.advance(0);
    await shortDone;
    const run = await wf.getRun(runId);
    expect(run?.status).toBe('running');
    expect(run?.steps['prepare']?.status).toBe('completed');
    expect(run?.steps['short']?.status).toBe('completed');
    expect(run?.steps['nap']).toMatchObject({ status: 'waiting', waiting: { signal: null } });
    expect(run?.steps['nap']?.waiting?.since).toBeLessThan(Date.now());
    expect(run?.steps['go']).toMatchObject({ status: 'waiting', waiting: { signal: 'go' } });

    await wf.signalRun(runId, 'go', { by: 'ana' });
    await nextEvent(engine, (e) => e.type === 'step_completed' && e.data.step === 'use');
    clock.advance(3_600_000);
    const r = await wf.waitForRun(runId);
    expect(r.status).toBe('succeeded');
    expect(r.steps['use']?.result).toEqual({ by: 'ana', early: { kept: true } });
    expect(events.of('step_completed').filter((e) => e.data.step === 'short')).toHaveLength(1);
    expect(events.of('step_completed').filter((e) => e.data.step === 'prepare')).toHaveLength(0);
  });
});
