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

/** Units of a run of `wf` whose scheduler records what it was handed, and each call's trusted flag. */
function unitsOf(wf: StoredWorkflow) {
  const calls: { task: TaskInput; paramsChecked: boolean | undefined }[] = [];
  const scope = new RunScope('r1', {}, null);
  const units = new StepUnits(
    {
      runId: 'r1',
      inputs: null,
      workflowName: wf.name,
      sessionId: null,
      workingDir: null,
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
      cancelTask: () => Promise.resolve(undefined),
      now: () => 0,
    },
  );
  return { units, calls, table: buildSteps(wf, 'r1') };
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
});
