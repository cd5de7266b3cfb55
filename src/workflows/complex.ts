/**
 * The seed's `execute_complex_workflow` shape, `{ steps, dependencies: { step: [names] }, parallelGroups }`
 * (snake_case accepted), turned into an ordinary definition for {@link validateWorkflow}.
 */
import { ValidationError } from '../errors.js';
import { camelizeKeys } from '../model/definition.js';

/**
 * Merges the `dependencies` map into the steps' own dependencies and names the run `complex` unless it has a name.
 * Throws a `ValidationError` when the map is not one or names unknown steps. Step names are looked up as own keys
 * only, so `constructor` or `toString` are names like any other.
 */
export function complexToDefinition(definition: unknown): Record<string, unknown> {
  const raw = camelizeKeys(definition) as Record<string, unknown> | null;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ValidationError('complex workflow: expected an object with "steps"');
  const { dependencies, ...rest } = raw;
  if (
    dependencies !== undefined &&
    (typeof dependencies !== 'object' || dependencies === null || Array.isArray(dependencies))
  ) {
    throw new ValidationError(
      'complex workflow.dependencies: must map a step name to the names it depends on, e.g. { "b": ["a"] }',
    );
  }
  const depMap = new Map(Object.entries((dependencies ?? {}) as Record<string, unknown>));
  const steps = Array.isArray(rest['steps']) ? (rest['steps'] as unknown[]) : [];
  const names = new Set(steps.map((s) => (camelizeKeys(s) as { name?: unknown } | null)?.name));
  const problems = [...depMap.keys()]
    .filter((k) => !names.has(k))
    .map((k) => `complex workflow.dependencies: names unknown step "${k}"`);
  if (problems.length) throw new ValidationError(problems);
  return {
    name: 'complex',
    ...rest,
    steps: steps.map((s) => {
      const st = camelizeKeys(s) as Record<string, unknown> | null;
      if (!st || typeof st !== 'object') return st;
      const extra = typeof st['name'] === 'string' ? depMap.get(st['name']) : undefined;
      if (extra === undefined) return st;
      if (!Array.isArray(extra))
        throw new ValidationError(`complex workflow.dependencies.${String(st['name'])}: must be a list of step names`);
      const own = Array.isArray(st['dependencies']) ? (st['dependencies'] as unknown[]) : [];
      return { ...st, dependencies: [...new Set([...own, ...(extra as unknown[])])] };
    }),
  };
}
