import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine, StepResult, WorkflowManagerClient } from '../../src/index.js';
import { NotFoundError, ValidationError, createOrchestrationEngine, step } from '../../src/index.js';
import { nextEvent, recordEvents, testEngine } from '../helpers.js';

/** True when the two steps' run intervals overlap. */
function overlap(a: StepResult, b: StepResult): boolean {
  return a.startedAt! < b.endedAt! && b.startedAt! < a.endedAt!;
}

describe('WorkflowManager', () => {
  let engine: OrchestrationEngine;
  let wf: WorkflowManagerClient;
  beforeAll(() => {
    engine = testEngine({ threads: 2, concurrentTasksPerWorker: 4 });
    wf = engine.getWorkflowManager();
  });
  afterAll(() => engine.shutdown());

  it("runs the seed's ai_analysis example, passing {{analyze_code.output}} to the next step", async () => {
    const seen: unknown[] = [];
    engine.registerEventHandler(
      'workflow_completed',
      (event, data) => void seen.push([event, data.workflowName, data.success]),
    );
    await wf.createWorkflow('ai_analysis', [
      step({ name: 'analyze_code', module: 'core', action: 'echo', parameters: { path: '.', files: 12 } }),
      step({
        name: 'generate_insights',
        module: 'core',
        action: 'echo',
        parameters: {
          analysis_data: '{{analyze_code.output}}',
          summary: '{{analyze_code.output.files}} files under {{analyze_code.output.path}}',
        },
        dependencies: ['analyze_code'],
      }),
    ]);
    const result = await wf.executeWorkflow('ai_analysis');
    expect(result.success).toBe(true);
    expect(result.status).toBe('succeeded');
    expect(result.steps['generate_insights']?.result).toEqual({
      analysis_data: { path: '.', files: 12 },
      summary: '12 files under .',
    });
    expect(seen).toEqual([['workflow_completed', 'ai_analysis', true]]);
    const run = await wf.getRun(result.runId);
    expect(run).toMatchObject({
      runId: result.runId,
      status: 'succeeded',
      version: '1',
      hash: result.hash,
      endedAt: expect.any(Number) as number,
    });
  });

  it('runs independent branches in parallel and joins a diamond after both', async () => {
    await wf.createWorkflow('diamond', [
      { name: 'a', module: 'core', action: 'sleep', parameters: { ms: 30 } },
      { name: 'b', module: 'core', action: 'sleep', parameters: { ms: 150 }, dependencies: ['a'] },
      { name: 'c', module: 'core', action: 'sleep', parameters: { ms: 150 }, dependencies: ['a'] },
      {
        name: 'd',
        module: 'core',
        action: 'echo',
        parameters: { b: '{{b.output}}', c: '{{c.output}}' },
        dependencies: ['b', 'c'],
      },
    ]);
    const { steps, success } = await wf.executeWorkflow('diamond');
    expect(success).toBe(true);
    const { a, b, c, d } = steps;
    expect(b!.startedAt!).toBeGreaterThanOrEqual(a!.endedAt!);
    expect(c!.startedAt!).toBeGreaterThanOrEqual(a!.endedAt!);
    expect(overlap(b!, c!)).toBe(true);
    expect(d!.startedAt!).toBeGreaterThanOrEqual(Math.max(b!.endedAt!, c!.endedAt!));
  });

  it('skips only the dependents of a failed step; other branches finish; the run fails', async () => {
    const rec = recordEvents(engine);
    await wf.createWorkflow('partial', [
      { name: 'bad', module: 'core', action: 'fail', maxRetries: 0 },
      { name: 'after_bad', module: 'core', action: 'noop', dependencies: ['bad'] },
      { name: 'after_after', module: 'core', action: 'noop', dependencies: ['after_bad'] },
      { name: 'good', module: 'core', action: 'noop' },
      { name: 'after_good', module: 'core', action: 'noop', dependencies: ['good'] },
    ]);
    const result = await wf.executeWorkflow('partial');
    rec.stop();
    const status = Object.fromEntries(Object.entries(result.steps).map(([k, v]) => [k, v.status]));
    expect(status).toEqual({
      bad: 'failed',
      after_bad: 'skipped',
      after_after: 'skipped',
      good: 'completed',
      after_good: 'completed',
    });
    expect(result).toMatchObject({ success: false, status: 'failed' });
    expect(result.steps['after_bad']?.error?.message).toMatch(/step "bad" ended failed/);
    const failed = rec.of('workflow_failed');
    expect(failed[0]?.data.failedSteps).toEqual(['bad', 'after_bad', 'after_after']);
    expect(rec.of('step_skipped').map((e) => e.data.step)).toEqual(['after_bad', 'after_after']);
  });

  it('applies per-step retries and timeouts', async () => {
    await wf.createWorkflow('resilience', [
      {
        name: 'flaky',
        module: 'core',
        action: 'fail',
        parameters: { times: 2 },
        maxRetries: 2,
        retry: { initialDelay: 0.005, jitter: 0 },
      },
      { name: 'stuck', module: 'core', action: 'hang', parameters: { ms: 60_000 }, timeout: 0.3, maxRetries: 0 },
    ]);
    const { steps } = await wf.executeWorkflow('resilience');
    expect(steps['flaky']).toMatchObject({ status: 'completed', attempts: 3, worker: 'local' });
    expect(steps['stuck']).toMatchObject({ status: 'timed_out', worker: 'local', error: { code: 'TASK_TIMEOUT' } });
  });

  it('honours when (false → skipped, dependents still run) and continueOnFailure (dependents see the error)', async () => {
    await wf.createWorkflow('conditional', [
      { name: 'scan', module: 'core', action: 'echo', parameters: { issues: 0, changed: true } },
      { name: 'fix', module: 'core', action: 'noop', dependencies: ['scan'], when: '{{scan.output.issues}} > 0' },
      {
        name: 'deploy',
        module: 'core',
        action: 'echo',
        parameters: { value: 'deployed' },
        dependencies: ['fix'],
        when: '{{scan.output.changed}}',
      },
      {
        name: 'lint',
        module: 'core',
        action: 'fail',
        parameters: { message: 'lint broke' },
        maxRetries: 0,
        continueOnFailure: true,
      },
      {
        name: 'report',
        module: 'core',
        action: 'echo',
        parameters: { lint: '{{lint.status}}: {{lint.error.message}}' },
        dependencies: ['lint'],
      },
    ]);
    const { steps, status } = await wf.executeWorkflow('conditional');
    expect(steps['fix']).toMatchObject({ status: 'skipped', error: { code: 'CONDITION_FALSE' } });
    expect(steps['deploy']).toMatchObject({ status: 'completed', result: 'deployed' });
    expect(steps['lint']?.status).toBe('failed');
    expect(steps['report']?.result).toEqual({ lint: 'failed: lint broke' });
    expect(status).toBe('succeeded');
  });

  it('fails a step whose template resolves to nothing at run time, with the path named', async () => {
    await wf.createWorkflow('missing', [
      { name: 'a', module: 'core', action: 'echo', parameters: { files: [] } },
      {
        name: 'b',
        module: 'core',
        action: 'echo',
        parameters: { first: '{{a.output.files[0].path}}' },
        dependencies: ['a'],
      },
      { name: 'c', module: 'core', action: 'noop', dependencies: ['b'] },
    ]);
    const { steps } = await wf.executeWorkflow('missing');
    expect(steps['b']?.status).toBe('failed');
    expect(steps['b']?.error?.message).toBe(
      'step "b".parameters: {{a.output.files[0].path}}: a.output.files is an array of 0, with no item [0]',
    );
    expect(steps['c']?.status).toBe('skipped');
  });

  it('hands steps straight to the scheduler (no bus request each), still refusing a template that resolves to a value the action refuses, naming the field', async () => {
    await wf.createWorkflow('typed', [
      { name: 'a', module: 'core', action: 'echo', parameters: { ms: 'soon' } },
      { name: 'b', module: 'core', action: 'sleep', parameters: { ms: '{{a.output.ms}}' }, dependencies: ['a'] },
      { name: 'c', module: 'core', action: 'noop', dependencies: ['b'] },
      { name: 'd', module: 'core', action: 'sleep', parameters: { ms: 1 }, dependencies: ['a'] },
    ]);
    const requests = engine.bus.stats().requests;
    const { steps } = await wf.executeWorkflow('typed');
    // Refused at intake, before any thread ran it (attempts 0), with the field and what it resolved to named.
    expect(steps['b']).toMatchObject({ status: 'failed', attempts: 0 });
    expect(steps['b']?.error?.message).toMatch(
      /^step "b" could not be submitted: .*task "b"\.parameters\.ms: .*number/i,
    );
    expect(steps['c']?.status).toBe('skipped');
    expect(steps['d']?.status).toBe('completed');
    // The one request is the run's own (workflow.execute): its steps went to the scheduler directly.
    expect(engine.bus.stats().requests - requests).toBe(1);
  });

  it("refuses at intake a forEach item whose {{item}} breaks the action's schema, while the other items run", async () => {
    const r = await engine.executeComplexWorkflow({
      steps: [
        {
          name: 'each',
          forEach: [1, 'soon'],
          continueOnFailure: true,
          module: 'core',
          action: 'sleep',
          parameters: { ms: '{{item}}' },
        },
      ],
    });
    const items = r.steps['each']?.items ?? [];
    expect(items.map((i) => [i.index, i.status])).toEqual([
      [0, 'completed'],
      [1, 'failed'],
    ]);
    // Attempts 0: intake refused it before any thread ran it (a thread's own check would have counted an attempt).
    expect(items[1]).toMatchObject({ attempts: 0 });
    expect(items[1]?.error?.message).toMatch(/parameters\.ms: .*number/i);
  });

  it('cancels a run mid-way: the running step is stopped, the rest never start', async () => {
    await wf.createWorkflow('long', [
      { name: 'slow', module: 'core', action: 'sleep', parameters: { ms: 60_000 } },
      { name: 'next', module: 'core', action: 'noop', dependencies: ['slow'] },
    ]);
    const started = nextEvent(engine, (e) => e.type === 'step_started' && e.data.workflowName === 'long');
    const runId = await wf.startWorkflow('long');
    await started;
    expect((await wf.getRun(runId))?.status).toBe('running');
    expect(await wf.cancelRun(runId, 'operator said stop')).toMatchObject({ cancelled: true });
    const result = await wf.waitForRun(runId);
    expect(result.status).toBe('cancelled');
    expect(result.steps['slow']).toMatchObject({ status: 'cancelled' });
    expect(result.steps['slow']?.error?.message).toMatch(/operator said stop/);
    expect(result.steps['next']?.status).toBe('cancelled');
    expect(await wf.cancelRun(runId)).toMatchObject({ cancelled: false, status: 'cancelled' });
  });

  it('versions changed definitions and records the version and hash on each run', async () => {
    const v1 = await wf.createWorkflow('versioned', [
      { name: 'a', module: 'core', action: 'echo', parameters: { value: 1 } },
    ]);
    const again = await wf.createWorkflow('versioned', [
      { name: 'a', module: 'core', action: 'echo', parameters: { value: 1 } },
    ]);
    expect(again.version).toBe(v1.version);
    const v2 = await wf.createWorkflow('versioned', [
      { name: 'a', module: 'core', action: 'echo', parameters: { value: 2 } },
    ]);
    expect([v1.version, v2.version]).toEqual(['1', '2']);
    expect(v2.hash).not.toBe(v1.hash);
    const latest = await wf.executeWorkflow('versioned');
    expect(latest).toMatchObject({ version: '2', hash: v2.hash });
    expect(latest.steps['a']?.result).toBe(2);
    const old = await wf.executeWorkflow('versioned', {}, { version: '1' });
    expect(old.steps['a']?.result).toBe(1);
    const listed = (await wf.listWorkflows()).find((w) => w.name === 'versioned');
    expect(listed?.versions).toEqual(['1', '2']);
  });

  it('refuses bad definitions with every problem, and unknown workflows with NotFoundError', async () => {
    const err = await wf
      .createWorkflow('etl', [
        { name: 'extract', module: 'core', action: 'noop' },
        { name: 'load', module: 'core', action: 'noop', dependencies: ['extrac'] },
        { name: 'x', module: 'core', action: 'noop', dependencies: ['x'] },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([
      'workflow "etl": step "load" depends on unknown step "extrac" (did you mean "extract"?)',
      'workflow "etl": step "x" depends on itself',
    ]);
    expect(await wf.getWorkflow('etl')).toBeNull();
    await expect(wf.executeWorkflow('etl')).rejects.toBeInstanceOf(NotFoundError);
    await expect(wf.executeWorkflow('ai_analysys')).rejects.toThrow(
      'no workflow named "ai_analysys" (did you mean "ai_analysis"?)',
    );
  });

  it('summarises performance per workflow', async () => {
    await wf.createWorkflow('perf', [{ name: 'a', module: 'core', action: 'sleep', parameters: { ms: 10 } }]);
    for (let i = 0; i < 3; i++) await wf.executeWorkflow('perf');
    const [summary] = await wf.getPerformanceSummary('perf');
    expect(summary).toMatchObject({ workflowName: 'perf', runs: 3, successes: 3, failures: 0, successRate: 1 });
    expect(summary!.p50Ms!).toBeGreaterThanOrEqual(10);
    expect(summary!.maxMs!).toBeGreaterThanOrEqual(summary!.p95Ms!);
    expect(summary!.lastRun?.status).toBe('succeeded');
  });
});

describe('executeComplexWorkflow', () => {
  it('runs steps with a dependency map; steps overlap only within a shared parallel group', async () => {
    const engine = testEngine({ threads: 2, concurrentTasksPerWorker: 4 });
    try {
      const result = await engine.executeComplexWorkflow({
        steps: [
          { name: 'a', module: 'core', action: 'sleep', parameters: { ms: 120 } },
          { name: 'b', module: 'core', action: 'sleep', parameters: { ms: 120 } },
          { name: 'c', module: 'core', action: 'sleep', parameters: { ms: 120 } },
          { name: 'd', module: 'core', action: 'echo', parameters: { value: '{{a.output}}' } },
        ],
        dependencies: { d: ['a'] },
        parallel_groups: [['a', 'b']],
      });
      expect(result.success).toBe(true);
      const { a, b, c, d } = result.steps;
      expect(overlap(a!, b!)).toBe(true);
      expect(overlap(a!, c!) || overlap(b!, c!)).toBe(false);
      expect(d!.startedAt!).toBeGreaterThanOrEqual(a!.endedAt!);
      expect(d!.result).toEqual({ sleptMs: 120 });
      await expect(
        engine.executeComplexWorkflow({
          steps: [{ name: 'a', module: 'core', action: 'noop' }],
          dependencies: { zz: ['a'] },
        }),
      ).rejects.toThrow('complex workflow.dependencies: names unknown step "zz"');
    } finally {
      await engine.shutdown();
    }
  });
});

describe('workflow files', () => {
  it('loads YAML with snake_case keys at start and names the file and line of a syntax error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codomyrmex-wf-'));
    await writeFile(
      join(dir, 'build.yaml'),
      [
        'name: build',
        'version: 3',
        'steps:',
        '  - name: compile',
        '    module: core',
        '    action: fail',
        '    parameters: { times: 1 }',
        '    max_retries: 1',
        '    retry: { initial_delay: 0.001 }',
        '  - name: test',
        '    module: core',
        '    action: echo',
        '    parameters: { compiled: "{{compile.output}}" }',
        '    depends_on: [compile]',
      ].join('\n'),
    );
    const engine = createOrchestrationEngine({ threads: 1, workflowDirs: [dir] });
    try {
      const listed = await engine.workflows.listWorkflows();
      expect(listed.map((w) => [w.name, w.version, w.source])).toEqual([['build', '3', join(dir, 'build.yaml')]]);
      const result = await engine.executeWorkflow('build');
      expect(result.steps['compile']).toMatchObject({ status: 'completed', attempts: 2 });
      expect(result.steps['test']?.result).toEqual({ compiled: { attempt: 2 } });
    } finally {
      await engine.shutdown();
    }
    await writeFile(join(dir, 'broken.yaml'), 'name: broken\nsteps:\n  - name: a\n    module: [core\n');
    const bad = createOrchestrationEngine({ threads: 1, workflowDirs: [dir] });
    const err = await bad.ready().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(new RegExp(`${join(dir, 'broken.yaml')}:\\d+: invalid YAML`));
    await bad.shutdown();
  });
});
