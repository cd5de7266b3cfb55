/** Which steps a re-run (`retryRun`) runs again. */
import type { WorkflowStep } from '../../model/workflow.js';

/** `seeds` and every step downstream of one of them (through dependencies), by name. */
export function transitiveDependents(steps: readonly WorkflowStep[], seeds: readonly string[]): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const s of steps) for (const d of s.dependencies ?? []) (dependents.get(d) ?? dependents.set(d, []).get(d))?.push(s.name);
  const out = new Set<string>();
  const todo = [...seeds];
  for (let n = todo.pop(); n !== undefined; n = todo.pop()) {
    if (out.has(n)) continue;
    out.add(n);
    todo.push(...(dependents.get(n) ?? []));
  }
  return out;
}
