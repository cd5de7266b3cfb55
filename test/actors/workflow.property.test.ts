import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine, WorkflowStep } from '../../src/index.js';
import { recordEvents, testEngine } from '../helpers.js';

const TERMINAL = new Set(['completed', 'failed', 'timed_out', 'cancelled', 'skipped']);

/** Random DAGs: step i may depend only on steps before it; some fail, some tolerate failure, some are conditional. */
const dagArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.array(
    fc.record({
      deps: fc.array(fc.nat(), { maxLength: 3 }),
      kind: fc.constantFrom('ok', 'ok', 'sleep', 'fail', 'echo'),
      continueOnFailure: fc.boolean(),
      when: fc.constantFrom(null, null, 'true', 'false'),
    }),
    { minLength: n, maxLength: n },
  ),
);

describe('workflow runs over random DAGs (real worker threads)', () => {
  let engine: OrchestrationEngine;
  beforeAll(() => {
    engine = testEngine({ threads: 2, concurrentTasksPerWorker: 4 });
  });
  afterAll(() => engine.shutdown());

  it('no step starts before its upstream steps end, and every step gets exactly one terminal state', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(dagArb, async (nodes) => {
        run++;
        const steps: WorkflowStep[] = nodes.map((node, i) => {
          const deps = i === 0 ? [] : [...new Set(node.deps.map((d) => `s${d % i}`))];
          const base: WorkflowStep = {
            name: `s${i}`,
            module: 'core',
            action: 'noop',
            dependencies: deps,
            maxRetries: 0,
            continueOnFailure: node.continueOnFailure,
          };
          if (node.when !== null && deps[0] !== undefined) base.when = `{{${deps[0]}.status}} == "completed"`;
          switch (node.kind) {
            case 'sleep':
              return { ...base, action: 'sleep', parameters: { ms: 2 } };
            case 'fail':
              return { ...base, action: 'fail' };
            case 'echo':
              return deps[0] ? { ...base, action: 'echo', parameters: { up: `{{${deps[0]}.status}}` } } : base;
            default:
              return base;
          }
        });
        const name = `random-${run}`;
        await engine.workflows.createWorkflow(name, steps);
        const rec = recordEvents(engine);
        const result = await engine.workflows.executeWorkflow(name);
        rec.stop();
        const mine = rec.events.filter((e) => 'runId' in e.data && e.data.runId === result.runId);

        // Exactly one terminal result per step, and one step_* end event per step.
        for (const s of steps) {
          expect(TERMINAL.has(result.steps[s.name]!.status)).toBe(true);
          const ends = mine.filter(
            (e) =>
              (e.type === 'step_completed' || e.type === 'step_failed' || e.type === 'step_skipped') &&
              e.data.step === s.name,
          );
          expect(ends).toHaveLength(1);
        }
        // No step starts before each upstream step has ended.
        const endedAt = new Map<string, number>();
        for (const e of mine) {
          if (e.type === 'step_completed' || e.type === 'step_failed' || e.type === 'step_skipped')
            endedAt.set(e.data.step, e.seq);
          if (e.type === 'step_started') {
            for (const d of steps.find((s) => s.name === e.data.step)!.dependencies ?? []) {
              expect(endedAt.get(d), `${e.data.step} started before ${d} ended`).toBeLessThan(e.seq);
            }
          }
        }
        // A step runs only if each upstream completed, was skipped by its own condition, or tolerates failure.
        for (const s of steps) {
          const r = result.steps[s.name]!;
          for (const d of s.dependencies ?? []) {
            const up = result.steps[d]!;
            const upStep = steps.find((x) => x.name === d)!;
            const tolerated =
              up.status === 'completed' ||
              up.error?.code === 'CONDITION_FALSE' ||
              (upStep.continueOnFailure === true && up.status !== 'skipped');
            if (!tolerated) expect(r.status, `${s.name} after ${d} ${up.status}`).toBe('skipped');
          }
        }
        // The run's status follows from its steps.
        const failedForGood = steps.some((s) => {
          const r = result.steps[s.name]!;
          return (
            (r.status === 'failed' && !s.continueOnFailure) ||
            (r.status === 'skipped' && r.error?.code !== 'CONDITION_FALSE')
          );
        });
        expect(result.status).toBe(failedForGood ? 'failed' : 'succeeded');
      }),
      { numRuns: 30 },
    );
  });
});
