/**
 * The scheduler's trusted entry for a workflow step's task (`acceptStep`): it accepts a plain spec built from the
 * stored step without intake, and leaves to intake (null) every spec it does not decide alone and every problem, so
 * that intake refuses it in its own words: parameters a template resolved to a value the action refuses, an
 * unknown action, a taken id, a closed session, concurrency keys.
 */
import { describe, expect, it } from 'vitest';
import type { IntakeContext } from '../../src/actors/tasks/intake.js';
import { accept } from '../../src/actors/tasks/intake.js';
import type { TaskRecord } from '../../src/actors/tasks/record.js';
import { acceptStep } from '../../src/actors/tasks/stepEntry.js';
import type { SpecRun } from '../../src/actors/workflows/stepTask.js';
import { stepSpec } from '../../src/actors/workflows/stepTask.js';
import type { WorkflowStep } from '../../src/model/workflow.js';
import { ModuleRegistry } from '../../src/modules/registry.js';

const registry = new ModuleRegistry();

function context(over: { records?: string[]; stored?: string[]; openLanes?: string[] } = {}): IntakeContext {
  const records = new Set(over.records ?? []);
  const stored = new Set(over.stored ?? []);
  const lanes = new Set(over.openLanes ?? []);
  return {
    registry,
    laneOpen: (id) => id === undefined || lanes.has(id),
    record: (id) => (records.has(id) ? ({ id } as unknown as TaskRecord) : undefined),
    storedStatuses: (ids) => new Map(ids.filter((id) => stored.has(id)).map((id) => [id, 'completed'])),
  };
}

const run: SpecRun = { sessionId: null, workingDir: null, metadata: { runId: 'r1' }, upstream: null };
const spec = (step: WorkflowStep, parameters = step.parameters ?? {}, over: Partial<SpecRun> = {}) =>
  stepSpec(step, `r1.${step.name}`, step.name, parameters, { ...run, ...over });

describe('acceptStep', () => {
  it('accepts a plain step as intake would, with its channel', () => {
    const sleep = spec({ name: 'a', module: 'core', action: 'sleep', parameters: { ms: 1 }, timeout: 5 });
    const accepted = acceptStep({ spec: sleep, paramsChecked: true }, context());
    expect(accepted).toEqual({ spec: sleep, channel: false, held: null, flow: null, minted: false });
    // What intake makes of the same spec given as a task input.
    expect(accept([sleep], context()).accepted[0]).toEqual(accepted);
    const progress = spec({ name: 'p', module: 'core', action: 'progress' });
    expect(acceptStep({ spec: progress, paramsChecked: true }, context())?.channel).toBe(true);
  });

  it('checks parameters resolved at run time against the action, and leaves a refused value to intake', () => {
    const step: WorkflowStep = { name: 'b', module: 'core', action: 'sleep', parameters: { ms: '{{a.output}}' } };
    const ok = spec(step, { ms: 2 });
    expect(acceptStep({ spec: ok, paramsChecked: false }, context())).not.toBeNull();
    const bad = spec(step, { ms: 'soon' });
    expect(acceptStep({ spec: bad, paramsChecked: false }, context())).toBeNull();
    // Intake refuses it naming the field.
    expect(() => accept([bad], context())).toThrow(/task "b"\.parameters\.ms/);
    // Too deep to store: refused by the payload limits even though the action takes any parameters.
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 200; i++) deep = { d: deep };
    const echo = spec({ name: 'e', module: 'core', action: 'echo', parameters: { x: '{{a.output}}' } }, deep);
    expect(acceptStep({ spec: echo, paramsChecked: false }, context())).toBeNull();
  });

  it('leaves to intake an unknown action, a taken id, a closed session and what it does not decide alone', () => {
    const plain: WorkflowStep = { name: 'c', module: 'core', action: 'noop' };
    const take = (s: ReturnType<typeof spec>, ctx = context()) => acceptStep({ spec: s, paramsChecked: true }, ctx);
    expect(take(spec({ ...plain, action: 'nope' }))).toBeNull();
    expect(take(spec(plain), context({ records: ['r1.c'] }))).toBeNull();
    expect(take(spec(plain), context({ stored: ['r1.c'] }))).toBeNull();
    // A run id the engine made for this start names no stored task: the store is not asked (memory still is).
    const fresh = (ctx: IntakeContext) => acceptStep({ spec: spec(plain), paramsChecked: true, freshId: true }, ctx);
    expect(fresh(context({ stored: ['r1.c'] }))).not.toBeNull();
    expect(fresh(context({ records: ['r1.c'] }))).toBeNull();
    expect(take(spec(plain, {}, { sessionId: 's1' }))).toBeNull();
    expect(take(spec(plain, {}, { sessionId: 's1' }), context({ openLanes: ['s1'] }))).not.toBeNull();
    expect(take({ ...spec(plain), concurrency: { key: 'k', limit: 1 } })).toBeNull();
    expect(take({ ...spec(plain), resources: { cpu: { cores: 1 } } })).toBeNull();
    expect(take({ ...spec(plain), idempotencyKey: 'mine' })).toBeNull();
  });
});
