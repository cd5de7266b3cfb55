/**
 * A task's flow-control ticket: its concurrency keys and rate-limit use with the keys resolved, computed once when
 * it is added (and again when it is restored after a restart, from the same stored spec).
 */
import type { HeldKey } from '../../../model/flow.js';
import { resolveConcurrency, resolveFlowKey } from '../../../model/flow.js';
import type { TaskSpec } from '../../../model/task.js';

/** The rate-limit use of a task with its bucket key resolved (`''`: the limit's shared bucket). */
export interface RateUse {
  name: string;
  key: string;
  units: number;
}

export interface FlowTicket {
  /** Concurrency keys, all held while an attempt runs. */
  keys: HeldKey[];
  rate: RateUse | null;
}

/**
 * The ticket of a spec, or null when it declares no flow control. Throws an `Error` naming the field when a key
 * template cannot be resolved (see `resolveFlowKey`).
 */
export function flowTicket(spec: TaskSpec, where: string): FlowTicket | null {
  if (spec.concurrency === undefined && spec.rateLimit === undefined) return null;
  const scope = { params: spec.parameters, metadata: spec.metadata };
  const keys = resolveConcurrency(spec.concurrency, scope, where);
  const r = spec.rateLimit;
  const rate = r
    ? {
        name: r.name,
        key: r.key === undefined ? '' : resolveFlowKey(r.key, scope, `${where}.rateLimit.key`),
        units: r.units ?? 1,
      }
    : null;
  return { keys, rate };
}
