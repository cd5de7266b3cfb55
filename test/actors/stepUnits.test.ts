/**
 * What a step's unit hands the task scheduler: the trusted flag (`paramsChecked`: skip intake's schema check) only
 * for parameters that are the definition's own, validated at `createWorkflow`; never for parameters that hold a
 * template (resolved at run time), nor for a forEach item (its parameters read `{{item}}`).
 */
import { describe, expect, it } from 'vitest';
import { InMemoryBus } from '../../src/bus/memory.js';
import type { TaskInput, TaskResult } from '../../src/model/task.js';
import type { StoredWorkflow, WorkflowStep } from '../../src/model/workflow.js';
import { RunScope } from '../../src/actors/workflows/runScope.js';
import { buildSteps } from '../../src/actors/workflows/steps.js';
import { StepUnits } from '../../src/actors/workflows/stepUnits.js';
import type { StepDone, StepTask } from '../../src/actors/tasks/stepEntry.js';
import { parseTaskInput } from '../../src/model/taskInput.js';

function workflow(steps: WorkflowStep[]): StoredWorkflow {
  return {
    name: 'w',
    description: '',
    version: '1',
    hash: 'h',
    steps,
    parallelGroups: null,
    params: {},
    metadata: {},
    createdAt: 0,
    source: null,
  };
}

/**
 * Units of a run of `wf` whose scheduler records what it was handed, and each call's trusted flag; with `entry`, the
 * scheduler also serves the trusted step entry (`start`) and records the specs built for it.
 */
function unitsOf(wf: StoredWorkflow, entry = false, run: { sessionId?: string; workingDir?: string } = {}) {
  const calls: { task: TaskInput; paramsChecked: boolean | undefined }[] = [];
  const started: StepTask[] = [];
  const scope = new RunScope('r1', {}, null);
  const units = new StepUnits(
    {
      runId: 'r1',
      inputs: null,
      workflowName: wf.name,
      sessionId: run.sessionId ?? null,
      workingDir: run.workingDir ?? null,
      depth: 1,
      resumed: false,
      scope,
      changed: () => undefined,
    },
    {
      bus: new InMemoryBus(),
      execute: (task, paramsChecked) => {
        calls.push({ task, paramsChecked });
        return Promise.resolve({ taskId: task.id ?? '', status: 'completed' } as TaskResult);
      },
      ...(entry && {
        start: (task: StepTask, [resolve]: StepDone) => {
          started.push(task);
          resolve({ taskId: task.spec.id, status: 'completed' } as TaskResult);
          return true;
        },
      }),
      cancelTask: () => Promise.resolve(undefined),
      now: () => 0,
    },
  );
  return { units, calls, started, scope, table: buildSteps(wf, 'r1') };
}

describe('StepUnits', () => {
  it('trusts only parameters without templates; a templated step and a forEach item are checked at intake', async () => {
    const wf = workflow([
      { name: 'plain', module: 'core', action: 'sleep', parameters: { ms: 1 } },
      { name: 'none', module: 'core', action: 'noop' },
      // The template sits beside a static value: the step as a whole is checked again once it resolves.
      {
        name: 'mixed',
        module: 'core',
        action: 'sleep',
        parameters: { ms: '{{plain.output.ms}}', note: 'x' },
        dependencies: ['plain'],
      },
      { name: 'nested', module: 'core', action: 'echo', parameters: { deep: { list: ['{{params.x}}'] } } },
      { name: 'each', module: 'core', action: 'sleep', forEach: [1, 'soon'], parameters: { ms: '{{item}}' } },
    ]);
    const { units, calls, table } = unitsOf(wf);
    const step = (name: string) => table.byName.get(name)!;
    await units.run(step('plain'), { ms: 1 }, null);
    await units.run(step('none'), {}, null);
    // What the run resolved the templates to: a value the action's schema refuses.
    await units.run(step('mixed'), { ms: 'soon', note: 'x' }, null);
    await units.run(step('nested'), { deep: { list: ['y'] } }, null);
    await units.run(step('each'), { ms: 'soon' }, 1);
    expect(calls.map((c) => [c.task.name, c.paramsChecked])).toEqual([
      ['plain', true],
      ['none', true],
      ['mixed', false],
      ['nested', false],
      ['each.1', false],
    ]);
  });

  it("builds a plain step's spec as intake makes it of the task input, and submits the others as task inputs", async () => {
    const wf = workflow([
      { name: 'up', module: 'core', action: 'echo', parameters: { v: 1 } },
      {
        name: 'full',
        module: 'core',
        action: 'sleep',
        parameters: { ms: 1 },
        dependencies: ['up'],
        timeout: 5,
        maxRetries: 0,
        retry: { initialDelay: 2 },
        priority: 'high',
        metadata: { team: 'x' },
      },
      { name: 'tpl', module: 'core', action: 'echo', parameters: { v: '{{up.output}}' }, dependencies: ['up'] },
      { name: 'each', module: 'core', action: 'sleep', forEach: [1, 2], parameters: { ms: '{{item}}' } },
      { name: 'keyed', module: 'core', action: 'noop', idempotencyKey: 'mine' },
      { name: 'limited', module: 'core', action: 'noop', concurrency: { key: 'k', limit: 1 } },
      { name: 'held', module: 'core', action: 'noop', resources: { cpu: { cores: 1 } } },
    ]);
    const runFields = { sessionId: 's1', workingDir: '/tmp/project' };
    const fast = unitsOf(wf, true, runFields);
    const slow = unitsOf(wf, false, runFields);
    for (const u of [fast, slow]) {
      const step = (name: string) => u.table.byName.get(name)!;
      // `up` completed with an output: its dependents' tasks are handed it (`upstream`).
      u.scope.record('up', { ...(await u.units.run(step('up'), { v: 1 }, null)), result: { v: 1 }, step: 'up' });
      await u.units.run(step('full'), { ms: 1 }, null);
      await u.units.run(step('tpl'), { v: 'resolved' }, null);
      await u.units.run(step('each'), { ms: 2 }, 1);
      await u.units.run(step('keyed'), {}, null);
      await u.units.run(step('limited'), {}, null);
      await u.units.run(step('held'), {}, null);
    }
    // Plain steps and items took the trusted entry; templated ones and items are flagged for a schema check.
    expect(fast.started.map((t) => [t.spec.name, t.paramsChecked])).toEqual([
      ['up', true],
      ['full', true],
      ['tpl', false],
      ['each.1', false],
    ]);
    // The rest (an idempotency key of its own, a concurrency key, resources) went as task inputs, through intake.
    expect(fast.calls.map((c) => c.task.name)).toEqual(['keyed', 'limited', 'held']);
    // Each spec is what intake makes of the task input the same unit submits without the entry.
    const bySlow = new Map(slow.calls.map((c) => [c.task.name, parseTaskInput(c.task)]));
    for (const t of fast.started) expect(t.spec, t.spec.name).toEqual(bySlow.get(t.spec.name));
  });
});
