import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { TaskMachineEvent } from '../../src/machines/task.js';
import { compileTaskMachine, stepTask, taskMachine } from '../../src/machines/task.js';
import type { TaskStatus } from '../../src/model/task.js';

const EVENTS: TaskMachineEvent[] = [
  { type: 'task.deps_met' },
  { type: 'task.dep_failed' },
  { type: 'task.start' },
  { type: 'task.succeed' },
  { type: 'task.fail', retryable: true },
  { type: 'task.fail', retryable: false },
  { type: 'task.timeout' },
  { type: 'task.backoff_elapsed' },
  { type: 'task.cancel' },
  { type: 'task.interrupted' },
  { type: 'task.refuse' },
  { type: 'task.requeue' },
];

/** Effects XState's pure transition returns for us to run (assigns it applies itself, to the context). */
function actionNames(actions: readonly { type: string }[]): string[] {
  return actions.map((a) => a.type).filter((t) => !t.startsWith('xstate.'));
}

describe('taskMachine', () => {
  it('goes pending → ready → running → completed, counting the attempt and asking for the run', () => {
    let [s] = initialTransition(taskMachine, { maxRetries: 3 });
    expect(s.value).toBe('pending');
    [s] = transition(taskMachine, s, { type: 'task.deps_met' });
    expect(s.value).toBe('ready');
    const [running, actions] = transition(taskMachine, s, { type: 'task.start' });
    expect(running.value).toBe('running');
    expect(running.context.attempts).toBe(1);
    expect(actionNames(actions)).toEqual(['runAction']);
    const [done] = transition(taskMachine, running, { type: 'task.succeed' });
    expect(done.value).toBe('completed');
    expect(done.status).toBe('done');
  });

  it('retries a retryable failure until maxRetries, then fails', () => {
    let [s] = initialTransition(taskMachine, { maxRetries: 2 });
    [s] = transition(taskMachine, s, { type: 'task.deps_met' });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      [s] = transition(taskMachine, s, { type: 'task.start' });
      [s] = transition(taskMachine, s, { type: 'task.fail', retryable: true });
      seen.push(String(s.value));
      if (s.value === 'retrying') [s] = transition(taskMachine, s, { type: 'task.backoff_elapsed' });
    }
    expect(seen).toEqual(['retrying', 'retrying', 'failed']);
    expect(s.context.attempts).toBe(3);
  });

  it('fails a non-retryable error at once', () => {
    let [s] = initialTransition(taskMachine, { maxRetries: 5 });
    [s] = transition(taskMachine, s, { type: 'task.deps_met' });
    [s] = transition(taskMachine, s, { type: 'task.start' });
    [s] = transition(taskMachine, s, { type: 'task.fail', retryable: false });
    expect(s.value).toBe('failed');
  });

  it('aborts the run on timeout and on cancel, and never leaves a terminal state', () => {
    for (const ev of [{ type: 'task.timeout' }, { type: 'task.cancel' }] as const) {
      let [s] = initialTransition(taskMachine, { maxRetries: 0 });
      [s] = transition(taskMachine, s, { type: 'task.deps_met' });
      [s] = transition(taskMachine, s, { type: 'task.start' });
      const [end, actions] = transition(taskMachine, s, ev);
      expect(actionNames(actions)).toEqual(['abortRun', 'finish']);
      for (const later of EVENTS) expect(transition(taskMachine, end, later)[0].value).toBe(end.value);
    }
  });

  it('compiled table agrees with XState on every random event sequence', () => {
    const table = compileTaskMachine();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.constantFrom(...EVENTS), { maxLength: 30 }),
        (maxRetries, events) => {
          let [snap] = initialTransition(taskMachine, { maxRetries });
          let status: TaskStatus = 'pending';
          let ctx = { attempts: 0, maxRetries };
          for (const ev of events) {
            const [next, actions] = transition(taskMachine, snap, ev);
            const step = stepTask(status, ctx, ev, table);
            if (step) {
              status = step.target;
              ctx = step.context;
              expect(step.actions).toEqual(actionNames(actions));
            } else {
              expect(actionNames(actions)).toEqual([]);
            }
            expect(status).toBe(next.value);
            expect(ctx).toEqual(next.context);
            snap = next;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
