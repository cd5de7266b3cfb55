/**
 * Starting a forEach step: resolves its list against the run (refusing a list that is not an array or is past the
 * item limit), then runs one unit per item through a {@link FanOut}, each item's parameters resolved with
 * `{{item}}` and `{{index}}`.
 */
import { ValidationError } from '../../errors.js';
import type { StepResult } from '../../model/workflow.js';
import { typeName } from '../../workflows/kinds.js';
import { FanOut } from './fanout.js';
import type { RunEvents } from './runEvents.js';
import type { RunScope } from './runScope.js';
import type { StepState } from './steps.js';
import { syntheticResult } from './steps.js';
import type { StepUnits } from './stepUnits.js';

/** What a forEach step needs of its run. */
export interface ForEachHost {
  scope: RunScope;
  units: StepUnits;
  events: RunEvents;
  now: () => number;
  /** Items one forEach step may have. */
  maxItems: number;
  /** An item ended (worth persisting). */
  changed: () => void;
  /** The step ended. */
  end: (result: StepResult) => void;
}

/** A forEach step that has started running: resolves its list and runs one unit per item (fanout.ts keeps the items). */
export function startForEach(s: StepState, host: ForEachHost): void {
  const { scope, units, now } = host;
  const step = s.step;
  const fail = (message: string): void =>
    host.end(
      syntheticResult(s, 'failed', new ValidationError(`step "${step.name}".forEach: ${message}`).toJSON(), now()),
    );
  let list: unknown;
  try {
    list = scope.resolve(step.forEach);
  } catch (err) {
    fail((err as Error).message);
    return;
  }
  if (!Array.isArray(list)) {
    fail(
      `must resolve to an array, got ${typeName(list)}${typeof list === 'number' || typeof list === 'boolean' ? ` (${String(list)})` : ''}`,
    );
    return;
  }
  if (list.length > host.maxItems) {
    fail(
      `${list.length} items is more than the limit of ${host.maxItems} per step (engine option maxForEachItems); split the list, or raise the limit`,
    );
    return;
  }
  host.events.stepStarted(s, list.length);
  const template = step.parameters ?? {};
  s.fan = new FanOut(
    list,
    {
      concurrency: typeof step.concurrency === 'number' ? step.concurrency : undefined,
      continueOnFailure: step.continueOnFailure === true,
      prior: s.prior?.items,
      taskId: (i) => `${s.taskId}.${i}`,
      now,
    },
    {
      run: (index, item) => {
        let params = template;
        if (s.hasTemplates) {
          try {
            params = scope.resolve(template, { value: item, index }) as Record<string, unknown>;
          } catch (err) {
            const e = new ValidationError(
              `item ${index} of step "${step.name}".parameters: ${(err as Error).message}`,
            ).toJSON();
            return Promise.resolve({
              ...units.failed(`${s.taskId}.${index}`, `${step.name}.${index}`, 'failed', e),
              index,
            });
          }
        }
        return units.run(s, params, index).then((r) => ({ ...r, index }));
      },
      cancel: (index, reason) => units.cancel(s, index, reason),
      changed: host.changed,
      end: (o) => {
        const endedAt = now();
        const startedAt = s.startedAt ?? endedAt;
        host.end({
          taskId: s.taskId,
          step: step.name,
          name: step.name,
          status: o.status,
          success: o.status === 'completed',
          result: o.output,
          error: o.error,
          attempts: o.attempts,
          startedAt,
          endedAt,
          durationMs: endedAt - startedAt,
          items: o.items,
        });
      },
    },
  );
  s.fan.start();
}
